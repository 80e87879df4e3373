package updates

import (
	"errors"
	"strings"
	"testing"
)

func TestWUText(t *testing.T) {
	cases := []struct {
		hr       uint32
		en, de   string
		sentinel error
	}{
		{0x8024402C, "0x8024402C WU_E_PT_WINHTTP_NAME_NOT_RESOLVED: the update server's name", "nicht aufgelöst", nil},
		{0x80240022, "WU_E_ALL_UPDATES_FAILED", "für alle Updates", nil},
		{0x8024001E, "WU_E_SERVICE_STOP", "heruntergefahren", nil},
		{0x80070643, "ERROR_INSTALL_FAILURE", "Wiederherstellungspartition", nil},
		{0x800F0922, "CBS_E_INSTALLERS_FAILED", "Systempartition", nil},
		{0x80073712, "RestoreHealth", "Komponentenspeicher", nil},
		{0x8024200D, "downloaded again", "erneut heruntergeladen", nil},
		{0x80240017, "does not apply", "nicht (mehr) anwendbar", nil},
		{0x8024A105, "no registered update service", "keinen registrierten", nil},
		{0x80244022, "HTTP 503", "HTTP 503", nil},
		{0x80070005, "access denied", "Zugriff verweigert", nil},
		{0x80070070, "not enough free disk space", "Speicherplatz", ErrDiskFull},
		{0x80240016, "another installation", "andere Installation", ErrBusy},
		// Unknown codes are worded by facility, never as success.
		{0x80249999, "0x80249999: Windows Update error", "Windows-Update-Fehler", nil},
		{0x800700B7, "Windows error 183", "Windows-Fehler 183", nil},
		{0x800F0999, "servicing (CBS) error", "Wartungsfehler", nil},
		{0x8004D000, "COM error", "COM-Fehler", nil},
	}
	for _, c := range cases {
		got := WUText(c.hr)
		if !strings.Contains(got.EN, c.en) || !strings.Contains(got.DE, c.de) || got.EN == got.DE && c.en != c.de {
			t.Errorf("WUText(0x%08X) = %+v, want %q / %q", c.hr, got, c.en, c.de)
		}
		if !strings.HasPrefix(got.EN, WUCode(c.hr)) {
			t.Errorf("WUText(0x%08X) = %q does not start with its code", c.hr, got.EN)
		}
		err := wuError("op", "Vorgang", c.hr, errors.New("cause"))
		if c.sentinel != nil && !errors.Is(err, c.sentinel) {
			t.Errorf("0x%08X is not %v", c.hr, c.sentinel)
		}
		if c.sentinel == nil && (errors.Is(err, ErrDiskFull) || errors.Is(err, ErrBusy)) {
			t.Errorf("0x%08X is a sentinel it is not", c.hr)
		}
		if err.Code != WUCode(c.hr) || ErrorText(err).DE != "Vorgang: "+got.DE {
			t.Errorf("wuError(0x%08X) = %+v", c.hr, err)
		}
	}
	if WUCode(0x80070643) != "0x80070643" {
		t.Error(WUCode(0x80070643))
	}
}
