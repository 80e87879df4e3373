package agent

import (
	"errors"
	"strings"
	"syscall"
	"unsafe"

	"golang.org/x/sys/windows"
)

const authenticodeSupported = true

// verifyAuthenticode asks WinVerifyTrust (WINTRUST_ACTION_GENERIC_VERIFY_V2,
// no UI) whether file's embedded signature is valid and chains to a
// trusted root. Revocation is not checked: an agent without internet
// access would refuse every installer (docs/security.md). It returns 0
// or WinVerifyTrust's code with its text.
func verifyAuthenticode(file string) (uint32, string) {
	path, err := windows.UTF16PtrFromString(file)
	if err != nil {
		return uint32(windows.TRUST_E_SUBJECT_FORM_UNKNOWN), err.Error()
	}
	data := &windows.WinTrustData{
		Size:             uint32(unsafe.Sizeof(windows.WinTrustData{})),
		UIChoice:         windows.WTD_UI_NONE,
		RevocationChecks: windows.WTD_REVOKE_NONE,
		UnionChoice:      windows.WTD_CHOICE_FILE,
		StateAction:      windows.WTD_STATEACTION_VERIFY,
		FileOrCatalogOrBlobOrSgnrOrCert: unsafe.Pointer(&windows.WinTrustFileInfo{
			Size:     uint32(unsafe.Sizeof(windows.WinTrustFileInfo{})),
			FilePath: path,
		}),
	}
	verr := windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	data.StateAction = windows.WTD_STATEACTION_CLOSE // frees what VERIFY kept
	_ = windows.WinVerifyTrustEx(windows.InvalidHWND, &windows.WINTRUST_ACTION_GENERIC_VERIFY_V2, data)
	if verr == nil {
		return 0, ""
	}
	var errno syscall.Errno
	if !errors.As(verr, &errno) {
		return uint32(windows.TRUST_E_SYSTEM_ERROR), verr.Error()
	}
	return uint32(errno), strings.TrimSpace(strings.TrimSuffix(errno.Error(), "."))
}
