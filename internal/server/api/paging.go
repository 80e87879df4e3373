package api

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/service"
)

// Paging of the list endpoints: ?limit= (default DefaultPageLimit, at most
// MaxPageLimit, "all" for every row where an endpoint allows it) and
// ?cursor= (opaque, from the previous page). The body stays the list of
// rows; the next page's address is in the Link header (rel="next") and its
// cursor in X-Next-Cursor, the count of all matching rows in X-Total-Count
// (left out where counting would read the whole table on every page: the
// audit log). Lists other than the device list page newest first by a
// core.PageKey (keyset paging).
const (
	DefaultPageLimit = 100
	MaxPageLimit     = 1000
)

// page is a list request's paging; Limit 0 means every row.
type page struct {
	Limit  int
	Cursor string
}

// parsePage reads ?limit= and ?cursor=; allowAll says whether limit=all
// is allowed.
func parsePage(q url.Values, allowAll bool) (page, error) {
	p := page{Limit: DefaultPageLimit, Cursor: q.Get("cursor")}
	switch l := q.Get("limit"); {
	case l == "":
	case l == "all" && allowAll:
		p.Limit = 0
	default:
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > MaxPageLimit {
			return p, queryError("limit", fmt.Sprintf("must be a number from 1 to %d%s", MaxPageLimit, allText(allowAll, " or all")),
				fmt.Sprintf("muss eine Zahl von 1 bis %d%s sein", MaxPageLimit, allText(allowAll, " oder all")))
		}
		p.Limit = n
	}
	return p, nil
}

func allText(allowAll bool, s string) string {
	if allowAll {
		return s
	}
	return ""
}

// fetch is how many rows to ask the store for: one more than the page
// tells whether a next page exists (0: every row).
func (p page) fetch() int {
	if p.Limit == 0 {
		return 0
	}
	return p.Limit + 1
}

// keyCursor is a core.PageKey as it travels in ?cursor=.
type keyCursor struct {
	At   int64  `json:"t,omitempty"` // Unix milliseconds
	ID   int64  `json:"i,omitempty"`
	Name string `json:"n,omitempty"`
}

// readKeysetPage reads a newest-first list's limit and cursor from q (no
// "limit=all") and the key the cursor continues after.
func readKeysetPage(q url.Values) (page, core.PageKey, error) {
	p, err := parsePage(q, false)
	if err != nil {
		return p, core.PageKey{}, err
	}
	after, err := p.after()
	return p, after, err
}

// after reads p's cursor as the key the page continues after (the zero key
// without a cursor); a cursor this server did not make is refused naming
// the field.
func (p page) after() (core.PageKey, error) {
	if p.Cursor == "" {
		return core.PageKey{}, nil
	}
	var c keyCursor
	b, err := base64.RawURLEncoding.DecodeString(p.Cursor)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil || c.ID < 0 || (c.ID == 0) == (c.Name == "") {
		return core.PageKey{}, queryError("cursor", "is not a cursor of this list", "ist kein Cursor dieser Liste")
	}
	k := core.PageKey{ID: c.ID, Name: c.Name}
	if c.At != 0 {
		k.At = time.UnixMilli(c.At).UTC()
	}
	return k, nil
}

// keysetPage cuts rows, fetched with p.fetch(), to the page and returns the
// next page's cursor: the key of the page's last row, "" on the last page.
func keysetPage[T any](rows []T, p page, key func(T) core.PageKey) ([]T, string) {
	if p.Limit == 0 || len(rows) <= p.Limit {
		return rows, ""
	}
	rows = rows[:p.Limit]
	k := key(rows[len(rows)-1])
	c := keyCursor{ID: k.ID, Name: k.Name}
	if !k.At.IsZero() {
		c.At = k.At.UnixMilli()
	}
	b, _ := json.Marshal(c) // numbers and a string always marshal
	return rows, base64.RawURLEncoding.EncodeToString(b)
}

// servePage answers the page of a newest-first list that the request asks
// for: list gets the key to continue after and how many rows to fetch,
// key gives a row's key, and count (nil: no X-Total-Count) the total.
func servePage[T any](w http.ResponseWriter, r *http.Request, list func(after core.PageKey, limit int) ([]T, error),
	key func(T) core.PageKey, count func() (int, error)) ([]T, error) {
	p, after, err := readKeysetPage(r.URL.Query())
	if err != nil {
		return nil, err
	}
	rows, err := list(after, p.fetch())
	if err != nil {
		return nil, err
	}
	total := -1
	if count != nil {
		if total, err = count(); err != nil {
			return nil, err
		}
	}
	rows, next := keysetPage(rows, p, key)
	setPageHeaders(w, r, next, total)
	return rows, nil
}

// setPageHeaders announces the next page (none if next is "") and the
// total (none if negative).
func setPageHeaders(w http.ResponseWriter, r *http.Request, next string, total int) {
	if total >= 0 {
		w.Header().Set("X-Total-Count", strconv.Itoa(total))
	}
	if next == "" {
		return
	}
	q := r.URL.Query()
	q.Set("cursor", next)
	w.Header().Set("X-Next-Cursor", next)
	w.Header().Set("Link", "<"+r.URL.Path+"?"+q.Encode()+`>; rel="next"`)
}

// queryError refuses one query parameter, in English and German.
func queryError(field, en, de string) error {
	return &policy.ValidationError{Fields: []policy.FieldError{{Field: field, Message: core.Text{EN: en, DE: de}}}}
}

// idsParam is service.ListParam of positive IDs.
func idsParam(q url.Values, name string) ([]int64, error) {
	var out []int64
	for _, s := range service.ListParam(q, name) {
		id, err := strconv.ParseInt(s, 10, 64)
		if err != nil || id <= 0 {
			return nil, queryError(name, fmt.Sprintf("%q is not an ID", s), fmt.Sprintf("%q ist keine ID", s))
		}
		out = append(out, id)
	}
	return out, nil
}

// boolParam is an optional true/false parameter (nil if absent).
func boolParam(q url.Values, name string) (*bool, error) {
	switch q.Get(name) {
	case "":
		return nil, nil
	case "true":
		return new(true), nil
	case "false":
		return new(false), nil
	}
	return nil, queryError(name, "must be true or false", "muss true oder false sein")
}
