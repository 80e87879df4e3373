package blobs

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
	"time"
)

// TicketHeader carries an agent's download ticket.
const TicketHeader = "X-Wacht-Ticket"

// TicketPurpose derives the tickets' key from the server's secret key
// (seal.Box.Derive): every node of a cluster checks every node's tickets.
const TicketPurpose = "blob-ticket"

// ErrTicket refuses a missing, malformed, forged, expired or other blob's
// ticket.
var ErrTicket = errors.New("blobs: invalid or expired download ticket")

// Tickets issues and checks download tickets: "<device id>.<expiry, Unix
// seconds>.<MAC>", the MAC an HMAC-SHA256 over the device, the blob's
// SHA-256 and the expiry. A ticket names one device and one blob, so it
// neither opens another file nor serves another device.
type Tickets struct{ key []byte }

// NewTickets returns Tickets with a key of at least 32 bytes.
func NewTickets(key []byte) Tickets {
	if len(key) < 32 {
		panic("blobs: ticket key shorter than 32 bytes")
	}
	return Tickets{key: key}
}

func (t Tickets) mac(device int64, sum string, expires int64) []byte {
	m := hmac.New(sha256.New, t.key)
	m.Write([]byte("wacht blob ticket\x00" + strconv.FormatInt(device, 10) + "\x00" + sum + "\x00" + strconv.FormatInt(expires, 10)))
	return m.Sum(nil)
}

// Issue returns device's ticket for blob sum, good until expires.
func (t Tickets) Issue(device int64, sum string, expires time.Time) string {
	exp := expires.Unix()
	return strconv.FormatInt(device, 10) + "." + strconv.FormatInt(exp, 10) + "." +
		base64.RawURLEncoding.EncodeToString(t.mac(device, sum, exp))
}

// Check returns the device a ticket for blob sum was issued to, or
// ErrTicket. The MAC is compared in constant time.
func (t Tickets) Check(ticket, sum string, now time.Time) (int64, error) {
	f := strings.Split(ticket, ".")
	if len(f) != 3 {
		return 0, ErrTicket
	}
	device, err1 := strconv.ParseInt(f[0], 10, 64)
	exp, err2 := strconv.ParseInt(f[1], 10, 64)
	mac, err3 := base64.RawURLEncoding.DecodeString(f[2])
	if err1 != nil || err2 != nil || err3 != nil || device <= 0 {
		return 0, ErrTicket
	}
	if !hmac.Equal(mac, t.mac(device, sum, exp)) || now.Unix() >= exp {
		return 0, ErrTicket
	}
	return device, nil
}
