package agent

import (
	"fmt"

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

// authenticodeRefusal words WinVerifyTrust's result (0: trusted).
func authenticodeRefusal(code uint32, reason string) error {
	switch code {
	case 0:
		return nil
	case trustNoSignature, trustSubjectUnknown, trustProviderUnknown:
		return Errorf(protocol.CodeAuthenticode, "The installer has no Authenticode signature (%s, 0x%08X); the package requires one, so it was not run.",
			"Das Installationsprogramm hat keine Authenticode-Signatur (%s, 0x%08X); das Paket verlangt eine, daher wurde es nicht ausgeführt.", reason, code)
	}
	return Errorf(protocol.CodeAuthenticode, "The installer's Authenticode signature is not valid (%s, 0x%08X); it was not run.",
		"Die Authenticode-Signatur des Installationsprogramms ist ungültig (%s, 0x%08X); es wurde nicht ausgeführt.", reason, code)
}

// trustReason is the text of a WinVerifyTrust code, for the message.
func trustReason(code uint32, text string) string {
	if text == "" {
		return fmt.Sprintf("code 0x%08X", code)
	}
	return text
}
