// Package uninstallreg reads the Windows uninstall registry
// (…\CurrentVersion\Uninstall): the one reader behind the agent's software
// inventory and swdetect's registry rules. FromValues, which turns a key's
// values into an Entry, is portable and tested on real registry exports;
// the registry access sits in uninstallreg_windows.go.
package uninstallreg

import (
	"strconv"
	"strings"
)

// Views an entry was read from.
const (
	View64   = "64"   // HKLM, 64-bit view
	View32   = "32"   // HKLM\SOFTWARE\WOW6432Node
	ViewUser = "user" // a loaded user hive (HKEY_USERS\<SID>, also its WOW6432Node)
)

// Key is the uninstall key below HKLM\ and HKEY_USERS\<SID>\.
const Key = `SOFTWARE\Microsoft\Windows\CurrentVersion\Uninstall`

// userKey32 is where some 32-bit installers put per-user entries.
const userKey32 = `SOFTWARE\WOW6432Node\Microsoft\Windows\CurrentVersion\Uninstall`

// Entry is one key under an uninstall key, with the values an inventory
// and a detection rule read. Strings are as the registry holds them
// (InstallDate is usually YYYYMMDD, but installers write what they like).
type Entry struct {
	Key            string // the key's name: the product code for an MSI
	View           string // View64, View32 or ViewUser
	SID            string // the user hive's SID for ViewUser
	DisplayName    string
	DisplayVersion string
	Publisher      string
	InstallDate    string
	// EstimatedSizeKiB is EstimatedSize, which Windows counts in KiB.
	EstimatedSizeKiB uint64
	// SystemComponent hides the entry from "Programs and Features".
	SystemComponent bool
	// ParentKeyName names the product an update entry belongs to.
	ParentKeyName string
}

// valueNames are the values FromValues reads.
var valueNames = []string{"DisplayName", "DisplayVersion", "Publisher", "InstallDate", "EstimatedSize", "SystemComponent", "ParentKeyName"}

// FromValues builds the entry of key from its values: a string for
// REG_SZ and REG_EXPAND_SZ, a uint64 for REG_DWORD and REG_QWORD. A value
// of an unexpected type is read the way Windows' own list would show it
// where that is unambiguous (a number written as a string), else ignored.
// Text is made valid UTF-8: Go decodes an unpaired UTF-16 surrogate in a
// registry string to WTF-8, which is no UTF-8; it becomes U+FFFD.
func FromValues(view, sid, key string, values map[string]any) Entry {
	e := Entry{Key: strings.ToValidUTF8(key, "\uFFFD"), View: view, SID: sid}
	e.DisplayName = text(values["DisplayName"])
	e.DisplayVersion = text(values["DisplayVersion"])
	e.Publisher = text(values["Publisher"])
	e.InstallDate = text(values["InstallDate"])
	e.ParentKeyName = text(values["ParentKeyName"])
	e.EstimatedSizeKiB, _ = number(values["EstimatedSize"])
	n, _ := number(values["SystemComponent"])
	e.SystemComponent = n == 1
	return e
}

func text(v any) string {
	switch v := v.(type) {
	case string:
		return strings.ToValidUTF8(strings.TrimSpace(v), "\uFFFD")
	case uint64:
		return strconv.FormatUint(v, 10)
	}
	return ""
}

func number(v any) (uint64, bool) {
	switch v := v.(type) {
	case uint64:
		return v, true
	case string:
		n, err := strconv.ParseUint(strings.TrimSpace(v), 10, 64)
		return n, err == nil
	}
	return 0, false
}
