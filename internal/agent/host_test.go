package agent

import "testing"

func TestPmsetHasBattery(t *testing.T) {
	notebook := "Now drawing from 'AC Power'\n -InternalBattery-0 (id=23527523)\t100%; charged; 0:00 remaining present: true\n"
	desktop := "Now drawing from 'AC Power'\n"
	if !pmsetHasBattery(notebook) || pmsetHasBattery(desktop) {
		t.Error("pmset output misread")
	}
}
