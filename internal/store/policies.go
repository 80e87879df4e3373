package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Policies keep their check entries, tasks and desired software states as
// JSON arrays: they are read and written as a whole and never queried by
// entry. Each task, script check and software entry carries the server's
// MAC over it and the policy's ID (scriptmac), which the policy resolver
// checks before it sends one.

const policyColumns = `id, name, description_en, description_de, COALESCE(builtin, ''), checks, tasks, software, patch, created_at, updated_at`

// storedTask and storedCheck are entries as stored, with their MAC.
type storedTask struct {
	core.PolicyTask
	Sealed    string `json:"sealed,omitempty"` // the Secrets, as JSON, sealed
	StoredMAC []byte `json:"mac,omitempty"`
}

type storedCheck struct {
	core.PolicyCheck
	StoredMAC []byte `json:"mac,omitempty"`
}

type storedSoftware struct {
	core.PolicySoftware
	StoredMAC []byte `json:"mac,omitempty"`
}

type rowScanner interface{ Scan(...any) error }

func (s *DB) scanPolicy(r rowScanner) (core.Policy, error) {
	var p core.Policy
	var checks, tasks, software string
	var patch sql.NullString
	var cAt, uAt int64
	if err := r.Scan(&p.ID, &p.Name, &p.Description.EN, &p.Description.DE, &p.Builtin, &checks, &tasks, &software, &patch, &cAt, &uAt); err != nil {
		return p, err
	}
	if patch.Valid {
		p.Patch = new(core.PatchPolicy)
		if err := json.Unmarshal([]byte(patch.String), p.Patch); err != nil {
			return p, fmt.Errorf("policy %d: patch settings: %w", p.ID, err)
		}
	}
	var err error
	if p.Checks, err = s.decodeChecks(checks); err != nil {
		return p, fmt.Errorf("policy %d: %w", p.ID, err)
	}
	if p.Tasks, err = s.decodeTasks(tasks); err != nil {
		return p, fmt.Errorf("policy %d: %w", p.ID, err)
	}
	if p.Software, err = decodeSoftware(software); err != nil {
		return p, fmt.Errorf("policy %d: %w", p.ID, err)
	}
	p.CreatedAt, p.UpdatedAt = fromMS(cAt), fromMS(uAt)
	return p, nil
}

// checksJSON encodes check entries with their secret parameters sealed.
func (s *DB) checksJSON(cs []core.PolicyCheck) (string, error) {
	cs, err := s.sealChecks(cs)
	if err != nil {
		return "", err
	}
	b, err := json.Marshal(cs)
	if err != nil {
		return "", fmt.Errorf("store: encoding policy checks: %w", err)
	}
	return string(b), nil
}

// policyJSON encodes a policy's checks (secrets sealed) and tasks (their
// secret parameters sealed by the service) with the MACs of its script
// checks and tasks under policy id.
func (s *DB) policyJSON(id int64, p *core.Policy) (checks, tasks string, err error) {
	cs, err := s.sealChecks(p.Checks)
	if err != nil {
		return "", "", err
	}
	sc := make([]storedCheck, len(cs))
	for i, c := range cs {
		sc[i].PolicyCheck = c
		if c.Type == protocol.CheckScript {
			sc[i].StoredMAC = s.macs.Check(id, p.Checks[i]) // over the clear entry, as read back
		}
	}
	st := make([]storedTask, len(p.Tasks))
	for i, t := range p.Tasks {
		st[i] = storedTask{PolicyTask: t, StoredMAC: s.macs.Task(id, t)}
		if len(t.Secrets) > 0 {
			b, _ := json.Marshal(t.Secrets) // strings: cannot fail
			if st[i].Sealed, err = s.sealText(string(b)); err != nil {
				return "", "", err
			}
		}
	}
	cb, err := json.Marshal(sc)
	if err != nil {
		return "", "", fmt.Errorf("store: encoding policy checks: %w", err)
	}
	tb, err := json.Marshal(st)
	if err != nil {
		return "", "", fmt.Errorf("store: encoding policy tasks: %w", err)
	}
	return string(cb), string(tb), nil
}

// softwareJSON encodes desired software entries with their MACs under
// policy id.
func (s *DB) softwareJSON(id int64, sw []core.PolicySoftware) (string, error) {
	st := make([]storedSoftware, len(sw))
	for i, e := range sw {
		st[i] = storedSoftware{PolicySoftware: e, StoredMAC: s.macs.Software(id, e)}
	}
	b, err := json.Marshal(st)
	if err != nil {
		return "", fmt.Errorf("store: encoding policy software: %w", err)
	}
	return string(b), nil
}

// decodeSoftware parses stored software entries with their MACs.
func decodeSoftware(raw string) ([]core.PolicySoftware, error) {
	var st []storedSoftware
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("parsing software: %w", err)
	}
	if len(st) == 0 {
		return nil, nil
	}
	out := make([]core.PolicySoftware, len(st))
	for i, e := range st {
		out[i] = e.PolicySoftware
		out[i].MAC = e.StoredMAC
	}
	return out, nil
}

// decodeTasks parses stored tasks with their MACs and opens their secrets.
func (s *DB) decodeTasks(raw string) ([]core.PolicyTask, error) {
	var st []storedTask
	if err := json.Unmarshal([]byte(raw), &st); err != nil {
		return nil, fmt.Errorf("parsing tasks: %w", err)
	}
	if len(st) == 0 {
		return nil, nil
	}
	out := make([]core.PolicyTask, len(st))
	for i, t := range st {
		out[i] = t.PolicyTask
		out[i].MAC = t.StoredMAC
		if t.Sealed == "" {
			continue
		}
		clear, err := s.openText(t.Sealed)
		if err == nil {
			err = json.Unmarshal([]byte(clear), &out[i].Secrets)
		}
		if err != nil {
			return nil, fmt.Errorf("task %q: secret parameters: %w", t.Name, err)
		}
	}
	return out, nil
}

// ScriptVersionAuthentic, PolicyTaskAuthentic and PolicyCheckAuthentic
// implement core.ScriptAuth with the MAC keys of secret.key.
func (s *DB) ScriptVersionAuthentic(sc core.Script) bool { return s.macs.VersionOK(sc) }

// PolicyTaskAuthentic checks a task's MAC (core.ScriptAuth).
func (s *DB) PolicyTaskAuthentic(policyID int64, t core.PolicyTask) bool {
	return s.macs.TaskOK(policyID, t)
}

// PolicySoftwareAuthentic checks a desired software entry's MAC
// (core.ScriptAuth).
func (s *DB) PolicySoftwareAuthentic(policyID int64, sw core.PolicySoftware) bool {
	return s.macs.SoftwareOK(policyID, sw)
}

// PackageAuthentic checks a package definition's MAC (core.ScriptAuth).
func (s *DB) PackageAuthentic(p core.Package) bool { return s.macs.PackageOK(p) }

// PolicyCheckAuthentic checks a script check's MAC (core.ScriptAuth).
func (s *DB) PolicyCheckAuthentic(policyID int64, c core.PolicyCheck) bool {
	return s.macs.CheckOK(policyID, c)
}

// patchJSON encodes a policy's patch settings; nil is NULL.
func patchJSON(pp *core.PatchPolicy) (any, error) {
	if pp == nil {
		return nil, nil
	}
	b, err := json.Marshal(pp)
	if err != nil {
		return nil, fmt.Errorf("store: encoding policy patch settings: %w", err)
	}
	return string(b), nil
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreatePolicy inserts p and sets its ID and times.
func (s *DB) CreatePolicy(ctx context.Context, p *core.Policy) error {
	at := now()
	err := s.inTx(ctx, "creating policy", func(tx *sql.Tx) error {
		// The MACs cover the ID, which the INSERT gives.
		if err := tx.QueryRowContext(ctx, `
			INSERT INTO policies (name, description_en, description_de, builtin, checks, created_at, updated_at)
			VALUES ($1, $2, $3, $4, '[]', $5, $5) RETURNING id`,
			p.Name, p.Description.EN, p.Description.DE, nullIfEmpty(p.Builtin), ms(at)).Scan(&p.ID); err != nil {
			return s.wrap("creating policy", err)
		}
		checks, tasks, err := s.policyJSON(p.ID, p)
		if err != nil {
			return err
		}
		software, err := s.softwareJSON(p.ID, p.Software)
		if err != nil {
			return err
		}
		patch, err := patchJSON(p.Patch)
		if err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `UPDATE policies SET checks = $1, tasks = $2, software = $3, patch = $4 WHERE id = $5`,
			checks, tasks, software, patch, p.ID)
		return s.wrap("creating policy", err)
	})
	if err != nil {
		p.ID = 0
		return err
	}
	p.CreatedAt, p.UpdatedAt = at, at
	return nil
}

// GetPolicy returns one policy; ErrNotFound if unknown.
func (s *DB) GetPolicy(ctx context.Context, id int64) (core.Policy, error) {
	p, err := s.scanPolicy(s.db.QueryRowContext(ctx, `SELECT `+policyColumns+` FROM policies WHERE id = $1`, id))
	return p, s.wrap(fmt.Sprintf("getting policy %d", id), err)
}

// ListPolicies returns all policies, built-in ones first, then by name.
func (s *DB) ListPolicies(ctx context.Context) ([]core.Policy, error) {
	const op = "listing policies"
	rows, err := s.db.QueryContext(ctx, `SELECT `+policyColumns+` FROM policies
		ORDER BY CASE WHEN builtin IS NULL THEN 1 ELSE 0 END, name, id`)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	var out []core.Policy
	for rows.Next() {
		p, err := s.scanPolicy(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, p)
	}
	return out, s.wrap(op, rows.Err())
}

// UpdatePolicy replaces name, description, checks, tasks, software and
// patch settings and sets UpdatedAt.
func (s *DB) UpdatePolicy(ctx context.Context, p *core.Policy) error {
	checks, tasks, err := s.policyJSON(p.ID, p)
	if err != nil {
		return err
	}
	software, err := s.softwareJSON(p.ID, p.Software)
	if err != nil {
		return err
	}
	patch, err := patchJSON(p.Patch)
	if err != nil {
		return err
	}
	at := now()
	res, err := s.db.ExecContext(ctx, `
		UPDATE policies SET name = $1, description_en = $2, description_de = $3, checks = $4, tasks = $5, software = $6,
			patch = $7, updated_at = $8
		WHERE id = $9`, p.Name, p.Description.EN, p.Description.DE, checks, tasks, software, patch, ms(at), p.ID)
	if err != nil {
		return s.wrap(fmt.Sprintf("updating policy %d", p.ID), err)
	}
	if n, err := res.RowsAffected(); err != nil {
		return s.wrap("updating policy", err)
	} else if n == 0 {
		return fmt.Errorf("store: updating policy %d: %w", p.ID, core.ErrNotFound)
	}
	p.UpdatedAt = at
	return nil
}

// DeletePolicy removes a policy and (by cascade, explicitly for engines
// without foreign keys enforced) its assignments.
func (s *DB) DeletePolicy(ctx context.Context, id int64) error {
	op := fmt.Sprintf("deleting policy %d", id)
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM policy_assignments WHERE policy_id = $1`, id); err != nil {
			return s.wrap(op, err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM policies WHERE id = $1`, id)
		if err != nil {
			return s.wrap(op, err)
		}
		if n, err := res.RowsAffected(); err != nil {
			return s.wrap(op, err)
		} else if n == 0 {
			return fmt.Errorf("store: %s: %w", op, core.ErrNotFound)
		}
		return nil
	})
}

// EnsureBuiltinPolicy inserts or refreshes the built-in policy p.Builtin.
// A user policy that took the template's name keeps it; the template then
// gets its key in parentheses.
func (s *DB) EnsureBuiltinPolicy(ctx context.Context, p *core.Policy) error {
	if p.Builtin == "" {
		return fmt.Errorf("store: ensure built-in policy: no key: %w", core.ErrInvalid)
	}
	checks, err := s.checksJSON(p.Checks)
	if err != nil {
		return err
	}
	op := "ensuring built-in policy " + p.Builtin
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		at := ms(now())
		var id int64
		err := tx.QueryRowContext(ctx, `SELECT id FROM policies WHERE builtin = $1`, p.Builtin).Scan(&id)
		name := p.Name
		var taken int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM policies WHERE name = $1 AND (builtin IS NULL OR builtin <> $2)`,
			name, p.Builtin).Scan(&taken); err != nil {
			return s.wrap(op, err)
		}
		if taken > 0 {
			name += " (" + p.Builtin + ")"
		}
		switch {
		case err == sql.ErrNoRows:
			if err := tx.QueryRowContext(ctx, `
				INSERT INTO policies (name, description_en, description_de, builtin, checks, created_at, updated_at)
				VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
				name, p.Description.EN, p.Description.DE, p.Builtin, checks, at).Scan(&id); err != nil {
				return s.wrap(op, err)
			}
		case err != nil:
			return s.wrap(op, err)
		default:
			if _, err := tx.ExecContext(ctx, `
				UPDATE policies SET name = $1, description_en = $2, description_de = $3, checks = $4, updated_at = $5
				WHERE id = $6 AND (name <> $1 OR description_en <> $2 OR description_de <> $3 OR checks <> $4)`,
				name, p.Description.EN, p.Description.DE, checks, at, id); err != nil {
				return s.wrap(op, err)
			}
		}
		// The software entries' MACs cover the ID, known only now.
		software, err := s.softwareJSON(id, p.Software)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE policies SET software = $1 WHERE id = $2 AND software <> $1`, software, id); err != nil {
			return s.wrap(op, err)
		}
		patch, err := patchJSON(p.Patch)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE policies SET patch = $1 WHERE id = $2 AND patch IS DISTINCT FROM $1`, patch, id); err != nil {
			return s.wrap(op, err)
		}
		p.ID, p.Name = id, name
		return nil
	})
}

// ListAssignments returns the policies assigned to one target by position.
func (s *DB) ListAssignments(ctx context.Context, level string, targetID int64) ([]core.PolicyAssignment, error) {
	const op = "listing policy assignments"
	rows, err := s.db.QueryContext(ctx, `
		SELECT a.level, a.target_id, a.policy_id, p.name, a.position
		FROM policy_assignments a JOIN policies p ON p.id = a.policy_id
		WHERE a.level = $1 AND a.target_id = $2
		ORDER BY a.position, a.policy_id`, level, targetID)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.PolicyAssignment{}
	for rows.Next() {
		var a core.PolicyAssignment
		if err := rows.Scan(&a.Level, &a.TargetID, &a.PolicyID, &a.PolicyName, &a.Position); err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, a)
	}
	return out, s.wrap(op, rows.Err())
}

// SetAssignments replaces a target's assignments, atomically. A policy ID
// given twice is an ErrInvalid; an unknown one ErrNotFound.
func (s *DB) SetAssignments(ctx context.Context, level string, targetID int64, policyIDs []int64) error {
	op := fmt.Sprintf("setting %s %d policies", level, targetID)
	seen := map[int64]bool{}
	for _, id := range policyIDs {
		if seen[id] {
			return fmt.Errorf("store: %s: policy %d given twice: %w", op, id, core.ErrInvalid)
		}
		seen[id] = true
	}
	return s.inTx(ctx, op, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM policy_assignments WHERE level = $1 AND target_id = $2`, level, targetID); err != nil {
			return s.wrap(op, err)
		}
		for i, id := range policyIDs {
			if _, err := tx.ExecContext(ctx, `
				INSERT INTO policy_assignments (level, target_id, policy_id, position) VALUES ($1, $2, $3, $4)`,
				level, targetID, id, i); err != nil {
				return s.wrap(op, err)
			}
		}
		return nil
	})
}
