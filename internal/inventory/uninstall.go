package inventory

import (
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/uninstallreg"
)

// viewSource names the program source of an uninstall registry view.
var viewSource = map[string]string{
	uninstallreg.View64:   core.SourceRegistry64,
	uninstallreg.View32:   core.SourceRegistry32,
	uninstallreg.ViewUser: core.SourceUser,
}

// programFromEntry turns an uninstall entry into a program, the way
// "Programs and Features" lists it: an entry without DisplayName, a
// SystemComponent and an update (ParentKeyName) are not programs. The
// version is kept as given, whatever it looks like; an InstallDate that
// is no date is dropped.
func programFromEntry(e uninstallreg.Entry) (core.Program, bool) {
	if e.DisplayName == "" || e.SystemComponent || e.ParentKeyName != "" {
		return core.Program{}, false
	}
	return core.Program{
		Name:        e.DisplayName,
		Version:     e.DisplayVersion,
		Publisher:   e.Publisher,
		InstallDate: compactDate(e.InstallDate),
		SizeBytes:   int64(min(e.EstimatedSizeKiB, 1<<43)) * 1024, // 8 PiB: a garbage size cannot overflow
		Source:      viewSource[e.View],
		ID:          e.Key,
	}, true
}

// compactDate turns YYYYMMDD into YYYY-MM-DD; anything else (a locale's
// date, garbage, 20231345) gives "".
func compactDate(s string) string {
	if len(s) != 8 {
		return ""
	}
	t, err := time.Parse("20060102", s)
	if err != nil {
		return ""
	}
	return t.Format(time.DateOnly)
}
