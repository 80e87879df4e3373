package svcmgr

import (
	"bufio"
	"fmt"
	"strings"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// unitFromProps builds a service from systemd unit properties, named and
// formatted as `systemctl show` prints them (booleans as yes/no).
func unitFromProps(p map[string]string) Service {
	s := Service{Name: p["Id"], Description: p["Description"]}
	s.StartType = unitStartType(p["UnitFileState"])
	s.Auto = s.StartType == protocol.StartAutomatic
	active := p["ActiveState"]
	switch {
	case active == "active" || active == "activating" || active == "reloading":
		s.Running = true
	case active == "failed":
		// A failed unit is never fine, whatever its type.
	case p["Type"] == "oneshot":
		// A oneshot unit runs to completion; only a failure counts.
		s.Running = true
	case p["ConditionResult"] == "no" && p["Result"] == "success" && p["ConditionTimestamp"] != "" && p["ConditionTimestamp"] != "0":
		// Its start condition was unmet (e.g. rsync without
		// /etc/rsyncd.conf): not running by design. A unit never started
		// has ConditionResult "no" too, but no time of the test (D-Bus
		// says 0, systemctl show nothing).
		s.Running = true
	}
	s.State = active
	if sub := p["SubState"]; sub != "" {
		s.State += "/" + sub
	}
	if res := p["Result"]; res != "" && res != "success" {
		s.State += ", result " + res
	}
	return s
}

// unitStartType maps a unit file state: enabled units start at boot,
// disabled ones only when asked, masked ones never. Other states (static,
// indirect, generated, transient) are systemd's own words.
func unitStartType(state string) string {
	switch state {
	case "enabled", "enabled-runtime":
		return protocol.StartAutomatic
	case "disabled":
		return protocol.StartManual
	case "masked", "masked-runtime":
		return protocol.StartDisabled
	}
	return state
}

// unitName adds the .service suffix to a bare service name.
func unitName(name string) string {
	if strings.HasSuffix(name, ".service") {
		return name
	}
	return name + ".service"
}

// parseShow parses `systemctl show` output: KEY=VALUE lines, units
// separated by blank lines.
func parseShow(out string) []map[string]string {
	var units []map[string]string
	cur := map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 64*1024), 1024*1024)
	for sc.Scan() {
		line := sc.Text()
		if line == "" {
			if len(cur) > 0 {
				units = append(units, cur)
				cur = map[string]string{}
			}
			continue
		}
		if k, v, ok := strings.Cut(line, "="); ok {
			cur[k] = v
		}
	}
	if len(cur) > 0 {
		units = append(units, cur)
	}
	return units
}

// propString formats a D-Bus property value as `systemctl show` does, so
// that both feed unitFromProps the same way.
func propString(v any) string {
	switch x := v.(type) {
	case bool:
		if x {
			return "yes"
		}
		return "no"
	case string:
		return x
	default:
		return fmt.Sprint(x)
	}
}
