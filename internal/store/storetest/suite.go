package storetest

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Run is the conformance suite for core.Store. open must return a fresh,
// empty, migrated store for each subtest and close it when the test ends.
func Run(t *testing.T, open func(t *testing.T) core.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s core.Store)
	}{
		{"EnsureClientSite", testEnsureClientSite},
		{"EnsureClientSiteConcurrent", testEnsureClientSiteConcurrent},
		{"EnrollmentTokens", testEnrollmentTokens},
		{"EnrollRefusals", testEnrollRefusals},
		{"EnrollNewAndRekey", testEnrollNewAndRekey},
		{"EnrollConcurrentTokenUse", testEnrollConcurrentTokenUse},
		{"Devices", testDevices},
		{"SaveResults", testSaveResults},
		{"SaveResultsRedelivery", testSaveResultsRedelivery},
		{"SaveResultsOutOfOrder", testSaveResultsOutOfOrder},
		{"SaveResultsConcurrent", testSaveResultsConcurrent},
		{"SaveResultsErrors", testSaveResultsErrors},
		{"ListResults", testListResults},
		{"TimestampPrecision", testTimestampPrecision},
		{"Users", testUsers},
		{"APITokens", testAPITokens},
		{"Sessions", testSessions},
		{"Audit", testAudit},
		{"Settings", testSettings},
	}
	tests = append(tests, policyTests...)
	tests = append(tests, tenancyTests...)
	tests = append(tests, alertTests...)
	tests = append(tests, protectionTests...)
	tests = append(tests, historyTests...)
	tests = append(tests, netDeviceTests...)
	tests = append(tests, reportTests...)
	tests = append(tests, maintenanceTests...)
	tests = append(tests, recordingTests...)
	tests = append(tests, scriptTests...)
	tests = append(tests, taskTests...)
	tests = append(tests, packageTests...)
	tests = append(tests, inventoryTests...)
	tests = append(tests, patchTests...)
	tests = append(tests, supportTests...)
	tests = append(tests, releaseTests...)
	tests = append(tests, billingTests...)
	tests = append(tests, savedViewTests...)
	tests = append(tests, oidcTests...)
	tests = append(tests, deviceListTests...)
	tests = append(tests, pagingTests...)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, open(t)) })
	}
}

var ctx = context.Background()

// t0 is a fixed instant with a whole number of milliseconds.
var t0 = time.Date(2026, 3, 14, 9, 26, 53, 589_000_000, time.UTC)

func wantErr(t *testing.T, what string, err, want error) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Errorf("%s: err = %v, want %v", what, err, want)
	}
}

func must(t *testing.T, what string, err error) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

func site(t *testing.T, s core.Store, client, name string) core.Site {
	t.Helper()
	_, st, err := s.EnsureClientSite(ctx, client, name)
	must(t, "EnsureClientSite", err)
	return st
}

func token(t *testing.T, s core.Store, siteID int64, secret string, maxUses int) core.EnrollmentToken {
	t.Helper()
	tok := core.EnrollmentToken{SecretHash: []byte(secret), SiteID: siteID, MaxUses: maxUses}
	must(t, "CreateEnrollmentToken", s.CreateEnrollmentToken(ctx, &tok))
	return tok
}

// device enrolls a new device in a fresh site of its own.
func device(t *testing.T, s core.Store, host string) core.Device {
	t.Helper()
	st := site(t, s, "Client "+host, "Site "+host)
	token(t, s, st.ID, "secret-"+host, 0)
	d := core.Device{Hostname: host, OS: "linux", MachineID: "mid-" + host, PublicKey: []byte("key-" + host)}
	must(t, "Enroll", s.Enroll(ctx, []byte("secret-"+host), &d, t0))
	return d
}

func fp(v float64) *float64 { return &v }

func testEnsureClientSite(t *testing.T, s core.Store) {
	c1, s1, err := s.EnsureClientSite(ctx, "Müller GmbH", "Zentrale Köln")
	must(t, "first EnsureClientSite", err)
	if c1.ID == 0 || s1.ID == 0 || c1.Name != "Müller GmbH" || s1.Name != "Zentrale Köln" ||
		s1.ClientID != c1.ID || s1.ClientName != "Müller GmbH" || c1.CreatedAt.IsZero() || s1.CreatedAt.IsZero() {
		t.Fatalf("EnsureClientSite = %+v, %+v", c1, s1)
	}
	c2, s2, err := s.EnsureClientSite(ctx, "Müller GmbH", "Zentrale Köln")
	must(t, "second EnsureClientSite", err)
	if c2 != c1 || s2 != s1 {
		t.Errorf("second call = %+v, %+v; want the same rows %+v, %+v", c2, s2, c1, s1)
	}
	c3, s3, err := s.EnsureClientSite(ctx, "Müller GmbH", "Lager")
	must(t, "other site", err)
	if c3.ID != c1.ID || s3.ID == s1.ID {
		t.Errorf("other site of same client: client %d site %d (first: %d, %d)", c3.ID, s3.ID, c1.ID, s1.ID)
	}
	c4, s4, err := s.EnsureClientSite(ctx, "Acme", "Zentrale Köln")
	must(t, "other client", err)
	if c4.ID == c1.ID || s4.ID == s1.ID || s4.ClientID != c4.ID {
		t.Errorf("same site name, other client: %+v %+v", c4, s4)
	}
	_, _, err = s.EnsureClientSite(ctx, "", "x")
	wantErr(t, "empty client", err, core.ErrInvalid)

	clients, err := s.ListClients(ctx)
	must(t, "ListClients", err)
	if len(clients) != 2 || clients[0].Name != "Acme" || clients[1].Name != "Müller GmbH" {
		t.Errorf("ListClients = %+v, want Acme, Müller GmbH", clients)
	}
	sites, err := s.ListSites(ctx)
	must(t, "ListSites", err)
	var got []string
	for _, st := range sites {
		got = append(got, st.ClientName+"/"+st.Name)
	}
	want := []string{"Acme/Zentrale Köln", "Müller GmbH/Lager", "Müller GmbH/Zentrale Köln"}
	if !slices.Equal(got, want) {
		t.Errorf("ListSites = %q, want %q", got, want)
	}
}

func testEnsureClientSiteConcurrent(t *testing.T, s core.Store) {
	const n = 8
	type pair struct{ c, s int64 }
	got := make([]pair, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			c, st, err := s.EnsureClientSite(ctx, "Race AG", "Hauptsitz")
			got[i], errs[i] = pair{c.ID, st.ID}, err
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("caller %d: %v", i, errs[i])
		}
		if got[i] != got[0] {
			t.Errorf("caller %d got %+v, caller 0 got %+v", i, got[i], got[0])
		}
	}
	clients, err := s.ListClients(ctx)
	must(t, "ListClients", err)
	sites, err := s.ListSites(ctx)
	must(t, "ListSites", err)
	if len(clients) != 1 || len(sites) != 1 {
		t.Errorf("%d clients and %d sites, want 1 and 1", len(clients), len(sites))
	}
}

func testEnrollmentTokens(t *testing.T, s core.Store) {
	st := site(t, s, "Müller GmbH", "Zentrale")
	exp := t0.Add(48 * time.Hour)
	older := core.EnrollmentToken{SecretHash: []byte("h1"), SiteID: st.ID, MaxUses: 3, ExpiresAt: &exp, CreatedAt: t0,
		Label: "Intune-Rollout Büro", CreatedBy: "anna@example.com"}
	must(t, "create older", s.CreateEnrollmentToken(ctx, &older))
	if older.ID == 0 || older.ClientID != st.ClientID || older.ClientName != "Müller GmbH" || older.SiteName != "Zentrale" {
		t.Errorf("created token = %+v", older)
	}
	newer := core.EnrollmentToken{SecretHash: []byte("h2"), SiteID: st.ID}
	must(t, "create newer", s.CreateEnrollmentToken(ctx, &newer))
	if newer.CreatedAt.IsZero() || !newer.CreatedAt.After(t0) {
		t.Errorf("CreatedAt not set to now: %v", newer.CreatedAt)
	}

	dup := core.EnrollmentToken{SecretHash: []byte("h1"), SiteID: st.ID}
	wantErr(t, "duplicate secret hash", s.CreateEnrollmentToken(ctx, &dup), core.ErrConflict)
	noSite := core.EnrollmentToken{SecretHash: []byte("h3"), SiteID: 999999}
	wantErr(t, "unknown site", s.CreateEnrollmentToken(ctx, &noSite), core.ErrNotFound)
	other := site(t, s, "Other", "Site")
	wrongClient := core.EnrollmentToken{SecretHash: []byte("h4"), SiteID: st.ID, ClientID: other.ClientID}
	wantErr(t, "site of another client", s.CreateEnrollmentToken(ctx, &wrongClient), core.ErrInvalid)

	list, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	if len(list) != 2 || list[0].ID != newer.ID || list[1].ID != older.ID {
		t.Fatalf("ListEnrollmentTokens = %+v, want newer then older", list)
	}
	l := list[1]
	if l.ClientName != "Müller GmbH" || l.SiteName != "Zentrale" || l.MaxUses != 3 || l.Uses != 0 ||
		l.ExpiresAt == nil || !l.ExpiresAt.Equal(exp) || !l.CreatedAt.Equal(t0) || l.RevokedAt != nil ||
		string(l.SecretHash) != "h1" || l.SiteID != st.ID || l.ClientID != st.ClientID ||
		l.Label != "Intune-Rollout Büro" || l.CreatedBy != "anna@example.com" {
		t.Errorf("listed token = %+v", l)
	}
	if list[0].ExpiresAt != nil || list[0].Label != "" || list[0].CreatedBy != "" {
		t.Errorf("token without expiry, label or creator listed as %+v", list[0])
	}
	got, err := s.GetEnrollmentToken(ctx, older.ID)
	must(t, "GetEnrollmentToken", err)
	if !reflect.DeepEqual(got, l) {
		t.Errorf("GetEnrollmentToken = %+v, want the listed %+v", got, l)
	}
	_, err = s.GetEnrollmentToken(ctx, 999999)
	wantErr(t, "GetEnrollmentToken of an unknown ID", err, core.ErrNotFound)

	must(t, "revoke", s.RevokeEnrollmentToken(ctx, older.ID, t0.Add(time.Hour)))
	must(t, "revoke again", s.RevokeEnrollmentToken(ctx, older.ID, t0.Add(2*time.Hour)))
	wantErr(t, "revoke unknown", s.RevokeEnrollmentToken(ctx, 999999, t0), core.ErrNotFound)
	list, err = s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	if r := list[1].RevokedAt; r == nil || !r.Equal(t0.Add(time.Hour)) {
		t.Errorf("RevokedAt = %v, want first revocation %v", r, t0.Add(time.Hour))
	}
	if got, err := s.GetEnrollmentToken(ctx, older.ID); err != nil || got.RevokedAt == nil || !got.RevokedAt.Equal(t0.Add(time.Hour)) {
		t.Errorf("GetEnrollmentToken after revocation = %+v, %v", got, err)
	}
	if list[0].RevokedAt != nil {
		t.Errorf("other token revoked too")
	}
}

func testEnrollRefusals(t *testing.T, s core.Store) {
	st := site(t, s, "C", "S")
	d := core.Device{Hostname: "h", MachineID: "m"}
	wantErr(t, "unknown token", s.Enroll(ctx, []byte("nope"), &d, t0), core.ErrNotFound)

	revoked := token(t, s, st.ID, "revoked", 0)
	must(t, "revoke", s.RevokeEnrollmentToken(ctx, revoked.ID, t0))
	wantErr(t, "revoked token", s.Enroll(ctx, []byte("revoked"), &d, t0), core.ErrTokenRevoked)

	exp := t0
	expired := core.EnrollmentToken{SecretHash: []byte("expired"), SiteID: st.ID, ExpiresAt: &exp}
	must(t, "create expiring", s.CreateEnrollmentToken(ctx, &expired))
	wantErr(t, "token expiring now", s.Enroll(ctx, []byte("expired"), &d, t0), core.ErrTokenExpired)
	d2 := core.Device{Hostname: "h2", MachineID: "m2"}
	must(t, "token before expiry", s.Enroll(ctx, []byte("expired"), &d2, t0.Add(-time.Millisecond)))

	token(t, s, st.ID, "once", 1)
	d3 := core.Device{Hostname: "h3", MachineID: "m3"}
	must(t, "first use", s.Enroll(ctx, []byte("once"), &d3, t0))
	d4 := core.Device{Hostname: "h4", MachineID: "m4"}
	wantErr(t, "second use", s.Enroll(ctx, []byte("once"), &d4, t0), core.ErrTokenUsedUp)

	// Refusals consume nothing and create no device.
	list, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	uses := map[string]int{}
	for _, tok := range list {
		uses[string(tok.SecretHash)] = tok.Uses
	}
	if want := map[string]int{"revoked": 0, "expired": 1, "once": 1}; !mapsEqual(uses, want) {
		t.Errorf("uses = %v, want %v", uses, want)
	}
	devs, err := s.ListDevices(ctx)
	must(t, "ListDevices", err)
	if len(devs) != 2 {
		t.Errorf("%d devices, want 2", len(devs))
	}
}

func mapsEqual(a, b map[string]int) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func testEnrollNewAndRekey(t *testing.T, s core.Store) {
	st := site(t, s, "Müller GmbH", "Zentrale")
	token(t, s, st.ID, "tok", 0)
	d := core.Device{Hostname: "pc-01", OS: "windows", Platform: "Windows 11 Pro", Arch: "amd64",
		MachineID: "machine-1", PublicKey: []byte{1, 2, 3}, AgentVersion: "1.0.0"}
	must(t, "enroll", s.Enroll(ctx, []byte("tok"), &d, t0))
	if d.ID == 0 || d.SiteID != st.ID || d.ClientID != st.ClientID || d.SiteName != "Zentrale" ||
		d.ClientName != "Müller GmbH" || !d.EnrolledAt.Equal(t0) || d.State != core.DeviceActive || d.Role != "workstation" {
		t.Fatalf("enrolled device = %+v", d)
	}
	got, err := s.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	if got.Hostname != "pc-01" || got.OS != "windows" || got.Platform != "Windows 11 Pro" || got.Arch != "amd64" ||
		got.MachineID != "machine-1" || string(got.PublicKey) != "\x01\x02\x03" || got.AgentVersion != "1.0.0" ||
		got.Role != "workstation" || got.State != core.DeviceActive || !got.EnrolledAt.Equal(t0) ||
		!got.LastSeen.IsZero() || got.SiteName != "Zentrale" || got.ClientName != "Müller GmbH" {
		t.Errorf("GetDevice = %+v", got)
	}

	// Same machine, same site, without the device's key: a new device
	// marked as a possible duplicate; the first keeps its key.
	dup := core.Device{Hostname: "pc-01", MachineID: "machine-1", PublicKey: []byte{6, 6}, Role: "server"}
	must(t, "enroll again", s.Enroll(ctx, []byte("tok"), &dup, t0))
	if dup.ID == d.ID || dup.DuplicateOf != d.ID || dup.Role != "server" {
		t.Errorf("second enrollment of machine-1 = %+v, want a new device with DuplicateOf %d", dup, d.ID)
	}
	if got, err := s.GetDevice(ctx, dup.ID); err != nil || got.DuplicateOf != d.ID {
		t.Errorf("GetDevice(duplicate) = %+v, %v", got, err)
	}
	if got, err := s.GetDevice(ctx, d.ID); err != nil || string(got.PublicKey) != "\x01\x02\x03" || got.DuplicateOf != 0 {
		t.Errorf("first device after a second enrollment = %+v, %v; want it untouched", got, err)
	}

	// Re-key with the device's current key: same ID, role and EnrolledAt.
	re := core.Device{ID: d.ID, Hostname: "pc-01-renamed", OS: "windows", Platform: "Windows 11 Pro", Arch: "arm64",
		MachineID: "machine-1b", PublicKey: []byte{9, 9}, AgentVersion: "1.1.0", Role: "server"}
	must(t, "re-key", s.Rekey(ctx, []byte("tok"), &re, []byte{1, 2, 3}, t0.Add(time.Hour)))
	if re.ID != d.ID || !re.EnrolledAt.Equal(t0) || re.Role != "workstation" || re.SiteName != "Zentrale" {
		t.Errorf("re-keyed = %+v, want ID %d kept with original role and EnrolledAt", re, d.ID)
	}
	got, err = s.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	if string(got.PublicKey) != "\x09\x09" || got.Hostname != "pc-01-renamed" || got.Arch != "arm64" ||
		got.AgentVersion != "1.1.0" || got.MachineID != "machine-1b" {
		t.Errorf("after re-key = %+v", got)
	}
	// A stale key, another site's token, a revoked device: ErrConflict,
	// nothing changes and no use is consumed.
	stale := core.Device{ID: d.ID, Hostname: "evil", PublicKey: []byte{7}}
	wantErr(t, "re-key with a stale key", s.Rekey(ctx, []byte("tok"), &stale, []byte{1, 2, 3}, t0), core.ErrConflict)
	wantErr(t, "re-key, unknown token", s.Rekey(ctx, []byte("nope"), &stale, []byte{9, 9}, t0), core.ErrNotFound)

	st2 := site(t, s, "Müller GmbH", "Lager")
	token(t, s, st2.ID, "tok2", 0)
	elsewhere := core.Device{Hostname: "pc-01", MachineID: "machine-1"}
	must(t, "other site", s.Enroll(ctx, []byte("tok2"), &elsewhere, t0))
	if elsewhere.ID == d.ID || elsewhere.SiteID != st2.ID || elsewhere.DuplicateOf != 0 {
		t.Errorf("other site gave %+v", elsewhere)
	}
	anon1 := core.Device{Hostname: "x"}
	anon2 := core.Device{Hostname: "x"}
	must(t, "anon1", s.Enroll(ctx, []byte("tok2"), &anon1, t0))
	must(t, "anon2", s.Enroll(ctx, []byte("tok2"), &anon2, t0))
	if anon1.ID == anon2.ID {
		t.Errorf("devices without machine ID merged into %d", anon1.ID)
	}
	must(t, "revoke", s.RevokeDevice(ctx, elsewhere.ID))
	after := core.Device{Hostname: "pc-01", MachineID: "machine-1"}
	must(t, "after revoke", s.Enroll(ctx, []byte("tok2"), &after, t0))
	if after.ID == elsewhere.ID || after.DuplicateOf != 0 {
		t.Errorf("re-enrollment after revoking %d gave %+v", elsewhere.ID, after)
	}
	revoked := core.Device{ID: elsewhere.ID, PublicKey: []byte{5}}
	wantErr(t, "re-key a revoked device", s.Rekey(ctx, []byte("tok2"), &revoked, nil, t0), core.ErrConflict)
	wantErr(t, "re-key with another site's token", s.Rekey(ctx, []byte("tok2"), &stale, []byte{9, 9}, t0), core.ErrConflict)
	list, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	for _, tok := range list {
		if want := map[string]int{"tok": 3, "tok2": 4}[string(tok.SecretHash)]; tok.Uses != want {
			t.Errorf("token %s uses = %d, want %d", tok.SecretHash, tok.Uses, want)
		}
	}
}

func testEnrollConcurrentTokenUse(t *testing.T, s core.Store) {
	st := site(t, s, "C", "S")
	token(t, s, st.ID, "three", 3)
	const n = 5
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			d := core.Device{Hostname: fmt.Sprintf("h%d", i), MachineID: fmt.Sprintf("m%d", i)}
			errs[i] = s.Enroll(ctx, []byte("three"), &d, t0)
		})
	}
	wg.Wait()
	ok, usedUp := 0, 0
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, core.ErrTokenUsedUp):
			usedUp++
		default:
			t.Errorf("unexpected error: %v", err)
		}
	}
	if ok != 3 || usedUp != 2 {
		t.Errorf("%d enrolled, %d used up; want 3 and 2", ok, usedUp)
	}
	list, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	if list[0].Uses != 3 {
		t.Errorf("uses = %d, want 3", list[0].Uses)
	}
	devs, err := s.ListDevices(ctx)
	must(t, "ListDevices", err)
	if len(devs) != 3 {
		t.Errorf("%d devices, want 3", len(devs))
	}
}

func testDevices(t *testing.T, s core.Store) {
	_, err := s.GetDevice(ctx, 999999)
	wantErr(t, "GetDevice unknown", err, core.ErrNotFound)
	wantErr(t, "RevokeDevice unknown", s.RevokeDevice(ctx, 999999), core.ErrNotFound)
	wantErr(t, "TouchDevice unknown", s.TouchDevice(ctx, 999999, t0, "1"), core.ErrNotFound)

	a := device(t, s, "alpha")
	b := device(t, s, "beta")
	must(t, "touch", s.TouchDevice(ctx, a.ID, t0.Add(time.Minute), "2.0.0"))
	must(t, "touch older", s.TouchDevice(ctx, a.ID, t0, ""))
	got, err := s.GetDevice(ctx, a.ID)
	must(t, "GetDevice", err)
	if !got.LastSeen.Equal(t0.Add(time.Minute)) || got.AgentVersion != "2.0.0" {
		t.Errorf("after touches: LastSeen %v version %q; want %v and 2.0.0", got.LastSeen, got.AgentVersion, t0.Add(time.Minute))
	}
	// Action key confirmations: b, revoked below, is not listed then.
	wantErr(t, "SetDeviceActionKey unknown", s.SetDeviceActionKey(ctx, 999999, "f1"), core.ErrNotFound)
	must(t, "SetDeviceActionKey", s.SetDeviceActionKey(ctx, a.ID, "f1"))
	ks, err := s.DevicesNotOnActionKey(ctx, "f1")
	must(t, "DevicesNotOnActionKey", err)
	if len(ks) != 1 || ks[0].ID != b.ID || ks[0].Fingerprint != "" || ks[0].Hostname != "beta" || ks[0].ClientName == "" || !ks[0].LastSeen.IsZero() {
		t.Errorf("devices not on f1 = %+v, want beta without a fingerprint", ks)
	}
	ks, err = s.DevicesNotOnActionKey(ctx, "f2")
	must(t, "DevicesNotOnActionKey", err)
	if len(ks) != 2 || ks[0].ID != a.ID || ks[0].Fingerprint != "f1" || !ks[0].LastSeen.Equal(t0.Add(time.Minute)) {
		t.Errorf("devices not on f2 = %+v, want alpha on f1 and beta", ks)
	}
	must(t, "revoke", s.RevokeDevice(ctx, b.ID))
	if ks, err = s.DevicesNotOnActionKey(ctx, "f1"); err != nil || len(ks) != 0 {
		t.Errorf("a revoked device awaits the key: %+v, %v", ks, err)
	}

	must(t, "save", s.SaveResults(ctx, a.ID, []core.Result{
		{ID: "a1", Check: "disk", Key: "/", Status: core.StatusWarning, At: t0},
		{ID: "a2", Check: "cpu", Status: core.StatusOK, At: t0},
		{ID: "a3", Check: "sec", Status: core.StatusUnsupported, At: t0},
	}))
	devs, err := s.ListDevices(ctx)
	must(t, "ListDevices", err)
	if len(devs) != 2 {
		t.Fatalf("ListDevices returned %d devices, want 2", len(devs))
	}
	byID := map[int64]core.Device{}
	for _, d := range devs {
		byID[d.ID] = d
	}
	if d := byID[a.ID]; d.Worst != core.StatusWarning || d.ClientName != "Client alpha" || d.SiteName != "Site alpha" ||
		d.Hostname != "alpha" || !d.LastSeen.Equal(t0.Add(time.Minute)) || d.State != core.DeviceActive {
		t.Errorf("listed alpha = %+v", d)
	}
	if d := byID[b.ID]; d.Worst != core.StatusOK || d.State != core.DeviceRevoked || !d.LastSeen.IsZero() {
		t.Errorf("listed beta = %+v, want revoked, Worst ok (no checks), never seen", d)
	}
	got, err = s.GetDevice(ctx, a.ID)
	must(t, "GetDevice", err)
	if got.Worst != core.StatusWarning {
		t.Errorf("GetDevice Worst = %v, want warning", got.Worst)
	}
	must(t, "save failure", s.SaveResults(ctx, a.ID, []core.Result{
		{ID: "a4", Check: "cpu", Status: core.StatusFailure, At: t0.Add(time.Second)},
	}))
	got, err = s.GetDevice(ctx, a.ID)
	must(t, "GetDevice", err)
	if got.Worst != core.StatusFailure {
		t.Errorf("GetDevice Worst = %v, want failure", got.Worst)
	}
}

func testSaveResults(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	other := device(t, s, "other")
	rs := []core.Result{
		{ID: "r1", Check: "disk", Key: "C:", Status: core.StatusOK, Value: fp(41.5), Unit: "%",
			Message: core.Text{EN: "41.5% used", DE: "41,5 % belegt – grün"}, At: t0},
		{ID: "r2", Check: "disk", Key: "/", Status: core.StatusFailure, Value: fp(97), Unit: "%",
			Message: core.Text{EN: "97% used", DE: "97 % belegt"}, At: t0},
		{ID: "r3", Check: "cpu", Status: core.StatusOK, Value: fp(0), At: t0},
		{ID: "r4", Check: "antivirus", Status: core.StatusError, Message: core.Text{EN: "no WMI", DE: "kein WMI"}, At: t0},
	}
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, rs))
	must(t, "SaveResults other", s.SaveResults(ctx, other.ID, []core.Result{{ID: "o1", Check: "cpu", At: t0}}))
	must(t, "empty batch", s.SaveResults(ctx, d.ID, nil))

	states, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	var keys []string
	for _, c := range states {
		keys = append(keys, c.Name+"|"+c.Key)
		if c.DeviceID != d.ID || c.CheckID == 0 || !c.At.Equal(t0) || !c.ChangedAt.Equal(t0) {
			t.Errorf("state %+v", c)
		}
	}
	if want := []string{"antivirus|", "cpu|", "disk|/", "disk|C:"}; !slices.Equal(keys, want) {
		t.Fatalf("ListCheckStates order = %q, want %q", keys, want)
	}
	av, cpu, root, c := states[0], states[1], states[2], states[3]
	if av.Status != core.StatusError || av.Value != nil || av.Message.DE != "kein WMI" {
		t.Errorf("antivirus state = %+v", av)
	}
	if cpu.Value == nil || *cpu.Value != 0 {
		t.Errorf("cpu value = %v, want 0 (not nil)", cpu.Value)
	}
	if root.Status != core.StatusFailure || *root.Value != 97 {
		t.Errorf("root state = %+v", root)
	}
	if c.Status != core.StatusOK || *c.Value != 41.5 || c.Unit != "%" ||
		c.Message != (core.Text{EN: "41.5% used", DE: "41,5 % belegt – grün"}) {
		t.Errorf("C: state = %+v", c)
	}
	n, err := s.CountResults(ctx, d.ID)
	must(t, "CountResults", err)
	if n != 4 {
		t.Errorf("CountResults = %d, want 4", n)
	}
	otherStates, err := s.ListCheckStates(ctx, other.ID)
	must(t, "ListCheckStates other", err)
	if len(otherStates) != 1 || otherStates[0].Status != core.StatusUnknown {
		t.Errorf("other device states = %+v", otherStates)
	}
	none, err := s.ListCheckStates(ctx, 999999)
	must(t, "ListCheckStates unknown", err)
	if len(none) != 0 {
		t.Errorf("unknown device has states %+v", none)
	}

	// A newer result with the same status keeps changed_at; a status
	// change moves it.
	must(t, "newer", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "r5", Check: "disk", Key: "C:", Status: core.StatusOK, Value: fp(42), Unit: "%", At: t0.Add(time.Minute)},
		{ID: "r6", Check: "disk", Key: "/", Status: core.StatusWarning, Value: fp(89), Unit: "%", At: t0.Add(time.Minute)},
	}))
	states, err = s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	root, c = states[2], states[3]
	if !c.At.Equal(t0.Add(time.Minute)) || !c.ChangedAt.Equal(t0) || *c.Value != 42 || c.Message != (core.Text{}) {
		t.Errorf("C: after same-status result = %+v", c)
	}
	if !root.At.Equal(t0.Add(time.Minute)) || !root.ChangedAt.Equal(t0.Add(time.Minute)) || root.Status != core.StatusWarning {
		t.Errorf("/ after status change = %+v", root)
	}
	if states[0].CheckID != av.CheckID {
		t.Errorf("check IDs changed: %d → %d", av.CheckID, states[0].CheckID)
	}
}

func testSaveResultsRedelivery(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	batch := []core.Result{
		{ID: "x1", Check: "disk", Key: "/", Status: core.StatusOK, Value: fp(10), At: t0},
		{ID: "x2", Check: "disk", Key: "/", Status: core.StatusWarning, Value: fp(85), At: t0.Add(time.Second)},
		{ID: "x3", Check: "cpu", Status: core.StatusOK, At: t0},
	}
	must(t, "first delivery", s.SaveResults(ctx, d.ID, batch))
	states1, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	res1, err := s.ListResults(ctx, d.ID, time.Time{}, 0)
	must(t, "ListResults", err)

	must(t, "redelivery", s.SaveResults(ctx, d.ID, batch))
	// The same IDs with other content (a confused agent) change nothing either.
	changed := slices.Clone(batch)
	changed[1].Status, changed[1].At = core.StatusFailure, t0.Add(time.Hour)
	must(t, "redelivery with other content", s.SaveResults(ctx, d.ID, changed))

	states2, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	res2, err := s.ListResults(ctx, d.ID, time.Time{}, 0)
	must(t, "ListResults", err)
	if !reflect.DeepEqual(states1, states2) {
		t.Errorf("states changed on redelivery:\n%v\n%v", states1, states2)
	}
	if !reflect.DeepEqual(res1, res2) || len(res2) != 3 {
		t.Errorf("history changed on redelivery:\n%v\n%v", res1, res2)
	}
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 3 {
		t.Errorf("CountResults = %d, %v; want 3", n, err)
	}

	// An ID repeated within one batch counts once, as first given.
	must(t, "repeated ID", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "y1", Check: "mem", Status: core.StatusWarning, At: t0},
		{ID: "y1", Check: "mem", Status: core.StatusFailure, At: t0.Add(time.Second)},
	}))
	res3, err := s.ListResults(ctx, d.ID, t0, 1)
	must(t, "ListResults", err)
	states3, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 4 || res3[0].ID != "x2" ||
		states3[2].Name != "mem" || states3[2].Status != core.StatusWarning {
		t.Errorf("after repeated ID: count %d (%v), newest %+v, mem state %+v; want 4 results, mem warning",
			n, err, res3[0], states3[2])
	}
}

func testSaveResultsOutOfOrder(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	save := func(id string, st core.Status, at time.Time) {
		t.Helper()
		must(t, "save "+id, s.SaveResults(ctx, d.ID, []core.Result{{ID: id, Check: "ping", Status: st, At: at}}))
	}
	state := func() core.CheckState {
		t.Helper()
		ss, err := s.ListCheckStates(ctx, d.ID)
		must(t, "ListCheckStates", err)
		if len(ss) != 1 {
			t.Fatalf("%d states, want 1", len(ss))
		}
		return ss[0]
	}
	save("p20", core.StatusFailure, t0.Add(20*time.Second))
	save("p10", core.StatusOK, t0.Add(10*time.Second)) // late: history only
	if st := state(); st.Status != core.StatusFailure || !st.At.Equal(t0.Add(20*time.Second)) ||
		!st.ChangedAt.Equal(t0.Add(20*time.Second)) {
		t.Errorf("after late older result: %+v", st)
	}
	save("p20b", core.StatusWarning, t0.Add(20*time.Second)) // same time: as new, applies
	if st := state(); st.Status != core.StatusWarning || !st.ChangedAt.Equal(t0.Add(20*time.Second)) {
		t.Errorf("after equal-time result: %+v", st)
	}
	save("p30", core.StatusWarning, t0.Add(30*time.Second))
	save("p25", core.StatusOK, t0.Add(25*time.Second))
	if st := state(); st.Status != core.StatusWarning || !st.At.Equal(t0.Add(30*time.Second)) ||
		!st.ChangedAt.Equal(t0.Add(20*time.Second)) {
		t.Errorf("after 30 s warning and late 25 s ok: %+v, want warning at 30 s changed at 20 s", st)
	}
	// In one batch, out of order.
	must(t, "batch", s.SaveResults(ctx, d.ID, []core.Result{
		{ID: "p50", Check: "ping", Status: core.StatusOK, At: t0.Add(50 * time.Second)},
		{ID: "p40", Check: "ping", Status: core.StatusFailure, At: t0.Add(40 * time.Second)},
	}))
	if st := state(); st.Status != core.StatusOK || !st.At.Equal(t0.Add(50*time.Second)) ||
		!st.ChangedAt.Equal(t0.Add(50*time.Second)) {
		t.Errorf("after out-of-order batch: %+v", st)
	}
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 7 {
		t.Errorf("CountResults = %d, %v; want 7", n, err)
	}
}

func testSaveResultsConcurrent(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	const n = 4
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			var rs []core.Result
			for j := range 10 {
				rs = append(rs, core.Result{ID: fmt.Sprintf("c%d-%d", i, j), Check: "new", Key: fmt.Sprint(j % 3),
					Status: core.StatusOK, At: t0.Add(time.Duration(i*10+j) * time.Second)})
			}
			errs[i] = s.SaveResults(ctx, d.ID, rs)
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("batch %d: %v", i, err)
		}
	}
	states, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	if len(states) != 3 {
		t.Errorf("%d check states, want 3", len(states))
	}
	if c, err := s.CountResults(ctx, d.ID); err != nil || c != n*10 {
		t.Errorf("CountResults = %d, %v; want %d", c, err, n*10)
	}
}

func testSaveResultsErrors(t *testing.T, s core.Store) {
	err := s.SaveResults(ctx, 999999, []core.Result{{ID: "z", Check: "cpu", At: t0}})
	wantErr(t, "unknown device", err, core.ErrNotFound)
	d := device(t, s, "pc")
	err = s.SaveResults(ctx, d.ID, []core.Result{{ID: "ok", Check: "cpu", At: t0}, {Check: "cpu", At: t0}})
	wantErr(t, "result without ID", err, core.ErrInvalid)
	err = s.SaveResults(ctx, d.ID, []core.Result{{ID: "ok", Check: "", At: t0}})
	wantErr(t, "result without check name", err, core.ErrInvalid)
	if n, err := s.CountResults(ctx, d.ID); err != nil || n != 0 {
		t.Errorf("CountResults after failed batch = %d, %v; want 0 (all or nothing)", n, err)
	}
}

func testListResults(t *testing.T, s core.Store) {
	d := device(t, s, "pc")
	var rs []core.Result
	for i := range 10 {
		rs = append(rs, core.Result{ID: fmt.Sprintf("id-%02d", i), Check: "mem", Key: "", Status: core.StatusOK,
			Value: fp(float64(i)), Unit: "%", Message: core.Text{EN: "en", DE: "de"}, At: t0.Add(time.Duration(i) * time.Minute)})
	}
	// Stored in shuffled order; listed newest first regardless.
	shuffled := append(slices.Clone(rs[5:]), rs[:5]...)
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, shuffled))

	all, err := s.ListResults(ctx, d.ID, time.Time{}, 0)
	must(t, "ListResults all", err)
	if len(all) != 10 {
		t.Fatalf("ListResults all = %d rows, want 10", len(all))
	}
	for i, r := range all {
		want := rs[9-i]
		if r.ID != want.ID || r.Check != "mem" || r.Key != "" || r.Status != core.StatusOK || r.Value == nil ||
			*r.Value != *want.Value || r.Unit != "%" || r.Message != want.Message || !r.At.Equal(want.At) {
			t.Errorf("row %d = %+v, want %+v", i, r, want)
		}
	}
	limited, err := s.ListResults(ctx, d.ID, time.Time{}, 3)
	must(t, "ListResults limit", err)
	if len(limited) != 3 || limited[0].ID != "id-09" || limited[2].ID != "id-07" {
		t.Errorf("limit 3 = %v", ids(limited))
	}
	since, err := s.ListResults(ctx, d.ID, t0.Add(7*time.Minute), 0)
	must(t, "ListResults since", err)
	if got := ids(since); !slices.Equal(got, []string{"id-09", "id-08", "id-07"}) {
		t.Errorf("since 7 min = %v", got)
	}
	none, err := s.ListResults(ctx, 999999, time.Time{}, 0)
	must(t, "ListResults unknown device", err)
	if len(none) != 0 {
		t.Errorf("unknown device has results %v", ids(none))
	}
	if n, err := s.CountResults(ctx, 999999); err != nil || n != 0 {
		t.Errorf("CountResults unknown = %d, %v", n, err)
	}
}

func ids(rs []core.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.ID)
	}
	return out
}

// testTimestampPrecision checks that times round-trip at millisecond
// precision and come back in UTC, whatever zone they went in with.
func testTimestampPrecision(t *testing.T, s core.Store) {
	zone := time.FixedZone("CEST", 2*60*60)
	in := time.Date(2026, 7, 1, 23, 59, 59, 123_456_789, zone)
	want := time.Date(2026, 7, 1, 21, 59, 59, 123_000_000, time.UTC)
	check := func(what string, got time.Time) {
		t.Helper()
		if !got.Equal(want) || got.Location() != time.UTC {
			t.Errorf("%s = %v (%v), want %v UTC", what, got, got.Location(), want)
		}
	}
	d := device(t, s, "pc")
	must(t, "SaveResults", s.SaveResults(ctx, d.ID, []core.Result{{ID: "t", Check: "c", At: in}}))
	rs, err := s.ListResults(ctx, d.ID, time.Time{}, 0)
	must(t, "ListResults", err)
	check("result At", rs[0].At)
	states, err := s.ListCheckStates(ctx, d.ID)
	must(t, "ListCheckStates", err)
	check("state At", states[0].At)
	check("state ChangedAt", states[0].ChangedAt)
	must(t, "TouchDevice", s.TouchDevice(ctx, d.ID, in, ""))
	got, err := s.GetDevice(ctx, d.ID)
	must(t, "GetDevice", err)
	check("LastSeen", got.LastSeen)

	st := site(t, s, "C", "S")
	tok := core.EnrollmentToken{SecretHash: []byte("t"), SiteID: st.ID, CreatedAt: in, ExpiresAt: &in}
	must(t, "CreateEnrollmentToken", s.CreateEnrollmentToken(ctx, &tok))
	check("token CreatedAt as returned", tok.CreatedAt)
	must(t, "RevokeEnrollmentToken", s.RevokeEnrollmentToken(ctx, tok.ID, in))
	toks, err := s.ListEnrollmentTokens(ctx)
	must(t, "ListEnrollmentTokens", err)
	for _, lt := range toks {
		if lt.ID == tok.ID {
			check("token CreatedAt", lt.CreatedAt)
			check("token ExpiresAt", *lt.ExpiresAt)
			check("token RevokedAt", *lt.RevokedAt)
		}
	}
	must(t, "Audit", s.Audit(ctx, core.AuditEntry{At: in, Actor: "cli", Action: "x"}))
	entries, err := s.ListAudit(ctx, 1)
	must(t, "ListAudit", err)
	check("audit At", entries[0].At)

	// Before 1970 and far ahead.
	for _, at := range []time.Time{time.Date(1969, 12, 31, 23, 59, 59, 1_000_000, time.UTC), time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC)} {
		must(t, "Audit", s.Audit(ctx, core.AuditEntry{At: at, Actor: "cli", Action: at.String()}))
		entries, err := s.ListAudit(ctx, 0)
		must(t, "ListAudit", err)
		found := false
		for _, e := range entries {
			if e.Action == at.String() {
				found = e.At.Equal(at)
			}
		}
		if !found {
			t.Errorf("audit time %v did not round-trip", at)
		}
	}
}

func testUsers(t *testing.T, s core.Store) {
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers on empty store = %d, %v", n, err)
	}
	u := core.User{Email: "Jürgen.Müller@Example.COM", PasswordHash: "$argon2id$x", Role: core.RoleAdmin}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	if u.ID == 0 || u.Email != "jürgen.müller@example.com" || u.CreatedAt.IsZero() {
		t.Errorf("created user = %+v", u)
	}
	dup := core.User{Email: "JÜRGEN.MÜLLER@example.com", Role: core.RoleReadOnly}
	wantErr(t, "duplicate email, other case", s.CreateUser(ctx, &dup), core.ErrConflict)
	wantErr(t, "empty email", s.CreateUser(ctx, &core.User{Role: core.RoleAdmin}), core.ErrInvalid)

	got, err := s.GetUserByEmail(ctx, "jürgen.MÜLLER@example.com")
	must(t, "GetUserByEmail", err)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("GetUserByEmail = %+v, want %+v", got, u)
	}
	got, err = s.GetUser(ctx, u.ID)
	must(t, "GetUser", err)
	if !reflect.DeepEqual(got, u) {
		t.Errorf("GetUser = %+v, want %+v", got, u)
	}
	_, err = s.GetUser(ctx, 999999)
	wantErr(t, "GetUser unknown", err, core.ErrNotFound)
	_, err = s.GetUserByEmail(ctx, "nobody@example.com")
	wantErr(t, "GetUserByEmail unknown", err, core.ErrNotFound)

	must(t, "SetUserLang", s.SetUserLang(ctx, u.ID, "de"))
	got, err = s.GetUser(ctx, u.ID)
	must(t, "GetUser", err)
	if got.Lang != "de" {
		t.Errorf("Lang = %q, want de", got.Lang)
	}
	wantErr(t, "SetUserLang unknown", s.SetUserLang(ctx, 999999, "de"), core.ErrNotFound)
	if got.TimeZone != "" {
		t.Errorf("new user's TimeZone = %q, want empty", got.TimeZone)
	}
	must(t, "SetUserTimeZone", s.SetUserTimeZone(ctx, u.ID, "America/New_York"))
	got, err = s.GetUser(ctx, u.ID)
	must(t, "GetUser", err)
	if got.TimeZone != "America/New_York" || got.Lang != "de" {
		t.Errorf("after SetUserTimeZone: TimeZone %q, Lang %q; want America/New_York, de", got.TimeZone, got.Lang)
	}
	if byMail, err := s.GetUserByEmail(ctx, got.Email); err != nil || byMail.TimeZone != "America/New_York" {
		t.Errorf("GetUserByEmail TimeZone = %q, %v; want America/New_York", byMail.TimeZone, err)
	}
	wantErr(t, "SetUserTimeZone unknown", s.SetUserTimeZone(ctx, 999999, "Europe/Berlin"), core.ErrNotFound)
	must(t, "second user", s.CreateUser(ctx, &core.User{Email: "tech@example.com", Role: core.RoleTechnician}))
	if n, err := s.CountUsers(ctx); err != nil || n != 2 {
		t.Errorf("CountUsers = %d, %v; want 2", n, err)
	}
}

func testAPITokens(t *testing.T, s core.Store) {
	u := core.User{Email: "a@example.com", Role: core.RoleAdmin}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	exp := t0.Add(24 * time.Hour)
	tok := core.APIToken{UserID: u.ID, Name: "Backup-Skript", Hash: []byte{0xde, 0xad}, ExpiresAt: &exp}
	must(t, "CreateAPIToken", s.CreateAPIToken(ctx, &tok))
	if tok.ID == 0 || tok.CreatedAt.IsZero() {
		t.Errorf("created token = %+v", tok)
	}
	got, err := s.GetAPIToken(ctx, []byte{0xde, 0xad})
	must(t, "GetAPIToken", err)
	if got.ID != tok.ID || got.UserID != u.ID || got.Name != "Backup-Skript" || string(got.Hash) != "\xde\xad" ||
		!got.CreatedAt.Equal(tok.CreatedAt) || got.ExpiresAt == nil || !got.ExpiresAt.Equal(exp) || got.RevokedAt != nil {
		t.Errorf("GetAPIToken = %+v", got)
	}
	_, err = s.GetAPIToken(ctx, []byte{0xbe, 0xef})
	wantErr(t, "GetAPIToken unknown", err, core.ErrNotFound)
	dup := core.APIToken{UserID: u.ID, Name: "dup", Hash: []byte{0xde, 0xad}}
	wantErr(t, "duplicate hash", s.CreateAPIToken(ctx, &dup), core.ErrConflict)
	orphan := core.APIToken{UserID: 999999, Name: "orphan", Hash: []byte{1}}
	wantErr(t, "unknown user", s.CreateAPIToken(ctx, &orphan), core.ErrNotFound)

	must(t, "RevokeAPIToken", s.RevokeAPIToken(ctx, tok.ID, t0))
	got, err = s.GetAPIToken(ctx, []byte{0xde, 0xad})
	must(t, "GetAPIToken revoked", err)
	if got.RevokedAt == nil || !got.RevokedAt.Equal(t0) {
		t.Errorf("RevokedAt = %v, want %v", got.RevokedAt, t0)
	}
	wantErr(t, "RevokeAPIToken unknown", s.RevokeAPIToken(ctx, 999999, t0), core.ErrNotFound)
}

func testSessions(t *testing.T, s core.Store) {
	u := core.User{Email: "a@example.com", Role: core.RoleAdmin}
	must(t, "CreateUser", s.CreateUser(ctx, &u))
	se := core.Session{Hash: []byte("sess"), UserID: u.ID, CSRF: "csrf-tok", CreatedAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
	must(t, "CreateSession", s.CreateSession(ctx, se))
	wantErr(t, "duplicate session", s.CreateSession(ctx, se), core.ErrConflict)
	got, err := s.GetSession(ctx, []byte("sess"))
	must(t, "GetSession", err)
	if string(got.Hash) != "sess" || got.UserID != u.ID || got.CSRF != "csrf-tok" || !got.CreatedAt.Equal(t0) ||
		!got.ExpiresAt.Equal(t0.Add(12*time.Hour)) {
		t.Errorf("GetSession = %+v", got)
	}
	must(t, "DeleteSession", s.DeleteSession(ctx, []byte("sess")))
	_, err = s.GetSession(ctx, []byte("sess"))
	wantErr(t, "GetSession after delete", err, core.ErrNotFound)
	must(t, "DeleteSession again", s.DeleteSession(ctx, []byte("sess")))
	sso := core.Session{Hash: []byte("sso"), UserID: u.ID, CSRF: "c", ExpiresAt: t0, OIDCProvider: 7, ProviderMFA: true}
	must(t, "CreateSession SSO", s.CreateSession(ctx, sso))
	if got, err := s.GetSession(ctx, []byte("sso")); err != nil || got.OIDCProvider != 7 || !got.ProviderMFA {
		t.Errorf("GetSession SSO = %+v, %v", got, err)
	}
}

func testAudit(t *testing.T, s core.Store) {
	entries, err := s.ListAudit(ctx, 10)
	must(t, "ListAudit empty", err)
	if len(entries) != 0 {
		t.Errorf("empty store has audit entries %+v", entries)
	}
	for i, a := range []string{"token.create", "user.add", "device.revoke"} {
		must(t, "Audit", s.Audit(ctx, core.AuditEntry{At: t0.Add(time.Duration(i) * time.Second),
			Actor: "user:jürgen@example.com", Action: a, Target: fmt.Sprint(i), Detail: "Müller GmbH"}))
	}
	must(t, "Audit without time", s.Audit(ctx, core.AuditEntry{Actor: "cli", Action: "setup"}))
	entries, err = s.ListAudit(ctx, 0)
	must(t, "ListAudit", err)
	var actions []string
	for _, e := range entries {
		actions = append(actions, e.Action)
	}
	if want := []string{"setup", "device.revoke", "user.add", "token.create"}; !slices.Equal(actions, want) {
		t.Errorf("ListAudit = %q, want %q", actions, want)
	}
	if e := entries[1]; e.ID == 0 || e.Actor != "user:jürgen@example.com" || e.Target != "2" || e.Detail != "Müller GmbH" ||
		!e.At.Equal(t0.Add(2*time.Second)) {
		t.Errorf("entry = %+v", e)
	}
	if entries[0].At.Before(t0) {
		t.Errorf("entry without time got %v, want now", entries[0].At)
	}
	two, err := s.ListAudit(ctx, 2)
	must(t, "ListAudit 2", err)
	if len(two) != 2 || two[0].Action != "setup" {
		t.Errorf("ListAudit(2) = %+v", two)
	}
}

func testSettings(t *testing.T, s core.Store) {
	_, err := s.GetSetting(ctx, "server_url")
	wantErr(t, "unset", err, core.ErrNotFound)
	must(t, "SetSetting", s.SetSetting(ctx, "server_url", "https://wacht.example:8443"))
	must(t, "SetSetting other", s.SetSetting(ctx, "cert_fingerprint", ""))
	must(t, "SetSetting replace", s.SetSetting(ctx, "server_url", "https://rmm.müller.de"))
	v, err := s.GetSetting(ctx, "server_url")
	must(t, "GetSetting", err)
	if v != "https://rmm.müller.de" {
		t.Errorf("server_url = %q", v)
	}
	v, err = s.GetSetting(ctx, "cert_fingerprint")
	if err != nil || v != "" {
		t.Errorf("empty setting = %q, %v; want \"\", nil", v, err)
	}
}
