package report_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/report"
)

// fiftyDevices is a month of a client with 50 devices (10 servers): two
// offline outages and a check outage each, an antivirus and a backup
// state, failed checks and log-ins on every device, 30 devices behind on
// patches.
func fiftyDevices() report.MonthlyData {
	end := november.AddDate(0, 1, 0)
	d := report.MonthlyData{Client: core.Client{ID: 1, Name: "Müller GmbH"}, Month: november, End: end, Until: end,
		Location: berlin, States: map[int64][]core.CheckState{}, Logins: map[int64]float64{}, PatchApproved: map[int64]int{}}
	old := time.Date(2025, 1, 1, 0, 0, 0, 0, berlin)
	for i := range 50 {
		id := int64(i + 1)
		role, plat := core.DeviceRoleWorkstation, "Windows 11 Pro"
		if i < 10 {
			role, plat = core.DeviceRoleServer, "Windows Server 2022 Standard"
		}
		d.Devices = append(d.Devices, report.MonthDevice{Device: core.Device{ID: id, ClientID: 1, Hostname: fmt.Sprintf("pc-%02d", i),
			Role: role, Platform: plat, EnrolledAt: old}})
		for k := range 2 {
			from := at(1+i%28, k*8, 0)
			d.Outages = append(d.Outages, core.Outage{DeviceID: id, Kind: core.OutageOffline, OpenedAt: from, ClosedAt: tp(from.Add(time.Hour))})
		}
		d.Outages = append(d.Outages, core.Outage{DeviceID: id, Kind: core.OutageCheck, CheckName: "disk", CheckKey: "C:",
			OpenedAt: at(2+i%27, 12, 0), ClosedAt: tp(at(2+i%27, 14, 0)), Message: core.Text{EN: "C: 97% used", DE: "C: 97 % belegt"}})
		d.States[id] = []core.CheckState{
			{Name: "antivirus", Status: core.StatusOK, Message: core.Text{EN: "Defender up to date", DE: "Defender aktuell"}},
			{Name: "backup", Status: core.StatusWarning, Message: core.Text{EN: "last backup 2 days ago", DE: "letzte Sicherung vor 2 Tagen"}},
		}
		d.Failures = append(d.Failures, core.CheckFailures{DeviceID: id, Check: "disk", Key: "C:", Count: 10 + i})
		d.Logins[id] = float64(i)
		st := core.DevicePatchStatus{DeviceID: id, ScannedAt: end.Add(-time.Hour)}
		if i < 30 {
			st.Missing, st.Critical = 3, 1
			d.PatchApproved[id] = 3
		}
		d.Patches = append(d.Patches, st)
	}
	return d
}

func BenchmarkRenderPDF(b *testing.B) {
	m := report.BuildMonthly(fiftyDevices(), "de")
	var size int
	for b.Loop() {
		pdf, err := report.RenderPDF(m, nil)
		if err != nil {
			b.Fatal(err)
		}
		size = len(pdf)
	}
	b.ReportMetric(float64(size), "bytes/pdf")
}

func TestFiftyDevicesPDF(t *testing.T) {
	m := report.BuildMonthly(fiftyDevices(), "en")
	if len(m.Availability) != 10 || len(m.Outages) != 150 || len(m.Protection) != 50 || len(m.TopChecks) != report.TopChecks {
		t.Fatalf("built %d servers, %d outages, %d protection rows, %d top checks", len(m.Availability), len(m.Outages),
			len(m.Protection), len(m.TopChecks))
	}
	pdf, err := report.RenderPDF(m, logoPNG(t))
	must(t, err)
	text := pdfText(t, pdf)
	contains(t, "50 devices", text, "pc-49", "99.72%", "Page 1 of", "50 devices: 10 servers, 40 workstations")
}
