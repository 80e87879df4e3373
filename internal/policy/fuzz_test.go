package policy

import (
	"encoding/json"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
)

// FuzzPolicy decodes a policy as the API receives it, normalizes and
// validates it and checks its privileged parameters: nothing may panic, an
// administrator is never refused, and a valid policy saved unchanged by
// anyone is never refused either.
func FuzzPolicy(f *testing.F) {
	for _, s := range []string{
		`{"name":"Server","checks":[{"name":"cpu","type":"cpu","params":{"warn":80,"fail":95}}]}`,
		`{"name":"b","checks":[{"name":"b","type":"backup","params":{"products":[{"type":"restic","repository":"/srv","binary":"/tmp/x.sh"}]},"schedule":{"class":"daily","at":"07:00"}}]}`,
		`{"name":"e","checks":[{"name":"e","type":"eventlog","params":{"source":"files","files":["/etc/shadow"]}},{"name":"s","type":"services","params":{"restart":true}}]}`,
		`{"name":"x","checks":[{"name":"e","exclude":true},{"name":"","type":""},{"name":"a","type":"nope","params":[1]}]}`,
		`{"name":"","checks":null}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var p core.Policy
		if json.Unmarshal(b, &p) != nil {
			return
		}
		Normalize(&p)
		valid := Validate(p) == nil
		if err := AuthorizePrivileged(true, nil, p.Checks); err != nil {
			t.Fatalf("administrator refused: %v", err)
		}
		_ = AuthorizePrivileged(false, nil, p.Checks)
		if valid {
			if err := AuthorizePrivileged(false, p.Checks, p.Checks); err != nil {
				t.Fatalf("an unchanged valid policy refused: %v", err)
			}
		}
	})
}
