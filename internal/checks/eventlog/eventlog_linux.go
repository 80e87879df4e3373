package eventlog

import (
	"os"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

func osSources(p params) ([]logsrc.Source, error) {
	// journald's socket exists exactly while it runs; without it the
	// journal gets nothing new, so the syslog files are the truth.
	_, err := os.Stat("/run/systemd/journal/socket")
	return linuxSources(p, err == nil, logsrc.Exec(50*time.Second))
}
