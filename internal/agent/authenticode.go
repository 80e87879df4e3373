package agent

import (
	"fmt"
	"strings"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// Authenticode (issue 17): a package may require that its installer
// carries a valid Authenticode signature. The Windows agent asks
// WinVerifyTrust (authenticode_windows.go) about the copy that is about to
// run; what it refuses never starts. Other systems have no Authenticode
// and answer unsupported before downloading anything.

// WinVerifyTrust's answers that mean "no signature at all" (wintrust.h,
// winerror.h); every other failure is an invalid signature.
const (
	trustNoSignature     = 0x800B0100 // TRUST_E_NOSIGNATURE
	trustSubjectUnknown  = 0x800B0003 // TRUST_E_SUBJECT_FORM_UNKNOWN: not a signable file type
	trustProviderUnknown = 0x800B0001 // TRUST_E_PROVIDER_UNKNOWN
)

// checkAuthenticode refuses file unless its Authenticode signature is
// valid, with code authenticode and the reason in English and German.
func checkAuthenticode(file string) error {
	code, reason := verifyAuthenticode(file)
	return authenticodeRefusal(code, reason)
}

// trustNames are the symbolic names of WinVerifyTrust's usual answers:
// Windows has no message text for some (Wine for most).
var trustNames = map[uint32]string{
	trustNoSignature: "TRUST_E_NOSIGNATURE", trustSubjectUnknown: "TRUST_E_SUBJECT_FORM_UNKNOWN",
	trustProviderUnknown: "TRUST_E_PROVIDER_UNKNOWN", 0x80096010: "TRUST_E_BAD_DIGEST", 0x80096004: "TRUST_E_CERT_SIGNATURE",
	0x800B0109: "CERT_E_UNTRUSTEDROOT", 0x800B010A: "CERT_E_CHAINING", 0x800B0101: "CERT_E_EXPIRED",
	0x800B010C: "CERT_E_REVOKED", 0x800B0111: "TRUST_E_EXPLICIT_DISTRUST", 0x800B0004: "TRUST_E_SUBJECT_NOT_TRUSTED",
	0x80096019: "TRUST_E_BASIC_CONSTRAINTS", 0x800B0110: "CERT_E_WRONG_USAGE",
}

// authenticodeRefusal words WinVerifyTrust's result (0: trusted; text:
// the system's message for code, may be empty).
func authenticodeRefusal(code uint32, text string) error {
	reason := fmt.Sprintf("0x%08X", code)
	if name := trustNames[code]; name != "" {
		reason = name + " " + reason
	}
	if text != "" && !strings.HasPrefix(text, "winapi error") {
		reason += ": " + text
	}
	switch code {
	case 0:
		return nil
	case trustNoSignature, trustSubjectUnknown, trustProviderUnknown:
		return Errorf(protocol.CodeAuthenticode, "The installer has no Authenticode signature (%s); the package requires one, so it was not run.",
			"Das Installationsprogramm hat keine Authenticode-Signatur (%s); das Paket verlangt eine, daher wurde es nicht ausgeführt.", reason)
	}
	return Errorf(protocol.CodeAuthenticode, "The installer's Authenticode signature is not valid (%s); it was not run.",
		"Die Authenticode-Signatur des Installationsprogramms ist ungültig (%s); es wurde nicht ausgeführt.", reason)
}
