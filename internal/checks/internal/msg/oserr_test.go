package msg

import (
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"testing"

	"github.com/go-ole/go-ole"

	"github.com/wacht-rmm/wacht/internal/check"
)

func TestCallWordsBothLanguages(t *testing.T) {
	base := errors.New("Access is denied.")
	err := Call("QueryServiceConfig", base)
	if !errors.Is(err, base) {
		t.Fatal("the OS error is lost")
	}
	txt := check.ErrorText(fmt.Errorf("listing services: %w", err))
	if txt.EN != "QueryServiceConfig failed: Access is denied." || txt.DE != "QueryServiceConfig fehlgeschlagen: Access is denied." {
		t.Fatalf("got %+v", txt)
	}
	if Call("x", nil) != nil || Wrap("a", "b", nil) != nil || Program("p", nil, "") != nil || WMI("c", nil) != nil {
		t.Fatal("nil error must stay nil")
	}
	w := check.ErrorText(Wrap("reading the audit policy", "Lesen der Überwachungsrichtlinie", err))
	if w.DE != "Lesen der Überwachungsrichtlinie: QueryServiceConfig fehlgeschlagen: Access is denied." {
		t.Fatalf("got %+v", w)
	}
}

func TestProgramNotFound(t *testing.T) {
	_, lookErr := exec.LookPath("wacht-no-such-program")
	txt := check.ErrorText(Program(`C:\Windows\system32\auditpol.exe`, lookErr, ""))
	if !strings.Contains(txt.EN, `the program C:\Windows\system32\auditpol.exe was not found`) ||
		!strings.Contains(txt.DE, `das Programm C:\Windows\system32\auditpol.exe wurde nicht gefunden`) {
		t.Fatalf("got %+v", txt)
	}
	txt = check.ErrorText(Program("/bin/x", errors.New("exit status 2"), "bad flag"))
	if txt.DE != "das Programm /bin/x ist fehlgeschlagen: exit status 2: bad flag" {
		t.Fatalf("got %+v", txt)
	}
	refused := &check.NotAllowedError{Kind: check.Executable, Path: "/bin/x"}
	if got := Program("/bin/x", refused, ""); got != refused {
		t.Fatalf("a refusal must keep its own words, got %v", got)
	}
}

// TestWMIHRESULT: Wine answers some WMI classes with a COM error Windows'
// FormatMessage has no text for; the message names class and HRESULT.
func TestWMIHRESULT(t *testing.T) {
	err := WMI("MSFT_PhysicalDisk", ole.NewErrorWithDescription(0x80020005, "<nil>"))
	txt := check.ErrorText(fmt.Errorf("reading: %w", err))
	if txt.EN != "WMI query of MSFT_PhysicalDisk failed: HRESULT 0x80020005, type mismatch" ||
		txt.DE != "WMI-Abfrage von MSFT_PhysicalDisk fehlgeschlagen: HRESULT 0x80020005, Typkonflikt" {
		t.Fatalf("got %+v", txt)
	}
	txt = check.ErrorText(WMI("AntiVirusProduct", ole.NewErrorWithDescription(0x80041234, "Provider load failure")))
	if txt.EN != "WMI query of AntiVirusProduct failed: HRESULT 0x80041234, COM error (Provider load failure)" {
		t.Fatalf("got %+v", txt)
	}
	txt = check.ErrorText(WMI("X", errors.New("wmi: invalid entity type")))
	if txt.DE != "WMI-Abfrage von X fehlgeschlagen: wmi: invalid entity type" {
		t.Fatalf("got %+v", txt)
	}
}
