package api_test

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/server/auth"
	"github.com/wacht-rmm/wacht/internal/service"
)

func TestMaintenanceAPI(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	_, other, err := f.st.EnsureClientSite(ctx, "Fremde AG", "Zentrale")
	must(err)
	od := enroll(t, f.st, other, "foreign-pc", time.Now())
	scoped := core.User{Email: "scoped@example.com", PasswordHash: "x", Role: core.RoleTechnician, Scope: core.Only(f.device.ClientID)}
	must(f.st.CreateUser(ctx, &scoped))
	sec := auth.NewSecret(auth.APITokenPrefix)
	must(f.st.CreateAPIToken(ctx, &core.APIToken{UserID: scoped.ID, Name: "scoped", Hash: auth.HashSecret(sec)}))
	f.tokens["scoped"] = sec
	dev, err := f.st.GetDevice(ctx, f.device.ID)
	must(err)

	// A one-off window of the own client, active now.
	now := time.Now().UTC()
	var w service.MaintenanceWindow
	body := `{"scope":"client","target_id":` + itoa(dev.ClientID) + `,"title":"Serverumzug","start":"` +
		now.Add(-time.Minute).Format(time.RFC3339) + `","end":"` + now.Add(time.Hour).Format(time.RFC3339) + `"}`
	if st := f.sendJSON(t, "POST", "/api/v1/maintenance", "scoped", body, &w); st != 201 || w.ID == 0 || !w.Active ||
		w.TargetName != "Acme" || w.CreatedBy != "user:scoped@example.com" || w.TimeZone != "Europe/Berlin" {
		t.Fatalf("create: %d %+v", st, w)
	}
	// A weekly one of the foreign device, made by the admin.
	var fw service.MaintenanceWindow
	body = `{"scope":"device","target_id":` + itoa(od.ID) + `,"title":"Patchday","repeat":"weekly","weekdays":[2,4,2],"from":"22:00","to":"02:00"}`
	if st := f.sendJSON(t, "POST", "/api/v1/maintenance", "admin", body, &fw); st != 201 || !slices.Equal(fw.Weekdays, []int{2, 4}) || fw.Start.IsZero() {
		t.Fatalf("admin create: %d %+v", st, fw)
	}

	// Tenant scope: the technician neither sees nor changes the foreign one.
	var list []service.MaintenanceWindow
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance", "scoped", "", &list); st != 200 || len(list) != 1 || list[0].ID != w.ID {
		t.Fatalf("scoped list: %d %+v", st, list)
	}
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance", "admin", "", &list); st != 200 || len(list) != 2 {
		t.Fatalf("admin list: %d %+v", st, list)
	}
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance?device="+itoa(dev.ID), "scoped", "", &list); st != 200 || len(list) != 1 {
		t.Fatalf("device filter: %d %+v", st, list)
	}
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/api/v1/maintenance/" + itoa(fw.ID), ""},
		{"PUT", "/api/v1/maintenance/" + itoa(fw.ID), `{"scope":"client","target_id":` + itoa(dev.ClientID) + `,"title":"x","repeat":"daily","from":"01:00","to":"02:00"}`},
		{"DELETE", "/api/v1/maintenance/" + itoa(fw.ID), ""},
		{"GET", "/api/v1/maintenance?device=" + itoa(od.ID), ""},
		{"GET", "/api/v1/maintenance?client=" + itoa(od.ClientID), ""},
		{"POST", "/api/v1/maintenance", `{"scope":"site","target_id":` + itoa(other.ID) + `,"title":"x","repeat":"daily","from":"01:00","to":"02:00"}`},
		{"PUT", "/api/v1/maintenance/" + itoa(w.ID), `{"scope":"device","target_id":` + itoa(od.ID) + `,"title":"x","repeat":"daily","from":"01:00","to":"02:00"}`},
	} {
		if st := f.sendJSON(t, c.method, c.path, "scoped", c.body, nil); st != 404 {
			t.Errorf("scoped %s %s: %d, want 404", c.method, c.path, st)
		}
	}
	// Read-only users read but do not change.
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance/"+itoa(w.ID), "readonly", "", nil); st != 200 {
		t.Errorf("readonly get: %d", st)
	}
	if st := f.sendJSON(t, "DELETE", "/api/v1/maintenance/"+itoa(w.ID), "readonly", "", nil); st != 403 {
		t.Errorf("readonly delete: %d, want 403", st)
	}

	// Validation names each field, in English and German.
	var ve struct {
		Error  string              `json:"error"`
		Fields []policy.FieldError `json:"fields"`
	}
	body = `{"scope":"planet","title":"","repeat":"monthly","month_day":32,"from":"25:00","to":"7:00","timezone":"Mars/Base"}`
	if st := f.sendJSON(t, "POST", "/api/v1/maintenance", "scoped", body, &ve); st != 400 {
		t.Fatalf("invalid: %d %+v", st, ve)
	}
	var fields []string
	for _, fe := range ve.Fields {
		fields = append(fields, fe.Field)
		if fe.Message.EN == "" || fe.Message.DE == "" || fe.Message.EN == fe.Message.DE {
			t.Errorf("field %s: message %+v, want English and German", fe.Field, fe.Message)
		}
	}
	slices.Sort(fields)
	if want := []string{"from", "month_day", "scope", "timezone", "title", "to"}; !slices.Equal(fields, want) {
		t.Errorf("refused fields = %v, want %v", fields, want)
	}
	body = `{"scope":"client","target_id":` + itoa(dev.ClientID) + `,"title":"x","start":"2030-01-02T00:00:00Z","end":"2030-01-01T00:00:00Z"}`
	if st := f.sendJSON(t, "POST", "/api/v1/maintenance", "scoped", body, &ve); st != 400 || len(ve.Fields) != 1 || ve.Fields[0].Field != "end" {
		t.Errorf("end before start: %d %+v", st, ve)
	}
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance?site=abc", "scoped", "", &ve); st != 400 || ve.Fields[0].Field != "site" {
		t.Errorf("bad filter: %d %+v", st, ve)
	}

	// Update and delete the own window; both audited.
	body = `{"scope":"site","target_id":` + itoa(dev.SiteID) + `,"title":"Monatsende","repeat":"monthly","month_day":31,"from":"23:00","to":"05:00","timezone":"UTC"}`
	var up service.MaintenanceWindow
	if st := f.sendJSON(t, "PUT", "/api/v1/maintenance/"+itoa(w.ID), "scoped", body, &up); st != 200 || up.Title != "Monatsende" ||
		up.MonthDay != 31 || up.End != nil || up.CreatedBy != "user:scoped@example.com" || up.TargetName != "HQ" {
		t.Fatalf("update: %d %+v", st, up)
	}
	if st := f.sendJSON(t, "DELETE", "/api/v1/maintenance/"+itoa(w.ID), "scoped", "", nil); st != 204 {
		t.Fatalf("delete: %d", st)
	}
	if st := f.sendJSON(t, "GET", "/api/v1/maintenance/"+itoa(w.ID), "admin", "", nil); st != 404 {
		t.Fatalf("after delete: %d", st)
	}
	entries, err := f.st.ListAudit(ctx, 50)
	must(err)
	var actions []string
	for _, e := range entries {
		if strings.HasPrefix(e.Action, "maintenance.") && e.Target == "maintenance:"+itoa(w.ID) {
			actions = append(actions, e.Action)
		}
	}
	slices.Sort(actions)
	if want := []string{"maintenance.create", "maintenance.delete", "maintenance.update"}; !slices.Equal(actions, want) {
		t.Errorf("audited %v, want %v", actions, want)
	}
}
