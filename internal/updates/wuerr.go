package updates

import (
	"errors"
	"fmt"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The Windows Update Agent's error codes (WU_E_*, and the Windows and
// component-based servicing HRESULTs an update install commonly ends
// with) in English and German, with what to do where there is something.
// Portable, so that the server and the tests on Linux word them too.

type wuCode struct {
	name   string
	en, de string
	// is is the sentinel the code means, if any (ErrDiskFull, ErrBusy).
	is error
}

var wuCodes = map[uint32]wuCode{
	// Connection to Microsoft Update or the WSUS.
	0x8024402C: {"WU_E_PT_WINHTTP_NAME_NOT_RESOLVED", "the update server's name could not be resolved (DNS or proxy settings)", "der Name des Update-Servers konnte nicht aufgelöst werden (DNS- oder Proxy-Einstellungen)", nil},
	0x80244022: {"WU_E_PT_HTTP_STATUS_SERVICE_UNAVAIL", "the update server is unavailable (HTTP 503); the WSUS may be overloaded or its application pool stopped", "der Update-Server ist nicht verfügbar (HTTP 503); der WSUS ist eventuell überlastet oder sein Anwendungspool gestoppt", nil},
	0x80244017: {"WU_E_PT_HTTP_STATUS_DENIED", "the update server refused access (HTTP 401)", "der Update-Server hat den Zugriff verweigert (HTTP 401)", nil},
	0x80244018: {"WU_E_PT_HTTP_STATUS_FORBIDDEN", "the update server or a proxy forbade the request (HTTP 403)", "der Update-Server oder ein Proxy hat die Anfrage abgelehnt (HTTP 403)", nil},
	0x80244019: {"WU_E_PT_HTTP_STATUS_NOT_FOUND", "the update server does not know the requested address (HTTP 404); check the WSUS URL", "der Update-Server kennt die angefragte Adresse nicht (HTTP 404); WSUS-Adresse prüfen", nil},
	0x8024401C: {"WU_E_PT_HTTP_STATUS_REQUEST_TIMEOUT", "the update server did not answer in time (HTTP 408)", "der Update-Server hat nicht rechtzeitig geantwortet (HTTP 408)", nil},
	0x8024401F: {"WU_E_PT_HTTP_STATUS_SERVER_ERROR", "the update server failed (HTTP 500)", "Fehler auf dem Update-Server (HTTP 500)", nil},
	0x80244010: {"WU_E_PT_EXCEEDED_MAX_SERVER_TRIPS", "the update server needed too many round trips; the search must be repeated", "der Update-Server brauchte zu viele Anfragen; die Suche muss wiederholt werden", nil},
	0x80240438: {"WU_E_PT_ENDPOINT_UNREACHABLE", "there is no route to the update server", "der Update-Server ist nicht erreichbar", nil},
	0x8024001F: {"WU_E_NO_CONNECTION", "there is no network connection", "es besteht keine Netzwerkverbindung", nil},
	0x8024002E: {"WU_E_WU_DISABLED", "group policy forbids connecting to Windows Update on the Internet and no WSUS is set", "eine Gruppenrichtlinie verbietet die Verbindung zu Windows Update im Internet, und kein WSUS ist eingestellt", nil},
	0x8024500C: {"WU_E_REDIRECTOR_CONNECT_POLICY", "group policy blocks connections to Windows Update", "eine Gruppenrichtlinie blockiert Verbindungen zu Windows Update", nil},
	0x80072EE2: {"ERROR_INTERNET_TIMEOUT", "the connection to the update server timed out", "Zeitüberschreitung bei der Verbindung zum Update-Server", nil},
	0x80072EE7: {"ERROR_INTERNET_NAME_NOT_RESOLVED", "the update server's name could not be resolved", "der Name des Update-Servers konnte nicht aufgelöst werden", nil},
	0x80072EFD: {"ERROR_INTERNET_CANNOT_CONNECT", "no connection to the update server could be made (firewall or proxy)", "keine Verbindung zum Update-Server möglich (Firewall oder Proxy)", nil},
	0x80072EFE: {"ERROR_INTERNET_CONNECTION_ABORTED", "the connection to the update server was aborted", "die Verbindung zum Update-Server wurde abgebrochen", nil},
	0x80072F8F: {"ERROR_INTERNET_SECURE_FAILURE", "the TLS connection to the update server failed (check the clock and TLS inspection)", "die TLS-Verbindung zum Update-Server ist fehlgeschlagen (Uhrzeit und TLS-Inspektion prüfen)", nil},
	0x8024A105: {"WU_E_AU_NO_REGISTERED_SERVICE", "Automatic Updates has no registered update service; the Windows Update components may need a reset", "Automatische Updates hat keinen registrierten Update-Dienst; die Windows-Update-Komponenten müssen eventuell zurückgesetzt werden", nil},
	// Agent and service state.
	0x8024001E: {"WU_E_SERVICE_STOP", "the Windows Update service or Windows was shutting down", "der Windows-Update-Dienst oder Windows wurde gerade heruntergefahren", nil},
	0x80070422: {"ERROR_SERVICE_DISABLED", "the Windows Update service is disabled", "der Windows-Update-Dienst ist deaktiviert", nil},
	0x80240016: {"WU_E_INSTALL_NOT_ALLOWED", "another installation is running or a restart is pending", "eine andere Installation läuft oder ein Neustart steht aus", ErrBusy},
	0x80070BC9: {"ERROR_FAIL_REBOOT_REQUIRED", "a previous installation needs a restart first", "eine frühere Installation braucht zuerst einen Neustart", nil},
	0x8024000B: {"WU_E_CALL_CANCELLED", "the operation was cancelled", "der Vorgang wurde abgebrochen", nil},
	0x80240020: {"WU_E_NO_INTERACTIVE_USER", "the update needs a logged-on user", "das Update braucht einen angemeldeten Benutzer", nil},
	0x80040154: {"REGDB_E_CLASSNOTREG", "the Windows Update Agent is not registered on this system", "der Windows Update Agent ist auf diesem System nicht registriert", nil},
	// Downloads and installs.
	0x80240022: {"WU_E_ALL_UPDATES_FAILED", "the operation failed for all updates", "der Vorgang ist für alle Updates fehlgeschlagen", nil},
	0x80240017: {"WU_E_NOT_APPLICABLE", "the update does not apply to this system (any more)", "das Update ist für dieses System nicht (mehr) anwendbar", nil},
	0x8024200D: {"WU_E_UH_NEEDANOTHERDOWNLOAD", "the update must be downloaded again", "das Update muss erneut heruntergeladen werden", nil},
	0x80246007: {"WU_E_DM_NOTDOWNLOADED", "the update has not been downloaded", "das Update wurde nicht heruntergeladen", nil},
	0x80246008: {"WU_E_DM_BITSTRANSFERERROR", "the download (BITS) failed", "der Download (BITS) ist fehlgeschlagen", nil},
	0x80070643: {"ERROR_INSTALL_FAILURE", "fatal error during installation (for KB5034441: the recovery partition is too small)", "schwerwiegender Fehler bei der Installation (bei KB5034441: die Wiederherstellungspartition ist zu klein)", nil},
	0x800F0922: {"CBS_E_INSTALLERS_FAILED", "the update's installers failed (often: the system reserved partition is too small, or no connection to Windows Update for .NET)", "die Installationsprogramme des Updates sind fehlgeschlagen (oft: die Systempartition ist zu klein, oder keine Verbindung zu Windows Update für .NET)", nil},
	0x80073712: {"ERROR_SXS_COMPONENT_STORE_CORRUPT", "the component store is corrupt; run DISM /Online /Cleanup-Image /RestoreHealth", "der Komponentenspeicher ist beschädigt; DISM /Online /Cleanup-Image /RestoreHealth ausführen", nil},
	0x800F081F: {"CBS_E_SOURCE_MISSING", "the source files for the update could not be found", "die Quelldateien für das Update wurden nicht gefunden", nil},
	0x800F0831: {"CBS_E_STORE_CORRUPTION", "the component store is missing a package the update needs; run DISM /RestoreHealth", "dem Komponentenspeicher fehlt ein Paket, das das Update braucht; DISM /RestoreHealth ausführen", nil},
	0x80070070: {"ERROR_DISK_FULL", "there is not enough free disk space", "es ist nicht genug freier Speicherplatz vorhanden", ErrDiskFull},
	0x80070027: {"ERROR_HANDLE_DISK_FULL", "the disk is full", "der Datenträger ist voll", ErrDiskFull},
	0x80070005: {"E_ACCESSDENIED", "access denied", "Zugriff verweigert", nil},
	0x80070020: {"ERROR_SHARING_VIOLATION", "a file is in use by another process", "eine Datei wird von einem anderen Prozess verwendet", nil},
	0x800705B4: {"ERROR_TIMEOUT", "the operation timed out", "Zeitüberschreitung des Vorgangs", nil},
	0x8007000E: {"E_OUTOFMEMORY", "not enough memory", "nicht genug Arbeitsspeicher", nil},
	0x80004005: {"E_FAIL", "unspecified failure", "nicht näher bezeichneter Fehler", nil},
	0x80004001: {"E_NOTIMPL", "not implemented by this Windows Update Agent", "von diesem Windows Update Agent nicht implementiert", nil},
	0x80020009: {"DISP_E_EXCEPTION", "the Windows Update Agent raised an exception", "der Windows Update Agent hat eine Ausnahme ausgelöst", nil},
}

// WUText words an HRESULT of the Windows Update Agent: its code, name
// and meaning; an unknown one by its facility.
func WUText(hr uint32) core.Text {
	if c, ok := wuCodes[hr]; ok {
		return core.Text{
			EN: fmt.Sprintf("0x%08X %s: %s", hr, c.name, c.en),
			DE: fmt.Sprintf("0x%08X %s: %s", hr, c.name, c.de),
		}
	}
	switch facility := (hr >> 16) & 0x1FFF; {
	case hr&0x80000000 == 0:
		return core.Text{EN: fmt.Sprintf("0x%08X: not an error code", hr), DE: fmt.Sprintf("0x%08X: kein Fehlercode", hr)}
	case facility == 0x24: // FACILITY_WINDOWSUPDATE
		return core.Text{EN: fmt.Sprintf("0x%08X: Windows Update error", hr), DE: fmt.Sprintf("0x%08X: Windows-Update-Fehler", hr)}
	case facility == 7: // FACILITY_WIN32
		return core.Text{EN: fmt.Sprintf("0x%08X: Windows error %d", hr, hr&0xFFFF), DE: fmt.Sprintf("0x%08X: Windows-Fehler %d", hr, hr&0xFFFF)}
	case facility == 0x0F: // FACILITY_SETUPAPI, component-based servicing
		return core.Text{EN: fmt.Sprintf("0x%08X: servicing (CBS) error", hr), DE: fmt.Sprintf("0x%08X: Wartungsfehler (CBS)", hr)}
	}
	return core.Text{EN: fmt.Sprintf("0x%08X: COM error", hr), DE: fmt.Sprintf("0x%08X: COM-Fehler", hr)}
}

// WUCode is the code as PatchAttempt.Code carries it: "0x80070643".
func WUCode(hr uint32) string { return fmt.Sprintf("0x%08X", hr) }

// TextError is a failed update operation with its code and its meaning
// in English and German (the patch report's source message and attempt
// message take Text). It is also the sentinel (ErrBusy, ErrDiskFull) the
// code means, and wraps the underlying error.
type TextError struct {
	Code string
	Text core.Text
	Is   error
	Err  error
}

func (e *TextError) Error() string { return e.Text.EN }

func (e *TextError) Unwrap() []error {
	var out []error
	if e.Is != nil {
		out = append(out, e.Is)
	}
	if e.Err != nil {
		out = append(out, e.Err)
	}
	return out
}

// Localized returns the bilingual message (like ToolError's).
func (e *TextError) Localized() core.Text { return e.Text }

// ErrorText returns the English and German text of an error: the first
// error in its chain with a Localized method (TextError, ToolError), else
// the error's own text in both.
func ErrorText(err error) core.Text {
	if l, ok := errors.AsType[interface {
		error
		Localized() core.Text
	}](err); ok {
		return l.Localized()
	}
	return core.Text{EN: err.Error(), DE: err.Error()}
}

// wuError words an HRESULT error of operation op (EN, DE prefix) as a
// TextError.
func wuError(opEN, opDE string, hr uint32, err error) *TextError {
	t := WUText(hr)
	return &TextError{
		Code: WUCode(hr),
		Text: core.Text{EN: opEN + ": " + t.EN, DE: opDE + ": " + t.DE},
		Is:   wuCodes[hr].is,
		Err:  err,
	}
}
