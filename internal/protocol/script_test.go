package protocol

import "testing"

// TestScriptArgsRunAs: a script runs as SYSTEM/root (also when run_as is
// empty) or as the logged-on user; anything else is refused.
func TestScriptArgsRunAs(t *testing.T) {
	for runAs, ok := range map[string]bool{"": true, RunAsSystem: true, RunAsUser: true, "root": false, "User": false} {
		err := ScriptArgs{RunID: "r1", Language: LangSh, Body: "id", RunAs: runAs}.Validate()
		if (err == nil) != ok {
			t.Errorf("run_as %q: %v", runAs, err)
		}
	}
}
