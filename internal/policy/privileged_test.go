package policy

import (
	"errors"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

func TestAuthorizePrivileged(t *testing.T) {
	var none core.Schedule
	stored := []core.PolicyCheck{
		chk("b", "backup", `{"products":[{"type":"restic","repository":"/srv/r","binary":"/opt/restic"}]}`, none),
		chk("cpu", "cpu", `{"warn":80}`, none),
	}
	for _, tc := range []struct {
		name   string
		checks []core.PolicyCheck
		fields []string // refused; none = allowed
	}{
		{"nothing privileged", []core.PolicyCheck{chk("cpu", "cpu", `{"warn":90}`, none), chk("svc", "services", `{"restart":false}`, none)}, nil},
		{"kept unchanged, reordered", []core.PolicyCheck{chk("cpu", "cpu", ``, none),
			chk("b", "backup", `{ "products": [ {"binary":"/opt/restic","type":"restic","repository":"/srv/r"} ] }`, core.Schedule{Class: core.ScheduleDaily})}, nil},
		{"removed", nil, nil},
		{"changed binary", []core.PolicyCheck{chk("b", "backup", `{"products":[{"type":"restic","repository":"/srv/r","binary":"/tmp/x.sh"}]}`, none)},
			[]string{"checks[0].params.products[0].binary", "checks[0].params.products[0].repository"}},
		{"other field of the check changed", []core.PolicyCheck{chk("b", "backup", `{"products":[{"type":"restic","repository":"/srv/r","binary":"/opt/restic"}],"max_age_hours":30}`, none)},
			[]string{"checks[0].params.products[0].binary", "checks[0].params.products[0].repository"}},
		{"copied under a new name", []core.PolicyCheck{stored[0], chk("b2", "backup", string(stored[0].Params), none)},
			[]string{"checks[1].params.products[0].binary", "checks[1].params.products[0].repository"}},
		{"eventlog files", []core.PolicyCheck{chk("e", "eventlog", `{"source":"files","files":["/etc/shadow"]}`, none)}, []string{"checks[0].params.files"}},
		{"services restart", []core.PolicyCheck{chk("s", "services", `{"restart":true}`, none)}, []string{"checks[0].params.restart"}},
		{"exclusion", []core.PolicyCheck{{Name: "b", Exclude: true}}, nil},
		{"a watched program is a name pattern", []core.PolicyCheck{chk("p", "program", `{"name":"*AnyDesk*","expect":"absent","publisher":"*"}`, none)}, nil},
	} {
		err := AuthorizePrivileged(false, stored, tc.checks)
		if tc.fields == nil {
			if err != nil {
				t.Errorf("%s: %v", tc.name, err)
			}
			if err := AuthorizePrivileged(true, stored, tc.checks); err != nil {
				t.Errorf("%s by an administrator: %v", tc.name, err)
			}
			continue
		}
		var pe *PrivilegeError
		if !errors.As(err, &pe) || !errors.Is(err, core.ErrForbidden) {
			t.Errorf("%s: %v, want a PrivilegeError", tc.name, err)
			continue
		}
		var got []string
		for _, f := range pe.Fields {
			got = append(got, f.Field)
			if f.Message.EN == "" || f.Message.DE == "" || !strings.Contains(pe.In("de"), "nur ein Administrator") {
				t.Errorf("%s: message %+v", tc.name, f.Message)
			}
		}
		if strings.Join(got, " ") != strings.Join(tc.fields, " ") {
			t.Errorf("%s: refused %v, want %v", tc.name, got, tc.fields)
		}
		if err := AuthorizePrivileged(true, stored, tc.checks); err != nil {
			t.Errorf("%s by an administrator: %v", tc.name, err)
		}
	}
}
