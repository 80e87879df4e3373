package storetest

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

var netDeviceTests = []struct {
	name string
	fn   func(t *testing.T, s core.Store)
}{
	{"NetDevices", testNetDevices},
	{"NetDeviceProbeOffline", testNetDeviceProbeOffline},
}

func testNetDevices(t *testing.T, s core.Store) {
	probe := device(t, s, "probe")
	other := device(t, s, "other")
	_, err := s.GetNetDevice(ctx, probe.ID)
	wantErr(t, "GetNetDevice of an agent device", err, core.ErrNotFound)
	wantErr(t, "CreateNetDevice unknown site", s.CreateNetDevice(ctx, &core.NetDevice{SiteID: 999999, Name: "x", Type: "router"}), core.ErrNotFound)

	nd := core.NetDevice{SiteID: probe.SiteID, Name: "Core router", Address: "192.0.2.1", Type: "router", ProbeID: probe.ID,
		Checks: []core.PolicyCheck{{Name: "ping", Type: "ping", Params: json.RawMessage(`{"count":2}`)}},
		Sealed: []byte{1, 2, 3}}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))
	if nd.ID == 0 || nd.ClientID != probe.ClientID || nd.State != core.DeviceActive {
		t.Fatalf("after create: %+v", nd)
	}
	web := core.NetDevice{SiteID: probe.SiteID, Name: "Shop", Type: "website",
		Checks: []core.PolicyCheck{{Name: "shop", Type: "website", Params: json.RawMessage(`{"url":"https://example.com"}`)}}}
	must(t, "CreateNetDevice server-run", s.CreateNetDevice(ctx, &web))

	got, err := s.GetNetDevice(ctx, nd.ID)
	must(t, "GetNetDevice", err)
	if got.Name != "Core router" || got.Address != "192.0.2.1" || got.ProbeID != probe.ID || len(got.Checks) != 1 ||
		got.Checks[0].Type != "ping" || string(got.Sealed) != "\x01\x02\x03" || got.SiteID != probe.SiteID {
		t.Errorf("GetNetDevice = %+v", got)
	}
	// It is a device like others, listed with kind network.
	d, err := s.GetDevice(ctx, nd.ID)
	must(t, "GetDevice of a network device", err)
	if d.Hostname != "Core router" || d.Role != core.KindNetwork {
		t.Errorf("GetDevice = hostname %q role %q", d.Hostname, d.Role)
	}

	list, err := s.ListNetDevices(ctx, probe.SiteID)
	must(t, "ListNetDevices", err)
	if len(list) != 2 || list[0].ID != nd.ID || list[1].ID != web.ID {
		t.Errorf("ListNetDevices(site) = %+v", list)
	}
	list, err = s.ListNetDevices(ctx, other.SiteID)
	must(t, "ListNetDevices other", err)
	if len(list) != 0 {
		t.Errorf("ListNetDevices(other site) = %d devices, want 0", len(list))
	}
	probed, err := s.ListProbedDevices(ctx, probe.ID)
	must(t, "ListProbedDevices", err)
	if len(probed) != 1 || probed[0].ID != nd.ID {
		t.Errorf("ListProbedDevices(probe) = %+v", probed)
	}
	probed, err = s.ListProbedDevices(ctx, 0)
	must(t, "ListProbedDevices server", err)
	if len(probed) != 1 || probed[0].ID != web.ID {
		t.Errorf("ListProbedDevices(server) = %+v", probed)
	}
	probed, err = s.ListProbedDevices(ctx, other.ID)
	must(t, "ListProbedDevices other", err)
	if len(probed) != 0 {
		t.Errorf("ListProbedDevices(other) = %d devices, want 0", len(probed))
	}

	nd.Name, nd.Address, nd.ProbeID, nd.Sealed = "Edge router", "192.0.2.2", 0, []byte{9}
	nd.Checks = append(nd.Checks, core.PolicyCheck{Name: "if", Type: "snmp"})
	must(t, "UpdateNetDevice", s.UpdateNetDevice(ctx, &nd))
	got, err = s.GetNetDevice(ctx, nd.ID)
	must(t, "GetNetDevice after update", err)
	if got.Name != "Edge router" || got.Address != "192.0.2.2" || got.ProbeID != 0 || len(got.Checks) != 2 || string(got.Sealed) != "\x09" {
		t.Errorf("after update: %+v", got)
	}
	wantErr(t, "UpdateNetDevice unknown", s.UpdateNetDevice(ctx, &core.NetDevice{ID: 999999}), core.ErrNotFound)

	must(t, "RetireNetDevice", s.RetireNetDevice(ctx, nd.ID))
	_, err = s.GetNetDevice(ctx, nd.ID)
	wantErr(t, "GetNetDevice retired", err, core.ErrNotFound)
	wantErr(t, "RetireNetDevice twice", s.RetireNetDevice(ctx, nd.ID), core.ErrNotFound)
	wantErr(t, "RetireNetDevice of an agent", s.RetireNetDevice(ctx, probe.ID), core.ErrNotFound)
	probed, err = s.ListProbedDevices(ctx, 0)
	must(t, "ListProbedDevices after retire", err)
	if len(probed) != 1 {
		t.Errorf("ListProbedDevices(server) after retire = %d devices, want 1", len(probed))
	}
}

// A network device whose probe is offline has status unknown, never OK.
func testNetDeviceProbeOffline(t *testing.T, s core.Store) {
	probe := device(t, s, "probe")
	nd := core.NetDevice{SiteID: probe.SiteID, Name: "printer", Address: "192.0.2.9", Type: "printer", ProbeID: probe.ID}
	must(t, "CreateNetDevice", s.CreateNetDevice(ctx, &nd))
	must(t, "SaveResults", s.SaveResults(ctx, nd.ID, []core.Result{{ID: "nd-1", Check: "ping", Status: core.StatusOK, At: t0}}))

	worst := func() (core.Status, core.Status) {
		t.Helper()
		d, err := s.GetDevice(ctx, nd.ID)
		must(t, "GetDevice", err)
		devs, err := s.ListDevices(ctx)
		must(t, "ListDevices", err)
		for _, l := range devs {
			if l.ID == nd.ID {
				return d.Worst, l.Worst
			}
		}
		t.Fatal("network device not listed")
		return 0, 0
	}
	if g, l := worst(); g != core.StatusUnknown || l != core.StatusUnknown {
		t.Errorf("probe never seen: Get %v List %v, want unknown", g, l)
	}
	seen := time.Now().UTC().Truncate(time.Millisecond)
	must(t, "TouchDevice", s.TouchDevice(ctx, probe.ID, seen, ""))
	if g, l := worst(); g != core.StatusOK || l != core.StatusOK {
		t.Errorf("probe online: Get %v List %v, want ok", g, l)
	}
	// The network device is reachable through its probe: it shows the
	// probe's last contact.
	if d, err := s.GetDevice(ctx, nd.ID); err != nil || !d.LastSeen.Equal(seen) {
		t.Errorf("network device LastSeen %v (%v), want the probe's %v", d.LastSeen, err, seen)
	}
	must(t, "RevokeDevice", s.RevokeDevice(ctx, probe.ID))
	if g, l := worst(); g != core.StatusUnknown || l != core.StatusUnknown {
		t.Errorf("probe revoked: Get %v List %v, want unknown", g, l)
	}
}
