package agent

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestAuthenticodeFiles verifies real PE files with WinVerifyTrust. The
// Windows lane (test/e2e/wine_test.go) makes them on Linux with
// osslsigncode and a certificate it creates, and names their folder in
// WACHT_AUTHENTICODE_DIR: unsigned.dll, signed.dll (signed by that
// certificate, which no system trusts) and tampered.dll (signed, then a
// byte of its code changed). The unsigned one is refused as having no
// signature, the tampered one as invalid (TRUST_E_BAD_DIGEST). Windows
// refuses signed.dll too (CERT_E_UNTRUSTEDROOT); Wine 8 does not check
// the chain to a trusted root and accepts it (docs/windows.md), which the
// test states rather than hides.
func TestAuthenticodeFiles(t *testing.T) {
	dir := os.Getenv("WACHT_AUTHENTICODE_DIR")
	if dir == "" {
		t.Skip("WACHT_AUTHENTICODE_DIR is not set (the Windows lane sets it)")
	}
	wine := windows.NewLazySystemDLL("ntdll.dll").NewProc("wine_get_version").Find() == nil
	for name, want := range map[string]string{"unsigned.dll": "no Authenticode signature (TRUST_E_NOSIGNATURE",
		"tampered.dll": "not valid (TRUST_E_BAD_DIGEST", "signed.dll": "not valid (CERT_E_UNTRUSTEDROOT"} {
		code, text := verifyAuthenticode(filepath.Join(dir, name))
		t.Logf("%s: WinVerifyTrust 0x%08X %s", name, code, text)
		err := checkAuthenticode(filepath.Join(dir, name))
		if name == "signed.dll" && wine {
			if err != nil {
				t.Errorf("%s under Wine: %v; Wine 8 accepted a signature by an untrusted root before: update docs/windows.md", name, err)
			}
			continue
		}
		var ae *protocol.ActionError
		if !errors.As(err, &ae) || ae.Code != protocol.CodeAuthenticode || !strings.Contains(ae.Message.EN, want) || ae.Message.DE == "" {
			t.Errorf("%s: %v, want code authenticode saying %q", name, err, want)
		}
	}
}
