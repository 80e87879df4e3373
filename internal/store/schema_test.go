package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// schemaDifferences are the intended differences between the migrated
// schemas, each with its reason. A fact listed here that the schemas no
// longer differ in fails the test, so the list never outlives its cause.
var schemaDifferences = struct{ sqliteOnly, postgresOnly map[string]string }{
	sqliteOnly: map[string]string{
		"primary key check_results (id)": "PostgreSQL partitions check_results by day, and a unique index " +
			"of a partitioned table must contain the partition key: exactly-once lives in check_result_ids",
		"foreign key check_results (check_id) -> checks (id) on delete cascade": "PostgreSQL's per-row " +
			"trigger on the partitioned history cost more than the insert; retention deletes by check",
	},
	postgresOnly: map[string]string{
		"table check_result_ids":                      "exactly-once for the partitioned check_results (see its primary key)",
		"column check_result_ids.id text not null":    "see table check_result_ids",
		"column check_result_ids.at integer not null": "see table check_result_ids",
		"primary key check_result_ids (id)":           "see table check_result_ids",
		"index check_result_ids_at on check_result_ids (at)": "see table check_result_ids; a BRIN index " +
			"for the retention's range delete",
	},
}

// TestSchemaParity migrates a fresh SQLite and a fresh PostgreSQL database
// and compares their tables, columns (name, type class, nullability,
// whether a default or an identity exists), primary and unique keys,
// indexes and foreign keys, so that a migration written for one engine
// only is caught.
func TestSchemaParity(t *testing.T) {
	ctx := context.Background()
	if os.Getenv(storetest.PostgresEnv) == "" && os.Getenv("CI") != "" {
		t.Fatalf("%s is not set in CI", storetest.PostgresEnv)
	}
	pg := storetest.NewPostgres(t) // skips without WACHT_TEST_POSTGRES
	lite := storetest.NewSQLite(t)

	liteFacts, err := sqliteSchema(ctx, lite.SQL())
	if err != nil {
		t.Fatalf("reading the SQLite schema: %v", err)
	}
	pgFacts, err := postgresSchema(ctx, pg.SQL())
	if err != nil {
		t.Fatalf("reading the PostgreSQL schema: %v", err)
	}
	if !slices.Contains(liteFacts, "column devices.public_key blob not null") ||
		!slices.Contains(pgFacts, "column devices.public_key blob not null") {
		t.Fatalf("the schema readers missed devices.public_key:\nsqlite: %q\npostgres: %q", liteFacts, pgFacts)
	}
	compareSchemas(t, "SQLite", liteFacts, pgFacts, schemaDifferences.sqliteOnly)
	compareSchemas(t, "PostgreSQL", pgFacts, liteFacts, schemaDifferences.postgresOnly)
}

// compareSchemas reports the facts of mine that other lacks, unless
// known lists them, and the known facts that are no longer different.
func compareSchemas(t *testing.T, engine string, mine, other []string, known map[string]string) {
	t.Helper()
	for _, f := range mine {
		if !slices.Contains(other, f) && known[f] == "" {
			t.Errorf("only %s has %s", engine, f)
		}
	}
	for f := range known {
		if !slices.Contains(mine, f) || slices.Contains(other, f) {
			t.Errorf("%q is listed as %s only, but it is not (anymore): remove it from schemaDifferences", f, engine)
		}
	}
}

// typeClass maps a declared column type to what the store relies on, so
// that INTEGER and BIGINT, or BLOB and BYTEA, compare equal.
func typeClass(declared string) string {
	d := strings.ToLower(declared)
	switch {
	case strings.Contains(d, "int"):
		return "integer"
	case strings.Contains(d, "char"), strings.Contains(d, "text"), strings.Contains(d, "clob"):
		return "text"
	case d == "blob", d == "bytea":
		return "blob"
	case strings.Contains(d, "double"), strings.Contains(d, "real"), strings.Contains(d, "float"):
		return "real"
	case strings.Contains(d, "bool"):
		return "boolean"
	}
	return d
}

func columnFact(table, name, declared string, notNull, hasDefault, identity bool) string {
	f := "column " + table + "." + name + " " + typeClass(declared)
	if notNull {
		f += " not null"
	}
	if hasDefault {
		f += " default"
	}
	if identity {
		f += " identity"
	}
	return f
}

func indexFact(table, name string, unique, partial bool, columns []string) string {
	f := "index " + name + " on " + table + " (" + strings.Join(columns, ", ") + ")"
	if unique {
		f = "unique " + f
	}
	if partial {
		f += " where …"
	}
	return f
}

func foreignKeyFact(table string, from []string, ref string, to []string, onDelete string) string {
	return fmt.Sprintf("foreign key %s (%s) -> %s (%s) on delete %s",
		table, strings.Join(from, ", "), ref, strings.Join(to, ", "), strings.ToLower(onDelete))
}

// sqliteSchema lists the facts of a SQLite database's schema, sorted.
func sqliteSchema(ctx context.Context, db *sql.DB) ([]string, error) {
	tables, err := queryStrings(ctx, db, `SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\_%' ESCAPE '\' ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var facts []string
	for _, t := range tables {
		facts = append(facts, "table "+t)
		rows, err := db.QueryContext(ctx, `SELECT name, type, "notnull", dflt_value IS NOT NULL, pk FROM pragma_table_info($1) ORDER BY cid`, t)
		if err != nil {
			return nil, err
		}
		type col struct {
			name, typ       string
			notNull, hasDef bool
			pk              int
		}
		var cols []col
		for rows.Next() {
			var c col
			if err := rows.Scan(&c.name, &c.typ, &c.notNull, &c.hasDef, &c.pk); err != nil {
				rows.Close()
				return nil, err
			}
			cols = append(cols, c)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		pk := make([]string, len(cols))
		for _, c := range cols {
			if c.pk > 0 {
				pk[c.pk-1] = c.name
			}
		}
		pk = slices.DeleteFunc(pk, func(s string) bool { return s == "" })
		for _, c := range cols {
			// Only a single INTEGER PRIMARY KEY is a rowid alias that SQLite
			// fills in; PostgreSQL enforces NOT NULL on every key column.
			identity := c.pk > 0 && len(pk) == 1 && strings.EqualFold(c.typ, "INTEGER")
			facts = append(facts, columnFact(t, c.name, c.typ, c.notNull || c.pk > 0, c.hasDef, identity))
		}
		if len(pk) > 0 {
			facts = append(facts, "primary key "+t+" ("+strings.Join(pk, ", ")+")")
		}

		idx, err := sqliteIndexes(ctx, db, t)
		if err != nil {
			return nil, err
		}
		facts = append(facts, idx...)
		fks, err := sqliteForeignKeys(ctx, db, t)
		if err != nil {
			return nil, err
		}
		facts = append(facts, fks...)
	}
	slices.Sort(facts)
	return facts, nil
}

func sqliteIndexes(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT name, "unique", origin, partial FROM pragma_index_list($1)`, table)
	if err != nil {
		return nil, err
	}
	type index struct {
		name, origin    string
		unique, partial bool
	}
	var list []index
	for rows.Next() {
		var i index
		if err := rows.Scan(&i.name, &i.unique, &i.origin, &i.partial); err != nil {
			rows.Close()
			return nil, err
		}
		list = append(list, i)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var facts []string
	for _, i := range list {
		cols, err := queryStrings(ctx, db, `SELECT coalesce(name, '<expression>') FROM pragma_index_info($1) ORDER BY seqno`, i.name)
		if err != nil {
			return nil, err
		}
		switch i.origin {
		case "pk": // the primary key fact covers it
		case "u":
			facts = append(facts, "unique "+table+" ("+strings.Join(cols, ", ")+")")
		default:
			facts = append(facts, indexFact(table, i.name, i.unique, i.partial, cols))
		}
	}
	return facts, nil
}

func sqliteForeignKeys(ctx context.Context, db *sql.DB, table string) ([]string, error) {
	rows, err := db.QueryContext(ctx, `SELECT id, "table", "from", coalesce("to", ''), on_delete FROM pragma_foreign_key_list($1) ORDER BY id, seq`, table)
	if err != nil {
		return nil, err
	}
	type fk struct {
		ref, onDelete string
		from, to      []string
	}
	byID := map[int]*fk{}
	var ids []int
	for rows.Next() {
		var (
			id                      int
			ref, from, to, onDelete string
		)
		if err := rows.Scan(&id, &ref, &from, &to, &onDelete); err != nil {
			rows.Close()
			return nil, err
		}
		k := byID[id]
		if k == nil {
			k = &fk{ref: ref, onDelete: onDelete}
			byID[id] = k
			ids = append(ids, id)
		}
		k.from = append(k.from, from)
		k.to = append(k.to, to)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	var facts []string
	for _, id := range ids {
		k := byID[id]
		if slices.Contains(k.to, "") { // REFERENCES t without columns: t's primary key
			pk, err := queryStrings(ctx, db, `SELECT name FROM pragma_table_info($1) WHERE pk > 0 ORDER BY pk`, k.ref)
			if err != nil {
				return nil, err
			}
			k.to = pk
		}
		facts = append(facts, foreignKeyFact(table, k.from, k.ref, k.to, k.onDelete))
	}
	return facts, nil
}

// postgresSchema lists the facts of the PostgreSQL schema on the
// connection's search path, sorted. Partitions are left out: they belong
// to their partitioned table.
func postgresSchema(ctx context.Context, db *sql.DB) ([]string, error) {
	const inSchema = `JOIN pg_namespace n ON n.oid = t.relnamespace
		WHERE n.nspname = current_schema() AND t.relkind IN ('r', 'p') AND NOT t.relispartition`
	var facts []string

	tables, err := queryStrings(ctx, db, `SELECT t.relname FROM pg_class t `+inSchema)
	if err != nil {
		return nil, err
	}
	for _, t := range tables {
		facts = append(facts, "table "+t)
	}

	rows, err := db.QueryContext(ctx, `SELECT t.relname, a.attname, format_type(a.atttypid, a.atttypmod),
			a.attnotnull, a.atthasdef, a.attidentity <> ''
		FROM pg_attribute a JOIN pg_class t ON t.oid = a.attrelid `+inSchema+`
		AND a.attnum > 0 AND NOT a.attisdropped`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var (
			table, name, typ              string
			notNull, hasDefault, identity bool
		)
		if err := rows.Scan(&table, &name, &typ, &notNull, &hasDefault, &identity); err != nil {
			rows.Close()
			return nil, err
		}
		facts = append(facts, columnFact(table, name, typ, notNull, hasDefault, identity))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Keys, with their columns in key order. confdeltype: a no action,
	// r restrict, c cascade, n set null, d set default.
	rows, err = db.QueryContext(ctx, `SELECT t.relname, k.contype, coalesce(r.relname, ''),
			array_to_string(ARRAY(SELECT a.attname FROM unnest(k.conkey) WITH ORDINALITY u(n, o)
				JOIN pg_attribute a ON a.attrelid = k.conrelid AND a.attnum = u.n ORDER BY u.o), ','),
			array_to_string(ARRAY(SELECT a.attname FROM unnest(k.confkey) WITH ORDINALITY u(n, o)
				JOIN pg_attribute a ON a.attrelid = k.confrelid AND a.attnum = u.n ORDER BY u.o), ','),
			CASE k.confdeltype WHEN 'a' THEN 'no action' WHEN 'r' THEN 'restrict' WHEN 'c' THEN 'cascade'
				WHEN 'n' THEN 'set null' WHEN 'd' THEN 'set default' ELSE '' END
		FROM pg_constraint k JOIN pg_class t ON t.oid = k.conrelid
		LEFT JOIN pg_class r ON r.oid = k.confrelid `+inSchema+`
		AND k.contype IN ('p', 'u', 'f')`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, kind, ref, cols, refCols, onDelete string
		if err := rows.Scan(&table, &kind, &ref, &cols, &refCols, &onDelete); err != nil {
			rows.Close()
			return nil, err
		}
		from := strings.Split(cols, ",")
		switch kind {
		case "p":
			facts = append(facts, "primary key "+table+" ("+strings.Join(from, ", ")+")")
		case "u":
			facts = append(facts, "unique "+table+" ("+strings.Join(from, ", ")+")")
		case "f":
			facts = append(facts, foreignKeyFact(table, from, ref, strings.Split(refCols, ","), onDelete))
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}

	// Indexes of their own (CREATE INDEX), not the ones behind a key.
	rows, err = db.QueryContext(ctx, `SELECT t.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,
			array_to_string(ARRAY(SELECT pg_get_indexdef(x.indexrelid, k, true)
				FROM generate_series(1, x.indnkeyatts) k ORDER BY k), ',')
		FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid JOIN pg_class t ON t.oid = x.indrelid `+inSchema+`
		AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid
			AND k.conrelid = x.indrelid AND k.contype IN ('p', 'u', 'x'))`)
	if err != nil {
		return nil, err
	}
	for rows.Next() {
		var table, name, cols string
		var unique, partial bool
		if err := rows.Scan(&table, &name, &unique, &partial, &cols); err != nil {
			rows.Close()
			return nil, err
		}
		list := strings.Split(strings.ReplaceAll(cols, `"`, ""), ",")
		for i, c := range list {
			if strings.ContainsAny(c, "() ") {
				list[i] = "<expression>"
			}
		}
		facts = append(facts, indexFact(table, name, unique, partial, list))
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, err
	}
	slices.Sort(facts)
	return facts, nil
}

func queryStrings(ctx context.Context, db *sql.DB, query string, args ...any) ([]string, error) {
	rows, err := db.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var list []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		list = append(list, s)
	}
	return list, rows.Err()
}
