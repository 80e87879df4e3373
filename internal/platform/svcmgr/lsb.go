package svcmgr

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
)

// lsbStatus words an LSB init script status exit code.
func lsbStatus(code int) (running bool, state string) {
	switch code {
	case 0:
		return true, "running"
	case 1:
		return false, "dead, pid file exists"
	case 2:
		return false, "dead, lock file exists"
	case 3:
		return false, "stopped"
	case 4:
		return true, "status unknown"
	default:
		return false, fmt.Sprintf("status exit code %d", code)
	}
}

// lsbDescription reads the Short-Description (or else the first line of
// the Description) of an init script's LSB header.
func lsbDescription(script []byte) string {
	var desc string
	in := false
	sc := bufio.NewScanner(bytes.NewReader(script))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "### BEGIN INIT INFO":
			in = true
		case line == "### END INIT INFO":
			return desc
		case in:
			k, v, ok := strings.Cut(strings.TrimSpace(strings.TrimPrefix(line, "#")), ":")
			switch {
			case !ok:
			case k == "Short-Description":
				return strings.TrimSpace(v)
			case k == "Description" && desc == "":
				desc = strings.TrimSpace(v)
			}
		}
	}
	return desc
}
