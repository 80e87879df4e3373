//go:build darwin

package antivirus

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"time"
)

// osSource on macOS: XProtect, plus Microsoft Defender for Endpoint and
// ClamAV (Homebrew) when installed.
type osSource struct{}

func (osSource) Products(ctx context.Context, p params) ([]product, error) {
	var out []product
	var found []xprotectFound
	for _, b := range xprotectBundles {
		info, errI := os.ReadFile(filepath.Join(b, "Contents", "Info.plist"))
		meta, errM := os.ReadFile(filepath.Join(b, "Contents", "Resources", "XProtect.meta.plist"))
		if errI != nil && errM != nil {
			if !errors.Is(errI, fs.ErrNotExist) {
				return nil, errI
			}
			continue
		}
		v, err := xprotectVersion(info, meta)
		if err != nil {
			return nil, err
		}
		mod := time.Time{}
		for _, f := range []string{"Contents/Info.plist", "Contents/Resources/XProtect.meta.plist", "Contents/Resources/XProtect.yara"} {
			if st, err := os.Stat(filepath.Join(b, f)); err == nil && st.ModTime().After(mod) {
				mod = st.ModTime()
			}
		}
		found = append(found, xprotectFound{Path: b, Version: v, Modified: mod})
	}
	if x, ok := fromXProtect(found, days(p.XProtectMaxAgeDays)); ok {
		out = append(out, x)
	}
	if m, ok, err := mdatpHealth(ctx, []string{"/usr/local/bin/mdatp"}, time.Now()); err != nil {
		return nil, err
	} else if ok {
		out = append(out, m)
	}
	if c, ok, err := clamAV(ctx, p.ClamAVDatabase, processNames); err != nil {
		return nil, err
	} else if ok {
		out = append(out, c)
	}
	return out, nil
}
