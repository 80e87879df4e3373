package tray

import "golang.org/x/sys/windows"

var procGetUserDefaultUILanguage = windows.NewLazySystemDLL("kernel32.dll").NewProc("GetUserDefaultUILanguage")

// DetectLang is the user's language from the OS: the Windows display
// language of the user.
func DetectLang() string {
	id, _, _ := procGetUserDefaultUILanguage.Call()
	return langFromLANGID(uint16(id))
}
