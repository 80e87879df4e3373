package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Policies keep their check entries as one JSON array: they are read and
// written as a whole and never queried by entry.

const policyColumns = `id, name, description_en, description_de, COALESCE(builtin, ''), checks, created_at, updated_at`

type rowScanner interface{ Scan(...any) error }

func (s *DB) scanPolicy(r rowScanner) (core.Policy, error) {
	var p core.Policy
	var checks string
	var cAt, uAt int64
	if err := r.Scan(&p.ID, &p.Name, &p.Description.EN, &p.Description.DE, &p.Builtin, &checks, &cAt, &uAt); err != nil {
		return p, err
	}
	var err error
	if p.Checks, err = s.decodeChecks(checks); err != nil {
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

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// CreatePolicy inserts p and sets its ID and times.
func (s *DB) CreatePolicy(ctx context.Context, p *core.Policy) error {
	checks, err := s.checksJSON(p.Checks)
	if err != nil {
		return err
	}
	at := now()
	err = s.db.QueryRowContext(ctx, `
		INSERT INTO policies (name, description_en, description_de, builtin, checks, created_at, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id`,
		p.Name, p.Description.EN, p.Description.DE, nullIfEmpty(p.Builtin), checks, ms(at)).Scan(&p.ID)
	if err != nil {
		return s.wrap("creating policy", err)
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

// UpdatePolicy replaces name, description and checks and sets UpdatedAt.
func (s *DB) UpdatePolicy(ctx context.Context, p *core.Policy) error {
	checks, err := s.checksJSON(p.Checks)
	if err != nil {
		return err
	}
	at := now()
	res, err := s.db.ExecContext(ctx, `
		UPDATE policies SET name = $1, description_en = $2, description_de = $3, checks = $4, updated_at = $5
		WHERE id = $6`, p.Name, p.Description.EN, p.Description.DE, checks, ms(at), p.ID)
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
