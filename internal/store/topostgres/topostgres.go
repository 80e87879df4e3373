// Package topostgres moves a Wacht server's SQLite database into an empty
// PostgreSQL database (`wacht migrate`), so that the server can go on with
// `wacht serve --db URL` and the same data folder.
//
// The copy is generic: tables and columns are read from both catalogues,
// values are converted by the PostgreSQL column type, and every table goes
// through COPY in one transaction, parents before children, so a failure
// leaves the target as empty as it was. The few places where the two
// schemas differ on purpose are listed below (skipped, seeded, derived).
package topostgres

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/seal"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store"
)

// skipped are tables that hold one engine's local state, not data:
//   - schema_migrations: the target's own migrations wrote it (the versions
//     are compared instead);
//   - sqlite_sequence: SQLite's AUTOINCREMENT counters (the target's
//     identities are reset to max(id)+1 instead);
//   - cluster_nodes, agent_sessions, cluster_messages, cluster_leases: which
//     running node holds which agent, relayed messages and job leases of a
//     PostgreSQL cluster; a stopped SQLite server has none that still hold.
var skipped = map[string]bool{
	"schema_migrations": true, "sqlite_sequence": true,
	"cluster_nodes": true, "agent_sessions": true, "cluster_messages": true, "cluster_leases": true,
}

// seeded is the table that opening the target writes to: store.Open stores
// the check of secret.key in settings. The source's settings replace it
// (sealed with the same secret.key), so settings do not count as data when
// the target is tested for emptiness.
const seeded = "settings"

// derivedTable is a PostgreSQL-only table filled from a copied one.
type derivedTable struct {
	name, from, fill string
}

// derived: the partitioned history cannot hold a unique result ID, so
// exactly-once lives in check_result_ids (migrations/postgres/0009_history.sql),
// one row per result. Copied results land in the default partition; the
// server's history maintenance moves them into day partitions.
var derived = []derivedTable{
	{"check_result_ids", "check_results", `INSERT INTO check_result_ids (id, at) SELECT id, at FROM check_results`},
}

// Table is one copied table and its row count.
type Table struct {
	Name string
	Rows int64
}

// Summary says what Run copied.
type Summary struct {
	Tables []Table // in copy order
	Rows   int64
	Took   time.Duration
}

// ErrInUse is returned while another process has the SQLite database open.
var ErrInUse = errors.New("the SQLite database is in use: stop `wacht serve` (and any other wacht command) on this data folder first")

// Run copies the SQLite database in dataDir into the empty PostgreSQL
// database at dbURL, after applying the PostgreSQL migrations there.
func Run(ctx context.Context, dataDir, dbURL string) (Summary, error) {
	began := time.Now()
	src, err := openSource(ctx, dataDir)
	if err != nil {
		return Summary{}, err
	}
	defer src.close()
	if !strings.HasPrefix(dbURL, "postgres://") && !strings.HasPrefix(dbURL, "postgresql://") {
		return Summary{}, fmt.Errorf("--to %q: want a postgres:// or postgresql:// URL", dbURL)
	}
	st, err := store.Open(ctx, dbURL, dataDir)
	if err != nil {
		return Summary{}, fmt.Errorf("opening the target database: %w", err)
	}
	defer st.Close()
	plan, err := makePlan(ctx, src.tx, st.SQL())
	if err != nil {
		return Summary{}, err
	}
	sum, err := plan.copy(ctx, src.tx, st.SQL())
	if err != nil {
		return Summary{}, err
	}
	sum.Took = time.Since(began)
	if err := st.Audit(ctx, core.AuditEntry{Actor: service.Actor(service.CLI), Action: "server.migrate", Target: "postgres",
		Detail: fmt.Sprintf("from sqlite: tables=%d rows=%d", len(sum.Tables), sum.Rows)}); err != nil {
		return sum, fmt.Errorf("copied, but recording it in the audit log failed: %w", err)
	}
	return sum, nil
}

// source is the SQLite database, locked against every other process for
// as long as it is open, in one read transaction: a consistent snapshot.
type source struct {
	db *sql.DB
	tx *sql.Tx
}

func openSource(ctx context.Context, dataDir string) (*source, error) {
	path := filepath.Join(dataDir, "wacht.db")
	if _, err := os.Stat(path); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("no SQLite database in %s (wacht.db is missing)", dataDir)
		}
		return nil, err
	}
	// Opening the target would make a new key, one the copied secrets
	// are not sealed with.
	if _, err := os.Stat(filepath.Join(dataDir, seal.KeyFile)); err != nil {
		return nil, fmt.Errorf("%s: the database's secrets are sealed with it: %w", seal.KeyFile, err)
	}
	// Exclusive locking mode on a WAL database takes an exclusive lock at
	// the first read and keeps it: it fails at once while a server (which
	// keeps its connections open) or an admin command has the file open,
	// and keeps them out until the copy is done. query_only keeps this
	// connection from writing.
	db, err := sql.Open("sqlite", path+"?_pragma=locking_mode(EXCLUSIVE)&_pragma=query_only(1)&_pragma=busy_timeout(0)")
	if err != nil {
		return nil, fmt.Errorf("opening %s: %w", path, err)
	}
	db.SetMaxOpenConns(1)
	s := &source{db: db}
	if s.tx, err = db.BeginTx(ctx, nil); err == nil {
		_, err = s.tx.ExecContext(ctx, `SELECT count(*) FROM sqlite_schema`)
	}
	if err != nil {
		s.close()
		if store.SQLiteBusy(err) {
			return nil, fmt.Errorf("%s: %w", path, ErrInUse)
		}
		return nil, fmt.Errorf("reading %s: %w", path, err)
	}
	return s, nil
}

func (s *source) close() {
	if s.tx != nil {
		s.tx.Rollback()
	}
	s.db.Close()
}

// column is a target column and its PostgreSQL type.
type column struct {
	name, typ string
	identity  bool
}

// plan is what to copy: tables in foreign-key order with their columns.
type plan struct {
	order   []string
	columns map[string][]column
	counts  map[string]int64 // source rows
}

// makePlan compares the two schemas and orders the tables. Both must be
// migrated to the same version; a table or column only one side has is an
// error rather than data silently left behind.
func makePlan(ctx context.Context, src *sql.Tx, dst *sql.DB) (*plan, error) {
	srcVer, err := strings1(ctx, src, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading the SQLite schema version: %w", err)
	}
	dstVer, err := strings1(ctx, dst, `SELECT version FROM schema_migrations ORDER BY version`)
	if err != nil {
		return nil, fmt.Errorf("reading the PostgreSQL schema version: %w", err)
	}
	if !slices.Equal(srcVer, dstVer) {
		return nil, fmt.Errorf("the SQLite database is at schema version %s, this wacht at %s: run this version's `wacht serve` on the data folder once (it upgrades the database), stop it, then migrate",
			last(srcVer), last(dstVer))
	}
	srcCols := map[string]map[string]bool{}
	rows, err := src.QueryContext(ctx, `SELECT m.name, p.name FROM sqlite_schema m, pragma_table_info(m.name) p
		WHERE m.type = 'table' ORDER BY m.name, p.cid`)
	if err != nil {
		return nil, fmt.Errorf("reading the SQLite schema: %w", err)
	}
	for rows.Next() {
		var t, c string
		if err := rows.Scan(&t, &c); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the SQLite schema: %w", err)
		}
		if srcCols[t] == nil {
			srcCols[t] = map[string]bool{}
		}
		srcCols[t][c] = true
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the SQLite schema: %w", err)
	}

	p := &plan{columns: map[string][]column{}, counts: map[string]int64{}}
	// Partitions of the history are not tables of their own here.
	rows, err = dst.QueryContext(ctx, `SELECT c.table_name, c.column_name, c.data_type, c.is_identity = 'YES'
		FROM information_schema.columns c JOIN pg_class r ON r.relname = c.table_name
		WHERE c.table_schema = current_schema() AND r.relnamespace = current_schema()::regnamespace
		  AND r.relkind IN ('r', 'p') AND NOT r.relispartition
		ORDER BY c.table_name, c.ordinal_position`)
	if err != nil {
		return nil, fmt.Errorf("reading the PostgreSQL schema: %w", err)
	}
	for rows.Next() {
		var t string
		var c column
		if err := rows.Scan(&t, &c.name, &c.typ, &c.identity); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading the PostgreSQL schema: %w", err)
		}
		p.columns[t] = append(p.columns[t], c)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading the PostgreSQL schema: %w", err)
	}
	for t := range srcCols {
		if p.columns[t] == nil && !skipped[t] {
			return nil, fmt.Errorf("table %s exists in SQLite but not in PostgreSQL", t)
		}
	}
	for t, cols := range p.columns {
		if skipped[t] || slices.ContainsFunc(derived, func(d derivedTable) bool { return d.name == t }) {
			delete(p.columns, t)
			continue
		}
		if srcCols[t] == nil {
			return nil, fmt.Errorf("table %s exists in PostgreSQL but not in SQLite", t)
		}
		if len(cols) != len(srcCols[t]) {
			return nil, fmt.Errorf("table %s has %d columns in SQLite, %d in PostgreSQL", t, len(srcCols[t]), len(cols))
		}
		for _, c := range cols {
			if !srcCols[t][c.name] {
				return nil, fmt.Errorf("column %s.%s exists in PostgreSQL but not in SQLite", t, c.name)
			}
			if _, err := convert(c.typ, nil); err != nil {
				return nil, fmt.Errorf("column %s.%s: %w", t, c.name, err)
			}
		}
	}
	if p.order, err = fkOrder(ctx, dst, slices.Sorted(maps.Keys(p.columns))); err != nil {
		return nil, err
	}
	for _, t := range p.order {
		if t != seeded {
			var has bool
			if err := dst.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM `+ident(t)+`)`).Scan(&has); err != nil {
				return nil, fmt.Errorf("looking into target table %s: %w", t, err)
			}
			if has {
				return nil, fmt.Errorf("the target database already holds data (table %s has rows): migrate only into an empty database", t)
			}
		}
		var n int64
		if err := src.QueryRowContext(ctx, `SELECT count(*) FROM `+ident(t)).Scan(&n); err != nil {
			return nil, fmt.Errorf("counting SQLite table %s: %w", t, err)
		}
		p.counts[t] = n
	}
	return p, nil
}

// fkOrder sorts tables so that every table comes after the tables its
// foreign keys reference (references of a table to itself are checked at
// the end of its COPY).
func fkOrder(ctx context.Context, dst *sql.DB, tables []string) ([]string, error) {
	rows, err := dst.QueryContext(ctx, `SELECT t.relname, r.relname FROM pg_constraint c
		JOIN pg_class t ON t.oid = c.conrelid JOIN pg_class r ON r.oid = c.confrelid
		WHERE c.contype = 'f' AND t.relnamespace = current_schema()::regnamespace`)
	if err != nil {
		return nil, fmt.Errorf("reading foreign keys: %w", err)
	}
	deps := map[string][]string{}
	for rows.Next() {
		var t, r string
		if err := rows.Scan(&t, &r); err != nil {
			rows.Close()
			return nil, fmt.Errorf("reading foreign keys: %w", err)
		}
		if t != r {
			deps[t] = append(deps[t], r)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("reading foreign keys: %w", err)
	}
	var order []string
	state := map[string]int{} // 1 visiting, 2 done
	var visit func(t string) error
	visit = func(t string) error {
		switch state[t] {
		case 1:
			return fmt.Errorf("foreign keys form a cycle through table %s", t)
		case 2:
			return nil
		}
		state[t] = 1
		for _, r := range deps[t] {
			if err := visit(r); err != nil {
				return err
			}
		}
		state[t] = 2
		order = append(order, t)
		return nil
	}
	for _, t := range tables {
		if err := visit(t); err != nil {
			return nil, err
		}
	}
	// Referenced tables that are not copied (skipped ones) drop out.
	return slices.DeleteFunc(order, func(t string) bool { return !slices.Contains(tables, t) }), nil
}

// copy runs the plan in one transaction of the target and verifies the
// row counts before committing.
func (p *plan) copy(ctx context.Context, src *sql.Tx, dst *sql.DB) (Summary, error) {
	conn, err := dst.Conn(ctx)
	if err != nil {
		return Summary{}, fmt.Errorf("connecting to the target database: %w", err)
	}
	defer conn.Close()
	var sum Summary
	err = conn.Raw(func(dc any) error {
		pg := dc.(*stdlib.Conn).Conn()
		tx, err := pg.Begin(ctx)
		if err != nil {
			return fmt.Errorf("target database: %w", err)
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `DELETE FROM `+ident(seeded)); err != nil {
			return fmt.Errorf("target table %s: %w", seeded, err)
		}
		for _, t := range p.order {
			n, err := p.copyTable(ctx, src, tx, t)
			if err != nil {
				return err
			}
			sum.Tables = append(sum.Tables, Table{t, n})
			sum.Rows += n
		}
		for _, d := range derived {
			if _, err := tx.Exec(ctx, d.fill); err != nil {
				return fmt.Errorf("filling %s: %w", d.name, err)
			}
		}
		if err := p.resetIdentities(ctx, tx); err != nil {
			return err
		}
		if err := p.verify(ctx, tx); err != nil {
			return err
		}
		if err := tx.Commit(ctx); err != nil {
			return fmt.Errorf("committing: %w", err)
		}
		return nil
	})
	return sum, err
}

// copyTable streams table t from SQLite into PostgreSQL with COPY.
func (p *plan) copyTable(ctx context.Context, src *sql.Tx, tx pgx.Tx, t string) (int64, error) {
	cols := p.columns[t]
	names := make([]string, len(cols))
	quoted := make([]string, len(cols))
	for i, c := range cols {
		names[i], quoted[i] = c.name, ident(c.name)
	}
	rows, err := src.QueryContext(ctx, `SELECT `+strings.Join(quoted, ", ")+` FROM `+ident(t))
	if err != nil {
		return 0, fmt.Errorf("reading SQLite table %s: %w", t, err)
	}
	defer rows.Close()
	r := &rowSource{rows: rows, table: t, cols: cols, scan: make([]any, len(cols)), vals: make([]any, len(cols))}
	n, err := tx.CopyFrom(ctx, pgx.Identifier{t}, names, r)
	if err != nil {
		return 0, fmt.Errorf("copying table %s: %w", t, err)
	}
	if n != p.counts[t] {
		return 0, fmt.Errorf("copying table %s: %d of %d rows copied", t, n, p.counts[t])
	}
	return n, nil
}

// resetIdentities makes every identity column hand out max(id)+1 next.
func (p *plan) resetIdentities(ctx context.Context, tx pgx.Tx) error {
	for _, t := range p.order {
		for _, c := range p.columns[t] {
			if !c.identity {
				continue
			}
			q := `SELECT setval(pg_get_serial_sequence($1, $2), COALESCE(max(` + ident(c.name) + `), 0) + 1, false) FROM ` + ident(t)
			if _, err := tx.Exec(ctx, q, ident(t), c.name); err != nil {
				return fmt.Errorf("resetting the identity of %s.%s: %w", t, c.name, err)
			}
		}
	}
	return nil
}

// verify compares the target's row counts with the source's (a derived
// table has as many rows as the table it is derived from).
func (p *plan) verify(ctx context.Context, tx pgx.Tx) error {
	want := maps.Clone(p.counts)
	for _, d := range derived {
		want[d.name] = p.counts[d.from]
	}
	for _, t := range slices.Sorted(maps.Keys(want)) {
		var n int64
		if err := tx.QueryRow(ctx, `SELECT count(*) FROM `+ident(t)).Scan(&n); err != nil {
			return fmt.Errorf("counting target table %s: %w", t, err)
		}
		if n != want[t] {
			return fmt.Errorf("verifying: table %s has %d rows in PostgreSQL, want %d", t, n, want[t])
		}
	}
	return nil
}

// rowSource feeds SQLite rows to pgx's CopyFrom, converted by column type.
type rowSource struct {
	rows  *sql.Rows
	table string
	cols  []column
	scan  []any // *any, one per column
	vals  []any
	err   error
}

func (r *rowSource) Next() bool {
	if r.err != nil || !r.rows.Next() {
		return false
	}
	raw := make([]any, len(r.cols))
	for i := range raw {
		r.scan[i] = &raw[i]
	}
	if r.err = r.rows.Scan(r.scan...); r.err != nil {
		return false
	}
	for i, c := range r.cols {
		if r.vals[i], r.err = convert(c.typ, raw[i]); r.err != nil {
			r.err = fmt.Errorf("%s.%s: %w", r.table, c.name, r.err)
			return false
		}
	}
	return true
}

func (r *rowSource) Values() ([]any, error) { return r.vals, nil }

func (r *rowSource) Err() error {
	if r.err != nil {
		return r.err
	}
	return r.rows.Err()
}

// convert turns a value SQLite returned (int64, float64, string, []byte or
// nil; SQLite's type affinity lets a column hold any of them) into one for
// the PostgreSQL type typ. Both schemas store times as Unix milliseconds,
// flags as integers and JSON as text, so these are the types Wacht's
// PostgreSQL schema uses; a type without a case is an error, found by
// makePlan before anything is copied.
func convert(typ string, v any) (any, error) {
	switch typ {
	case "bigint", "integer", "smallint":
		switch x := v.(type) {
		case nil, int64:
			return x, nil
		}
	case "double precision", "real":
		switch x := v.(type) {
		case nil, float64:
			return x, nil
		case int64:
			return float64(x), nil
		}
	case "text":
		switch x := v.(type) {
		case nil, string:
			return x, nil
		case []byte:
			return string(x), nil
		}
	case "bytea":
		switch x := v.(type) {
		case nil:
			return nil, nil
		case []byte:
			// An empty blob reads as a nil slice, which pgx would send as NULL.
			if x == nil {
				x = []byte{}
			}
			return x, nil
		case string:
			return []byte(x), nil
		}
	default:
		return nil, fmt.Errorf("no conversion to PostgreSQL type %q", typ)
	}
	return nil, fmt.Errorf("cannot store %T %v as %s", v, v, typ)
}

// ident quotes a table or column name; the names come from the catalogues.
func ident(name string) string { return pgx.Identifier{name}.Sanitize() }

// strings1 returns the one string column of a query's rows.
func strings1(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string) ([]string, error) {
	rows, err := q.QueryContext(ctx, query)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

func last(vs []string) string {
	if len(vs) == 0 {
		return "(none)"
	}
	return vs[len(vs)-1]
}
