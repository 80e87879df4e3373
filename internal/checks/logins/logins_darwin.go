package logins

import (
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// predicate selects authentication failures of the programs that log them.
const predicate = `(process == "sshd" OR process == "sshd-session" OR process == "sudo" OR process == "su" OR process == "login") AND ` +
	`(eventMessage CONTAINS[c] "failed" OR eventMessage CONTAINS[c] "invalid user" OR eventMessage CONTAINS[c] "incorrect password" OR eventMessage CONTAINS[c] "authentication error")`

func osSources(p params) ([]logsrc.Source, error) {
	if len(p.Files) > 0 {
		return fileSources(p)
	}
	return []logsrc.Source{{Name: "unified", Reader: logsrc.Unified{Run: logsrc.Exec(50 * time.Second), Predicate: predicate}}}, nil
}

// macOS logs failed log-ins unconditionally.
var osAudit auditFunc
