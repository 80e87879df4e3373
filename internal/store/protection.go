package store

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// ListCheckStatesNamed returns the current state of every check named one
// of names on the given devices (nil: on every device), ordered by device
// ID, name and key, in one query (the protection overview reads antivirus
// and backup of all devices, a page of the device list those of its rows).
func (s *DB) ListCheckStatesNamed(ctx context.Context, devices []int64, names ...string) ([]core.CheckState, error) {
	const op = "listing check states by name"
	if len(names) == 0 || devices != nil && len(devices) == 0 {
		return nil, nil
	}
	f := &deviceListFilter{}
	where := in(f, "ch.name", names)
	if devices != nil {
		where += " AND " + in(f, "ch.device_id", devices)
	}
	rows, err := s.db.QueryContext(ctx, `
		SELECT ch.id, ch.device_id, ch.name, ch.key, cs.status, cs.value, cs.unit,
		       cs.message_en, cs.message_de, cs.at, cs.changed_at
		FROM checks ch JOIN check_state cs ON cs.check_id = ch.id
		WHERE `+where+`
		ORDER BY ch.device_id, ch.name, ch.key`, f.args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	return s.scanCheckStates(op, rows)
}
