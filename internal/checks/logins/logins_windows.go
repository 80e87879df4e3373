package logins

import (
	"context"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

func osSources(p params) ([]logsrc.Source, error) {
	return []logsrc.Source{{Name: "channel:Security", Reader: logsrc.WinLog{
		Channel: "Security", Cond: "(EventID=4625 or EventID=4740)", ReadXML: wevtapi.Read,
	}}}, nil
}

// auditpol is Windows' audit policy tool, which osAudit starts.
var auditpol = func() string {
	sys, err := windows.GetSystemDirectory()
	if err != nil {
		return `C:\Windows\System32\auditpol.exe`
	}
	return filepath.Join(sys, "auditpol.exe")
}()

func init() { check.AllowBuiltin(auditpol) }

// osAudit asks auditpol whether the Logon subcategory audits failures. The
// subcategory is named by GUID because its name is localised.
func osAudit(ctx context.Context) (bool, error) {
	out, err := logsrc.Exec(20*time.Second)(ctx, auditpol, "/get", "/subcategory:"+logonGUID, "/r")
	if err != nil {
		return false, err
	}
	return parseAuditpol(out)
}
