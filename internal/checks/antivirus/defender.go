package antivirus

import "time"

// mpStatus holds the fields of root\Microsoft\Windows\Defender
// MSFT_MpComputerStatus the check uses (the class Get-MpComputerStatus
// prints). Field names match the WMI properties.
type mpStatus struct {
	AMProductVersion              string
	AMServiceEnabled              bool
	AntivirusEnabled              bool
	RealTimeProtectionEnabled     bool
	OnAccessProtectionEnabled     bool
	IsTamperProtected             bool
	AntivirusSignatureVersion     string
	AntivirusSignatureAge         uint32 // days, as Defender counts them
	AntivirusSignatureLastUpdated time.Time
	QuickScanEndTime              time.Time
	FullScanEndTime               time.Time
	AMRunningMode                 string // "Normal", "Passive Mode", "EDR Block Mode", "SxS Passive Mode"
}

// fromDefender maps Defender's status to a product.
func fromDefender(s mpStatus, now time.Time) product {
	p := product{
		Name:       "Microsoft Defender Antivirus",
		Version:    s.AMProductVersion,
		Active:     s.AMServiceEnabled && s.AntivirusEnabled && s.RealTimeProtectionEnabled,
		SigVersion: s.AntivirusSignatureVersion,
		SigTime:    s.AntivirusSignatureLastUpdated,
	}
	if p.SigTime.IsZero() && s.AntivirusSignatureAge < 65535 {
		// Defender reports 65535 when it never updated.
		p.SigTime = now.Add(-time.Duration(s.AntivirusSignatureAge) * 24 * time.Hour)
	}
	switch {
	case !s.AMServiceEnabled:
		p.Inactive = "service disabled"
	case !s.AntivirusEnabled:
		p.Inactive = "antivirus disabled"
	case !s.RealTimeProtectionEnabled:
		p.Inactive = "real-time protection disabled"
	}
	if s.AMRunningMode != "" && s.AMRunningMode != "Normal" {
		p.Active = false
		p.Inactive = s.AMRunningMode
	}
	p.LastScan = s.QuickScanEndTime
	if s.FullScanEndTime.After(p.LastScan) {
		p.LastScan = s.FullScanEndTime
	}
	return p
}
