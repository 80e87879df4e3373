package eventlog

import (
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

func osSources(p params) ([]logsrc.Source, error) {
	if len(p.Files) > 0 {
		return fileSources(p)
	}
	return []logsrc.Source{{Name: "unified", Reader: logsrc.Unified{Run: logsrc.Exec(50 * time.Second), Predicate: p.Predicate}}}, nil
}
