package disk

import (
	"context"

	"github.com/wacht-rmm/wacht/internal/core"
)

// FixedVolumes lists the mount points the disk check watches by default
// (fixed, writable, non-pseudo volumes), for checks that follow the same
// volumes, such as data growth.
func FixedVolumes(ctx context.Context) ([]string, error) {
	ps, err := osVolumes{goos: goos}.Partitions(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, p := range fixedVolumes(goos, ps) {
		out = append(out, p.Mount)
	}
	return out, nil
}

// Used returns the used and total bytes of the file system holding path.
func Used(ctx context.Context, path string) (used, total uint64, err error) {
	u, err := osVolumes{goos: goos}.Usage(ctx, path)
	return u.Used, u.Total, err
}

// NormMount normalises a mount point as the disk check keys it ("c:\" → "C:").
func NormMount(m string) string { return normMount(goos, m) }

// NoVolumes is the message of a check that found no volume to watch, so
// that it says so instead of reporting nothing.
var NoVolumes = core.Text{
	EN: "No volume to watch: no mounted file system is a fixed, writable disk",
	DE: "Kein Datenträger zu überwachen: kein eingehängtes Dateisystem ist ein fester, beschreibbarer Datenträger",
}
