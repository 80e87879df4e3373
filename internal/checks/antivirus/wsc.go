package antivirus

import (
	"errors"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/core"
)

// wscProduct is one instance of root\SecurityCenter2 AntiVirusProduct.
type wscProduct struct {
	DisplayName              string `json:"displayName"`
	ProductState             uint32 `json:"productState"`
	PathToSignedProductExe   string `json:"pathToSignedProductExe"`
	PathToSignedReportingExe string `json:"pathToSignedReportingExe"`
	Timestamp                string `json:"timestamp"`
}

// productState is Security Center's packed status word (not documented
// as a bit field by Microsoft; this layout is the one observed across
// Windows 7-11 and used by every monitoring tool that reads it):
//
//	bits 16-23  security provider (0x04 antivirus; 0x06 with auto-update)
//	bits 12-15  scanner: 0 off, 1 on, 2 snoozed, 3 expired
//	bits  8-11  1 when the product is Microsoft's own (Defender)
//	bits  4-7   signatures: 0 up to date, 1 out of date
type productState struct {
	Enabled   bool
	Scanner   string // "off", "on", "snoozed", "expired", "unknown"
	UpToDate  bool
	Microsoft bool
}

func decodeProductState(v uint32) productState {
	s := productState{
		UpToDate:  (v>>4)&0xF == 0,
		Microsoft: (v>>8)&0xF == 1,
	}
	switch (v >> 12) & 0xF {
	case 0:
		s.Scanner = "off"
	case 1:
		s.Scanner, s.Enabled = "on", true
	case 2:
		s.Scanner = "snoozed"
	case 3:
		s.Scanner = "expired"
	default:
		s.Scanner = "unknown"
	}
	return s
}

// fromWSC maps Security Center's list to products. Security Center knows
// no signature date, only whether the product itself says it is current.
func fromWSC(list []wscProduct) []product {
	var out []product
	for _, w := range list {
		st := decodeProductState(w.ProductState)
		up := st.UpToDate
		p := product{Name: strings.TrimSpace(w.DisplayName), Active: st.Enabled, UpToDate: &up}
		if !st.Enabled {
			p.Inactive = st.Scanner
		}
		out = append(out, p)
	}
	return out
}

// isDefender reports whether a Security Center name is Microsoft Defender
// Antivirus (named "Windows Defender" on every Windows 10/11 build).
func isDefender(name string) bool {
	n := strings.ToLower(name)
	return strings.Contains(n, "windows defender") || strings.Contains(n, "microsoft defender")
}

// mergeWindows combines Security Center's list (client Windows) with
// Defender's own status (the only source on Windows Server, where Security
// Center does not exist): Security Center decides which products are
// active, Defender adds its signature age, which Security Center lacks.
func mergeWindows(wsc []wscProduct, wscErr error, mp []mpStatus, mpErr error, now time.Time) ([]product, error) {
	switch {
	case wscErr == nil && len(wsc) > 0:
		ps := fromWSC(wsc)
		if mpErr == nil && len(mp) == 1 {
			for i := range ps {
				if isDefender(ps[i].Name) {
					d := fromDefender(mp[0], now)
					d.Name = ps[i].Name
					if !ps[i].Active {
						d.Active, d.Inactive = false, ps[i].Inactive
					}
					ps[i] = d
				}
			}
		}
		return ps, nil
	case mpErr == nil && len(mp) == 1:
		// Windows Server, or Security Center empty.
		return []product{fromDefender(mp[0], now)}, nil
	case wscErr == nil:
		// Security Center answers and lists nothing; Defender is not there.
		return nil, nil
	}
	// Neither source answered: an error, not "no antivirus", since a
	// third-party product may well be installed.
	a := check.ErrorText(msg.WMI(`AntiVirusProduct (root\SecurityCenter2, Security Center)`, wscErr))
	b := check.ErrorText(msg.WMI(`MSFT_MpComputerStatus (Microsoft Defender)`, mpErr))
	return nil, &msg.OSError{Err: errors.Join(wscErr, mpErr), Text: core.Text{EN: a.EN + "; " + b.EN, DE: a.DE + "; " + b.DE}}
}
