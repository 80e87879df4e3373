package auth

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"image/png"
	"net/url"
	"strings"
	"time"

	"github.com/pquerna/otp"
	"github.com/pquerna/otp/totp"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TOTP parameters: RFC 6238 defaults (30 s, 6 digits, SHA-1), which every
// authenticator app supports. One step of clock skew either way is accepted.
const (
	totpPeriod = 30
	totpSkew   = 1
	// RecoveryCodes is how many one-time recovery codes a user gets.
	RecoveryCodes = 10
)

var totpOpts = totp.ValidateOpts{Period: totpPeriod, Digits: otp.DigitsSix, Algorithm: otp.AlgorithmSHA1}

// TOTPKey is a new TOTP secret with what the enrolment page shows.
type TOTPKey struct {
	Secret string // base32
	URL    string // otpauth://totp/…
	QRPNG  string // data: URL of a QR code of URL
}

// NewTOTP generates a secret for account (the user's e-mail).
func NewTOTP(account string) (TOTPKey, error) {
	k, err := totp.Generate(totp.GenerateOpts{Issuer: "Wacht", AccountName: account, Period: totpPeriod})
	if err != nil {
		return TOTPKey{}, fmt.Errorf("generating TOTP secret: %w", err)
	}
	return keyView(k), nil
}

// TOTPKeyFor rebuilds the enrolment view of an existing secret.
func TOTPKeyFor(account, secret string) (TOTPKey, error) {
	v := url.Values{}
	v.Set("secret", secret)
	v.Set("issuer", "Wacht")
	v.Set("period", "30")
	v.Set("algorithm", "SHA1")
	v.Set("digits", "6")
	u := url.URL{Scheme: "otpauth", Host: "totp", Path: "/Wacht:" + account, RawQuery: v.Encode()}
	k, err := otp.NewKeyFromURL(u.String())
	if err != nil {
		return TOTPKey{}, fmt.Errorf("TOTP key: %w", err)
	}
	return keyView(k), nil
}

func keyView(k *otp.Key) TOTPKey {
	out := TOTPKey{Secret: k.Secret(), URL: k.URL()}
	if img, err := k.Image(200, 200); err == nil {
		var buf bytes.Buffer
		if png.Encode(&buf, img) == nil {
			out.QRPNG = "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
		}
	}
	return out
}

// CheckTOTP returns the time step whose code equals code (within the
// accepted skew), so that the caller can refuse a replay of that step.
func CheckTOTP(secret, code string, now time.Time) (step int64, ok bool) {
	code = strings.ReplaceAll(strings.TrimSpace(code), " ", "")
	if len(code) != 6 || secret == "" {
		return 0, false
	}
	for d := -totpSkew; d <= totpSkew; d++ {
		t := now.Add(time.Duration(d*totpPeriod) * time.Second)
		want, err := totp.GenerateCodeCustom(secret, t, totpOpts)
		if err == nil && subtle.ConstantTimeCompare([]byte(want), []byte(code)) == 1 {
			return t.Unix() / totpPeriod, true
		}
	}
	return 0, false
}

// NewRecoveryCodes returns RecoveryCodes random codes such as
// "k3xq-7m2p-a9vd" (60 bits each), to be shown once and stored hashed.
func NewRecoveryCodes() []string {
	enc := base32.NewEncoding("abcdefghijkmnpqrstuvwxyz23456789").WithPadding(base32.NoPadding)
	out := make([]string, RecoveryCodes)
	for i := range out {
		b := make([]byte, 8)
		if _, err := rand.Read(b); err != nil {
			panic(err)
		}
		s := enc.EncodeToString(b)[:12]
		out[i] = s[:4] + "-" + s[4:8] + "-" + s[8:]
	}
	return out
}

// HashRecoveryCode normalizes (case, spaces, dashes) and hashes a code.
func HashRecoveryCode(code string) []byte {
	c := strings.ToLower(strings.NewReplacer("-", "", " ", "").Replace(strings.TrimSpace(code)))
	return HashSecret("wacht-recovery:" + c)
}

// ErrSecondFactor is the one answer to a wrong, replayed or unknown second
// factor.
var ErrSecondFactor = fmt.Errorf("wrong or already used code: %w", core.ErrUnauthorized)

// SecondFactor checks code as a TOTP code (refusing replays) or, failing
// that, as an unused recovery code, which it uses up. It returns whether a
// recovery code was used.
func SecondFactor(ctx context.Context, st core.AccessStore, userID int64, code string, now time.Time) (recovery bool, err error) {
	secret, enabled, _, err := st.GetTOTP(ctx, userID)
	if err != nil {
		return false, fmt.Errorf("reading TOTP: %w", err)
	}
	if !enabled {
		return false, ErrSecondFactor
	}
	if step, ok := CheckTOTP(secret, code, now); ok {
		if err := st.UseTOTPStep(ctx, userID, step); err != nil {
			if errors.Is(err, core.ErrConflict) {
				return false, ErrSecondFactor
			}
			return false, err
		}
		return false, nil
	}
	if err := st.UseRecoveryCode(ctx, userID, HashRecoveryCode(code), now); err != nil {
		if errors.Is(err, core.ErrNotFound) {
			return false, ErrSecondFactor
		}
		return false, err
	}
	return true, nil
}

// PendingLogin signs "password accepted, second factor outstanding" for a
// short time, in a cookie, so that any server replica can finish the
// login. key is a server-wide secret.
type PendingLogin struct {
	Key []byte
	TTL time.Duration
}

// Issue returns a token for userID valid until now+TTL.
func (p PendingLogin) Issue(userID int64, now time.Time) string {
	var b [24]byte
	binary.BigEndian.PutUint64(b[:8], uint64(userID))
	binary.BigEndian.PutUint64(b[8:16], uint64(now.Add(p.TTL).Unix()))
	if _, err := rand.Read(b[16:]); err != nil {
		panic(err)
	}
	m := hmac.New(sha256.New, p.Key)
	m.Write(b[:])
	return base64.RawURLEncoding.EncodeToString(append(b[:], m.Sum(nil)...))
}

// Check returns the user ID of a valid, unexpired token.
func (p PendingLogin) Check(tok string, now time.Time) (int64, bool) {
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil || len(raw) != 24+sha256.Size || len(p.Key) == 0 {
		return 0, false
	}
	m := hmac.New(sha256.New, p.Key)
	m.Write(raw[:24])
	if !hmac.Equal(m.Sum(nil), raw[24:]) {
		return 0, false
	}
	if now.Unix() >= int64(binary.BigEndian.Uint64(raw[8:16])) {
		return 0, false
	}
	return int64(binary.BigEndian.Uint64(raw[:8])), true
}
