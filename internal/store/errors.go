package store

import (
	"errors"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The two functions below are the only places that know driver error codes.
// They return the core sentinel for err, or nil if none applies.
// sql.ErrNoRows is handled by (*DB).wrap for both dialects.
//
// A foreign key violation means a referenced row (device, site, user) does
// not exist, so it maps to ErrNotFound.

// SQLiteBusy reports whether err is SQLite's "database is locked": another
// process holds the lock (`wacht migrate` refuses a database in use).
func SQLiteBusy(err error) bool { return sqliteBusy(err) }

// sqliteBusy reports whether err is SQLite's "database is locked".
func sqliteBusy(err error) bool {
	var e *sqlite.Error
	return errors.As(err, &e) && e.Code()&0xff == sqlite3.SQLITE_BUSY
}

func mapSQLiteErr(err error) error {
	var e *sqlite.Error
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code() {
	case sqlite3.SQLITE_CONSTRAINT_UNIQUE, sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY:
		return core.ErrConflict
	case sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY:
		return core.ErrNotFound
	case sqlite3.SQLITE_CONSTRAINT:
		// Primary code only (extended codes off): tell by the message.
		switch msg := e.Error(); {
		case strings.Contains(msg, "UNIQUE constraint failed"):
			return core.ErrConflict
		case strings.Contains(msg, "FOREIGN KEY constraint failed"):
			return core.ErrNotFound
		}
	}
	return nil
}

func mapPostgresErr(err error) error {
	var e *pgconn.PgError
	if !errors.As(err, &e) {
		return nil
	}
	switch e.Code {
	case "23505": // unique_violation
		return core.ErrConflict
	case "23503": // foreign_key_violation
		return core.ErrNotFound
	}
	return nil
}
