package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
)

// EnsureClientSite returns the client and site with these names, creating
// them on first use. Concurrent callers get the same rows: the insert does
// nothing when another caller won, and the select then finds its row.
func (s *DB) EnsureClientSite(ctx context.Context, client, site string) (core.Client, core.Site, error) {
	client, site = strings.TrimSpace(client), strings.TrimSpace(site)
	if client == "" || site == "" {
		return core.Client{}, core.Site{}, fmt.Errorf("store: ensure client/site: empty name: %w", core.ErrInvalid)
	}
	var c core.Client
	var st core.Site
	err := s.inTx(ctx, "ensure client/site", func(tx *sql.Tx) error {
		at := ms(now())
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO clients (name, created_at) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`,
			client, at); err != nil {
			return s.wrap("inserting client", err)
		}
		var cAt int64
		if err := tx.QueryRowContext(ctx, `SELECT id, name, created_at FROM clients WHERE name = $1`, client).
			Scan(&c.ID, &c.Name, &cAt); err != nil {
			return s.wrap("reading client", err)
		}
		c.CreatedAt = fromMS(cAt)
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO sites (client_id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (client_id, name) DO NOTHING`,
			c.ID, site, at); err != nil {
			return s.wrap("inserting site", err)
		}
		var sAt int64
		if err := tx.QueryRowContext(ctx, `SELECT id, client_id, name, created_at FROM sites WHERE client_id = $1 AND name = $2`,
			c.ID, site).Scan(&st.ID, &st.ClientID, &st.Name, &sAt); err != nil {
			return s.wrap("reading site", err)
		}
		st.CreatedAt = fromMS(sAt)
		st.ClientName = c.Name
		return nil
	})
	if err != nil {
		return core.Client{}, core.Site{}, err
	}
	return c, st, nil
}

// ListClients returns all clients that are not deleted, by name.
func (s *DB) ListClients(ctx context.Context) ([]core.Client, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+clientColumns+` WHERE deleted_at IS NULL ORDER BY name, id`)
	if err != nil {
		return nil, s.wrap("listing clients", err)
	}
	defer rows.Close()
	var out []core.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, s.wrap("listing clients", err)
		}
		out = append(out, c)
	}
	return out, s.wrap("listing clients", rows.Err())
}

// ListSites returns all sites that are not deleted with their client names,
// by client and site name.
func (s *DB) ListSites(ctx context.Context) ([]core.Site, error) {
	rows, err := s.db.QueryContext(ctx, `
		SELECT s.id, s.client_id, c.name, s.name, s.created_at
		FROM sites s JOIN clients c ON c.id = s.client_id
		WHERE s.deleted_at IS NULL
		ORDER BY c.name, s.name, s.id`)
	if err != nil {
		return nil, s.wrap("listing sites", err)
	}
	defer rows.Close()
	var out []core.Site
	for rows.Next() {
		var st core.Site
		var at int64
		if err := rows.Scan(&st.ID, &st.ClientID, &st.ClientName, &st.Name, &at); err != nil {
			return nil, s.wrap("listing sites", err)
		}
		st.CreatedAt = fromMS(at)
		out = append(out, st)
	}
	return out, s.wrap("listing sites", rows.Err())
}
