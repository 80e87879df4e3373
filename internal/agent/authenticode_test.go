package agent

import (
	"errors"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestAuthenticodeRefusal words WinVerifyTrust's answers: trusted passes,
// no signature and an invalid one are refused with code authenticode,
// the symbolic name and the system's text where it has one.
func TestAuthenticodeRefusal(t *testing.T) {
	if err := authenticodeRefusal(0, ""); err != nil {
		t.Fatalf("trusted: %v", err)
	}
	for _, c := range []struct {
		code       uint32
		text, want string
	}{
		{0x800B0100, "No signature was present in the subject", "no Authenticode signature (TRUST_E_NOSIGNATURE 0x800B0100: No signature was present in the subject)"},
		{0x80096010, "winapi error #2148098064", "signature is not valid (TRUST_E_BAD_DIGEST 0x80096010)"},
		{0x800B0109, "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider",
			"not valid (CERT_E_UNTRUSTEDROOT 0x800B0109: A certificate chain processed"},
		{0x80001234, "", "not valid (0x80001234)"},
	} {
		err := authenticodeRefusal(c.code, c.text)
		var ae *protocol.ActionError
		if !errors.As(err, &ae) || ae.Code != protocol.CodeAuthenticode || !strings.Contains(ae.Message.EN, c.want) || !strings.Contains(ae.Message.DE, "0x") {
			t.Errorf("0x%08X: %v, want %q", c.code, err, c.want)
		}
	}
}
