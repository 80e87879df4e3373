package agent

import "strings"

// pmsetHasBattery reads `pmset -g batt` output: notebooks list an
// "-InternalBattery-0" line, desktops only the power source.
func pmsetHasBattery(out string) bool {
	return strings.Contains(out, "InternalBattery")
}
