package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/stdlib"
)

// Cluster support: several `wacht serve` nodes on one PostgreSQL database.
// The nodes know each other through heartbeat rows (cluster_nodes), record
// which node holds which agent's websocket (agent_sessions) and exchange
// messages through LISTEN/NOTIFY on one channel per database and schema.
// None of it runs on SQLite, which serves a single node.

// maxNotify is the largest payload sent inline; PostgreSQL refuses
// notifications of 8000 bytes or more, larger ones go through
// cluster_messages and the notification carries "#<row id>".
const maxNotify = 7900

// Clustered reports whether several nodes can share this database.
func (s *DB) Clustered() bool { return s.dialect == Postgres }

// NodeBeat records that node is alive at now and reachable by the other
// nodes at url, and forgets nodes not seen since deadBefore, with their
// agent sessions and with relayed messages older than deadBefore that
// nobody picked up.
func (s *DB) NodeBeat(ctx context.Context, node, url string, now, deadBefore time.Time) error {
	return s.inTx(ctx, "node heartbeat", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO cluster_nodes (id, started_at, seen_at, url) VALUES ($1, $2, $2, $3)
			ON CONFLICT (id) DO UPDATE SET seen_at = excluded.seen_at, url = excluded.url`, node, ms(now), url); err != nil {
			return s.wrap("node heartbeat", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE node_id IN
			(SELECT id FROM cluster_nodes WHERE seen_at < $1)`, ms(deadBefore)); err != nil {
			return s.wrap("node heartbeat: sessions of dead nodes", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cluster_nodes WHERE seen_at < $1`, ms(deadBefore)); err != nil {
			return s.wrap("node heartbeat: dead nodes", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cluster_messages WHERE created_at < $1`, ms(deadBefore)); err != nil {
			return s.wrap("node heartbeat: stale messages", err)
		}
		return nil
	})
}

// NodeLeave removes a node that shuts down, with its agent sessions.
func (s *DB) NodeLeave(ctx context.Context, node string) error {
	return s.inTx(ctx, "node leave", func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM agent_sessions WHERE node_id = $1`, node); err != nil {
			return s.wrap("node leave", err)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM cluster_nodes WHERE id = $1`, node); err != nil {
			return s.wrap("node leave", err)
		}
		return nil
	})
}

// AttachSession records that node holds the device's websocket now.
func (s *DB) AttachSession(ctx context.Context, deviceID int64, node string) error {
	_, err := s.db.ExecContext(ctx, `INSERT INTO agent_sessions (device_id, node_id, since) VALUES ($1, $2, $3)
		ON CONFLICT (device_id) DO UPDATE SET node_id = excluded.node_id, since = excluded.since`,
		deviceID, node, ms(time.Now()))
	return s.wrap("attach session", err)
}

// DetachSession forgets the device's session on node; a newer session on
// another node stays.
func (s *DB) DetachSession(ctx context.Context, deviceID int64, node string) error {
	_, err := s.db.ExecContext(ctx, `DELETE FROM agent_sessions WHERE device_id = $1 AND node_id = $2`, deviceID, node)
	return s.wrap("detach session", err)
}

// SessionNode returns the node holding the device's session among nodes
// seen since aliveSince, and the URL it published; core.ErrNotFound if
// none does.
func (s *DB) SessionNode(ctx context.Context, deviceID int64, aliveSince time.Time) (node, url string, err error) {
	err = s.db.QueryRowContext(ctx, `SELECT a.node_id, n.url FROM agent_sessions a
		JOIN cluster_nodes n ON n.id = a.node_id WHERE a.device_id = $1 AND n.seen_at >= $2`,
		deviceID, ms(aliveSince)).Scan(&node, &url)
	if err != nil {
		return "", "", s.wrap("session node", err)
	}
	return node, url, nil
}

// channel is the NOTIFY channel of this database and schema: installations
// in different schemas of one database must not hear each other.
func (s *DB) channel(ctx context.Context, q interface {
	QueryRowContext(context.Context, string, ...any) *sql.Row
}) (string, error) {
	var db, schema string
	if err := q.QueryRowContext(ctx, `SELECT current_database(), current_schema()`).Scan(&db, &schema); err != nil {
		return "", s.wrap("cluster channel", err)
	}
	h := sha256.Sum256([]byte(db + "\x00" + schema))
	return "wacht_" + hex.EncodeToString(h[:8]), nil
}

// Publish sends payload to every node listening (including this one).
func (s *DB) Publish(ctx context.Context, payload []byte) error {
	if !s.Clustered() {
		return errors.New("store: publish needs PostgreSQL")
	}
	ch, err := s.channel(ctx, s.db)
	if err != nil {
		return err
	}
	msg := string(payload)
	if len(payload) > maxNotify {
		// Stored, if only for a while: sealed like every other secret.
		sealed, err := s.sealText(msg)
		if err != nil {
			return err
		}
		var id int64
		if err := s.db.QueryRowContext(ctx, `INSERT INTO cluster_messages (payload, created_at) VALUES ($1, $2) RETURNING id`,
			sealed, ms(time.Now())).Scan(&id); err != nil {
			return s.wrap("publish: storing a large message", err)
		}
		msg = "#" + strconv.FormatInt(id, 10)
	}
	_, err = s.db.ExecContext(ctx, `SELECT pg_notify($1, $2)`, ch, msg)
	return s.wrap("publish", err)
}

// Listen receives every published payload on one dedicated connection
// and calls fn with it, in order, from one goroutine (fn must not block).
// ready is called once the connection listens. Listen returns when ctx
// ends (nil) or when the connection is lost (an error; call it again).
// A large message's row is read by every listener and expires in
// NodeBeat.
func (s *DB) Listen(ctx context.Context, ready func(), fn func(payload []byte)) error {
	if !s.Clustered() {
		return errors.New("store: listen needs PostgreSQL")
	}
	conn, err := s.db.Conn(ctx)
	if err != nil {
		return s.wrap("listen: connection", err)
	}
	ch, err := s.channel(ctx, conn)
	if err != nil {
		conn.Close()
		return err
	}
	err = conn.Raw(func(dc any) error {
		pc := dc.(*stdlib.Conn).Conn()
		// ch is "wacht_" and hex digits; a channel name cannot be bound.
		if _, err := pc.Exec(ctx, "LISTEN "+ch); err != nil {
			return errors.Join(driver.ErrBadConn, err)
		}
		ready()
		for {
			n, err := pc.WaitForNotification(ctx)
			if err != nil {
				// A wait cut off leaves the connection unusable: the
				// pool must discard it.
				return errors.Join(driver.ErrBadConn, err)
			}
			if id, ok := strings.CutPrefix(n.Payload, "#"); ok {
				var p string
				if err := pc.QueryRow(ctx, `SELECT payload FROM cluster_messages WHERE id = $1`, id).Scan(&p); err != nil {
					if pc.IsClosed() {
						return errors.Join(driver.ErrBadConn, err)
					}
					continue // expired
				}
				if p, err = s.openText(p); err != nil {
					continue // every node checked its key at start
				}
				fn([]byte(p))
				continue
			}
			fn([]byte(n.Payload))
		}
	})
	// The connection may be mid-wait; never hand it back to the pool.
	conn.Raw(func(dc any) error { return dc.(*stdlib.Conn).Close() })
	conn.Close()
	if ctx.Err() != nil {
		return nil
	}
	return s.wrap("listen", err)
}
