package core

import "time"

// PageKey is where a newest-first page of a long list continues (keyset
// paging): the next page holds the rows strictly older than the last row
// shown, by the list's sort time and then by ID, so that each row is on
// exactly one page however many rows arrive meanwhile. The zero key is the
// first page; lists sorted by ID alone leave At zero, lists whose rows have
// text IDs (a device's script runs) set Name instead of ID, compared
// bytewise.
type PageKey struct {
	At   time.Time
	ID   int64
	Name string
}

// First says whether k is the first page's key.
func (k PageKey) First() bool { return k.ID == 0 && k.Name == "" }
