package logsrc

import (
	"errors"
	"strings"
)

// NoSourceError says that none of the log sources a check could read exists
// here (no journal, none of the syslog files); it is errors.ErrUnsupported,
// so the check reports "unsupported" and says why in both languages.
type NoSourceError struct {
	Files []string // the files looked for
}

func (e *NoSourceError) Error() string { return e.EN() }

// Unwrap makes errors.Is(err, errors.ErrUnsupported) true.
func (e *NoSourceError) Unwrap() error { return errors.ErrUnsupported }

// EN and DE word the reason for a result message.
func (e *NoSourceError) EN() string {
	if len(e.Files) == 0 {
		return "no log source is known for this system; name log files in the check's \"files\" parameter"
	}
	return "there is no systemd journal and none of " + strings.Join(e.Files, ", ")
}

func (e *NoSourceError) DE() string {
	if len(e.Files) == 0 {
		return "für dieses System ist keine Protokollquelle bekannt; Protokolldateien im Parameter \"files\" der Prüfung angeben"
	}
	return "es gibt kein systemd-Journal und keine der Dateien " + strings.Join(e.Files, ", ")
}
