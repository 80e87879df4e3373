package store

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The tray app's branding per client and its users' support requests
// (issue 20, migration 0033_support).

// GetBranding returns the client's branding with its icon; ErrNotFound if
// it was never set.
func (s *DB) GetBranding(ctx context.Context, clientID int64) (core.Branding, error) {
	b := core.Branding{ClientID: clientID}
	var show int
	var at int64
	err := s.db.QueryRowContext(ctx, `
		SELECT show, product_name, phone, email, url, hours_en, hours_de, remote_support,
			icon_sha256, updated_at, updated_by, icon
		FROM client_branding WHERE client_id = $1`, clientID).
		Scan(&show, &b.ProductName, &b.Phone, &b.Email, &b.URL, &b.Hours.EN, &b.Hours.DE, &b.RemoteSupport,
			&b.IconSHA256, &at, &b.UpdatedBy, &b.Icon)
	if err != nil {
		return core.Branding{}, s.wrap("get branding", err)
	}
	b.Show, b.UpdatedAt = show != 0, fromMS(at)
	if len(b.Icon) == 0 {
		b.Icon = nil
	}
	return b, nil
}

// SetBranding stores b for a client that is not deleted (ErrNotFound
// otherwise), icon included: an empty Icon removes it. The store computes
// the icon's SHA-256 itself, so that it always matches the stored bytes;
// UpdatedAt zero is now.
func (s *DB) SetBranding(ctx context.Context, b core.Branding) error {
	var icon any
	sum := ""
	if len(b.Icon) > 0 {
		h := sha256.Sum256(b.Icon)
		icon, sum = b.Icon, hex.EncodeToString(h[:])
	}
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO client_branding (client_id, show, product_name, phone, email, url, hours_en, hours_de,
			remote_support, icon_sha256, updated_at, updated_by, icon)
		SELECT id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 FROM clients
		WHERE id = $1 AND deleted_at IS NULL
		ON CONFLICT (client_id) DO UPDATE SET show = excluded.show, product_name = excluded.product_name,
			phone = excluded.phone, email = excluded.email, url = excluded.url, hours_en = excluded.hours_en,
			hours_de = excluded.hours_de, remote_support = excluded.remote_support,
			icon_sha256 = excluded.icon_sha256, updated_at = excluded.updated_at,
			updated_by = excluded.updated_by, icon = excluded.icon`,
		b.ClientID, boolInt(b.Show), b.ProductName, b.Phone, b.Email, b.URL, b.Hours.EN, b.Hours.DE,
		b.RemoteSupport, sum, ms(orNow(b.UpdatedAt)), b.UpdatedBy, icon)
	return s.affectedOne("set branding", res, err)
}

// supportColumns reads a request without its screenshot: the device's
// hostname and site as they are now, the client's name at receipt. Both
// engines take a blob's length from its header, where IS NOT NULL made
// SQLite read the whole screenshot.
const supportColumns = `sr.id, sr.device_id, d.hostname, sr.client_id, c.name, st.name, sr.ref, sr.os_user,
	sr.contact_name, sr.contact_email, sr.contact_phone, sr.message, sr.lang, length(sr.screenshot) IS NOT NULL,
	sr.state, sr.created_at, sr.received_at, sr.updated_at
	FROM support_requests sr
	JOIN devices d ON d.id = sr.device_id
	JOIN sites st ON st.id = d.site_id
	JOIN clients c ON c.id = sr.client_id`

func scanSupportRequest(sc interface{ Scan(...any) error }) (core.SupportRequest, error) {
	var r core.SupportRequest
	var created, received, updated int64
	err := sc.Scan(&r.ID, &r.DeviceID, &r.Hostname, &r.ClientID, &r.ClientName, &r.SiteName, &r.Ref, &r.OSUser,
		&r.Contact.Name, &r.Contact.Email, &r.Contact.Phone, &r.Message, &r.Lang, &r.HasScreenshot,
		&r.State, &created, &received, &updated)
	r.CreatedAt, r.ReceivedAt, r.UpdatedAt = fromMS(created), fromMS(received), fromMS(updated)
	return r, err
}

// SaveSupportRequest stores r as a new request of its device's client at
// receipt (r.ClientID is set from the device, whatever it was) once per
// (DeviceID, Ref), and queues outbox in the same transaction, skipping
// dedupe keys already present. ReceivedAt zero is now, CreatedAt zero
// ReceivedAt. Either way r is then the stored request with its replies;
// for a Ref already stored nothing changes or is queued, and it returns
// false. An unknown device is ErrNotFound, an empty Ref ErrInvalid.
func (s *DB) SaveSupportRequest(ctx context.Context, r *core.SupportRequest, screenshot []byte, outbox []core.OutboxItem) (bool, error) {
	const op = "save support request"
	if r.Ref == "" {
		return false, fmt.Errorf("store: %s: no ref: %w", op, core.ErrInvalid)
	}
	var shot any
	if len(screenshot) > 0 {
		shot = screenshot
	}
	received := orNow(r.ReceivedAt)
	sent := received
	if !r.CreatedAt.IsZero() {
		sent = r.CreatedAt
	}
	var id int64
	created := false
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		err := tx.QueryRowContext(ctx, `
			INSERT INTO support_requests (device_id, client_id, ref, os_user, contact_name, contact_email,
				contact_phone, lang, state, created_at, received_at, updated_at, message, screenshot)
			SELECT d.id, st.client_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10, $11, $12
			FROM devices d JOIN sites st ON st.id = d.site_id WHERE d.id = $1
			ON CONFLICT (device_id, ref) DO NOTHING
			RETURNING id`,
			r.DeviceID, r.Ref, r.OSUser, r.Contact.Name, r.Contact.Email, r.Contact.Phone, r.Lang,
			core.SupportNew, ms(sent), ms(received), r.Message, shot).Scan(&id)
		if errors.Is(err, sql.ErrNoRows) {
			// Stored before, or no such device (ErrNotFound).
			err = tx.QueryRowContext(ctx, `SELECT id FROM support_requests WHERE device_id = $1 AND ref = $2`,
				r.DeviceID, r.Ref).Scan(&id)
			return s.wrap(op, err)
		}
		if err != nil {
			return s.wrap(op, err)
		}
		created = true
		for _, m := range outbox {
			if err := s.insertOutbox(ctx, tx, m); err != nil {
				return s.wrap(op+": queueing notification", err)
			}
		}
		return nil
	})
	if err != nil {
		return false, err
	}
	stored, err := s.GetSupportRequest(ctx, id)
	if err != nil {
		return false, err
	}
	*r = stored
	return created, nil
}

// GetSupportRequest returns one request with its replies; ErrNotFound.
func (s *DB) GetSupportRequest(ctx context.Context, id int64) (core.SupportRequest, error) {
	r, err := scanSupportRequest(s.db.QueryRowContext(ctx, `SELECT `+supportColumns+` WHERE sr.id = $1`, id))
	if err != nil {
		return core.SupportRequest{}, s.wrap("get support request", err)
	}
	rs := []core.SupportRequest{r}
	if err := s.fillReplies(ctx, rs); err != nil {
		return core.SupportRequest{}, err
	}
	return rs[0], nil
}

// SupportScreenshot returns a request's screenshot; ErrNotFound for an
// unknown request or one without a screenshot.
func (s *DB) SupportScreenshot(ctx context.Context, id int64) ([]byte, error) {
	var png []byte
	err := s.db.QueryRowContext(ctx, `SELECT screenshot FROM support_requests WHERE id = $1 AND screenshot IS NOT NULL`, id).Scan(&png)
	return png, s.wrap("get support screenshot", err)
}

// ListSupportRequests lists the requests f selects, newest received first,
// without replies or screenshots, with the total count before f.Limit.
// Every condition is on support_requests' own columns, so the count reads
// an index alone.
func (s *DB) ListSupportRequests(ctx context.Context, f core.SupportFilter) ([]core.SupportRequest, int, error) {
	const op = "list support requests"
	if f.State != "" && !core.ValidSupportState(f.State) {
		return nil, 0, fmt.Errorf("store: %s: state %q: %w", op, f.State, core.ErrInvalid)
	}
	conds := []string{"1 = 1"}
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	if f.ClientID != 0 {
		conds = append(conds, "sr.client_id = "+arg(f.ClientID))
	}
	if f.DeviceID != 0 {
		conds = append(conds, "sr.device_id = "+arg(f.DeviceID))
	}
	if f.State != "" {
		conds = append(conds, "sr.state = "+arg(f.State))
	}
	if !f.Since.IsZero() {
		conds = append(conds, "sr.received_at >= "+arg(ms(f.Since)))
	}
	if f.Scope.Restricted {
		in := []string{"NULL"} // no client: matches nothing
		for _, c := range f.Scope.Clients {
			in = append(in, arg(c))
		}
		conds = append(conds, "sr.client_id IN ("+strings.Join(in, ", ")+")")
	}
	where := " WHERE " + strings.Join(conds, " AND ")
	var total int
	if err := s.db.QueryRowContext(ctx, `SELECT count(*) FROM support_requests sr`+where, args...).Scan(&total); err != nil {
		return nil, 0, s.wrap(op+": counting", err)
	}
	if !f.After.First() {
		at, id := arg(ms(f.After.At)), arg(f.After.ID)
		where += fmt.Sprintf(" AND (sr.received_at < %[1]s OR (sr.received_at = %[1]s AND sr.id < %[2]s))", at, id)
	}
	// The page's IDs first: sorting them alone reads the indexes only,
	// not the rows of every request the filter selects.
	out, err := s.querySupportRequests(ctx, op, ` WHERE sr.id IN (SELECT sr.id FROM support_requests sr`+where+
		` ORDER BY sr.received_at DESC, sr.id DESC LIMIT `+arg(limitOrAll(f.Limit))+`)
		ORDER BY sr.received_at DESC, sr.id DESC`, args...)
	return out, total, err
}

// querySupportRequests reads the requests that tail (WHERE … ORDER BY …)
// selects, without replies.
func (s *DB) querySupportRequests(ctx context.Context, op, tail string, args ...any) ([]core.SupportRequest, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+supportColumns+tail, args...)
	if err != nil {
		return nil, s.wrap(op, err)
	}
	defer rows.Close()
	out := []core.SupportRequest{}
	for rows.Next() {
		r, err := scanSupportRequest(rows)
		if err != nil {
			return nil, s.wrap(op, err)
		}
		out = append(out, r)
	}
	return out, s.wrap(op, rows.Err())
}

// UpdateSupportRequest sets the state (if u.State is not "") and adds a
// reply (if u.Reply.Body is not "") in one transaction, with updated_at =
// u.At (zero: now), and returns the request as it is now with its replies.
// An unknown state, or neither a state nor a reply, is ErrInvalid; an
// unknown id ErrNotFound.
func (s *DB) UpdateSupportRequest(ctx context.Context, id int64, u core.SupportUpdate) (core.SupportRequest, error) {
	const op = "update support request"
	if u.State != "" && !core.ValidSupportState(u.State) {
		return core.SupportRequest{}, fmt.Errorf("store: %s: state %q: %w", op, u.State, core.ErrInvalid)
	}
	if u.State == "" && u.Reply.Body == "" {
		return core.SupportRequest{}, fmt.Errorf("store: %s: neither a state nor a reply: %w", op, core.ErrInvalid)
	}
	at := ms(orNow(u.At))
	err := s.inTx(ctx, op, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE support_requests SET state = COALESCE(NULLIF($2, ''), state), updated_at = $3
			WHERE id = $1`, id, u.State, at)
		if err := s.affectedOne(op, res, err); err != nil {
			return err
		}
		if u.Reply.Body == "" {
			return nil
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO support_replies (request_id, author, body, created_at)
			VALUES ($1, $2, $3, $4)`, id, u.Reply.Author, u.Reply.Body, at)
		return s.wrap(op+": adding reply", err)
	})
	if err != nil {
		return core.SupportRequest{}, err
	}
	return s.GetSupportRequest(ctx, id)
}

// DeviceSupportRequests lists a device's requests received at or after
// since, with replies, newest first, at most limit (≤ 0: all).
func (s *DB) DeviceSupportRequests(ctx context.Context, deviceID int64, since time.Time, limit int) ([]core.SupportRequest, error) {
	const op = "list device support requests"
	out, err := s.querySupportRequests(ctx, op, ` WHERE sr.device_id = $1 AND sr.received_at >= $2
		ORDER BY sr.received_at DESC, sr.id DESC LIMIT $3`, deviceID, ms(since), limitOrAll(limit))
	if err != nil {
		return nil, err
	}
	return out, s.fillReplies(ctx, out)
}

// fillReplies sets the replies of rs, oldest first, in one query.
func (s *DB) fillReplies(ctx context.Context, rs []core.SupportRequest) error {
	const op = "reading support replies"
	if len(rs) == 0 {
		return nil
	}
	at := make(map[int64]int, len(rs))
	ph := make([]string, len(rs))
	args := make([]any, len(rs))
	for i, r := range rs {
		at[r.ID] = i
		ph[i] = "$" + strconv.Itoa(i+1)
		args[i] = r.ID
	}
	rows, err := s.db.QueryContext(ctx, `SELECT request_id, id, author, body, created_at FROM support_replies
		WHERE request_id IN (`+strings.Join(ph, ", ")+`) ORDER BY created_at, id`, args...)
	if err != nil {
		return s.wrap(op, err)
	}
	defer rows.Close()
	for rows.Next() {
		var req, created int64
		var p core.SupportReply
		if err := rows.Scan(&req, &p.ID, &p.Author, &p.Body, &created); err != nil {
			return s.wrap(op, err)
		}
		p.CreatedAt = fromMS(created)
		i := at[req]
		rs[i].Replies = append(rs[i].Replies, p)
	}
	return s.wrap(op, rows.Err())
}

// pruneSupportRequests deletes the requests done before cutoff (by their
// last change), their replies with them.
func (s *DB) pruneSupportRequests(ctx context.Context, cutoff int64) (int64, error) {
	res, err := s.db.ExecContext(ctx, `DELETE FROM support_requests WHERE state = $1 AND updated_at < $2`,
		core.SupportDone, cutoff)
	if err != nil {
		return 0, s.wrap("history: deleting support requests", err)
	}
	n, _ := res.RowsAffected()
	return n, nil
}
