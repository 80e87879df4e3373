package store

import (
	"context"
	"fmt"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// ListCheckStatesNamed returns the current state of every check named one
// of names on every device, ordered by device ID, name and key, in one
// query (the protection overview reads antivirus and backup of all devices).
func (s *DB) ListCheckStatesNamed(ctx context.Context, names ...string) ([]core.CheckState, error) {
	const op = "listing check states by name"
	if len(names) == 0 {
		return nil, nil
	}
	ph := make([]string, len(names))
	args := make([]any, len(names))
	for i, n := range names {
		ph[i], args[i] = fmt.Sprintf("$%d", i+1), n
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT ch.id, ch.device_id, ch.name, ch.key, cs.status, cs.value, cs.unit,
		       cs.message_en, cs.message_de, cs.at, cs.changed_at
		FROM checks ch JOIN check_state cs ON cs.check_id = ch.id
		WHERE ch.name IN (`+strings.Join(ph, ", ")+`)
		ORDER BY ch.device_id, ch.name, ch.key`, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanCheckStates(op, rows)
}
