package svcmgr

import "testing"

func TestStateText(t *testing.T) {
	for state, want := range map[string]string{
		"stopped":                         "beendet",
		"stopped, delayed start":          "beendet, verzögerter Start",
		"inactive/dead":                   "inaktiv/beendet",
		"failed/failed, result exit-code": "fehlgeschlagen/fehlgeschlagen, Ergebnis exit-code",
		"activating/auto-restart":         "wird gestartet/auto-restart",
	} {
		if got := StateText(state); got.DE != want || got.EN != state {
			t.Errorf("StateText(%q) = %+v, want DE %q", state, got, want)
		}
	}
}
