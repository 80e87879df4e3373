package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestAuthenticodeFiles verifies real PE files with WinVerifyTrust. The
// Windows lane (test/e2e/wine_test.go) makes them on Linux with
// osslsigncode and a self-made certificate and names their folder in
// WACHT_AUTHENTICODE_DIR: unsigned.dll, signed.dll (signed by a root the
// system does not trust) and tampered.dll (signed, then one byte
// changed). Each must be refused with code authenticode, in English and
// German; the unsigned one as "no signature".
func TestAuthenticodeFiles(t *testing.T) {
	dir := os.Getenv("WACHT_AUTHENTICODE_DIR")
	if dir == "" {
		t.Skip("WACHT_AUTHENTICODE_DIR is not set (the Windows lane sets it)")
	}
	for name, want := range map[string]string{"unsigned.dll": "no Authenticode signature", "signed.dll": "not valid", "tampered.dll": "not valid"} {
		code, reason := verifyAuthenticode(filepath.Join(dir, name))
		t.Logf("%s: WinVerifyTrust 0x%08X %s", name, code, reason)
		err := checkAuthenticode(filepath.Join(dir, name))
		var ae *protocol.ActionError
		if !errors.As(err, &ae) || ae.Code != protocol.CodeAuthenticode || !strings.Contains(ae.Message.EN, want) || ae.Message.DE == "" {
			t.Errorf("%s: %v, want code authenticode saying %q", name, err, want)
		}
	}
}
