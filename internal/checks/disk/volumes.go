package disk

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/core"
)

// FixedVolumes lists the mount points the disk check watches by default
// (fixed, writable, non-pseudo volumes), for checks that follow the same
// volumes, such as data growth.
// A *PartialError comes with the volumes that could be read.
func FixedVolumes(ctx context.Context) ([]string, error) {
	ps, err := osVolumes{goos: goos}.Partitions(ctx)
	if err != nil && !errors.As(err, new(*PartialError)) {
		return nil, err
	}
	var out []string
	for _, p := range fixedVolumes(goos, ps) {
		out = append(out, p.Mount)
	}
	return out, err
}

// Unread is a volume the OS listed, or should have, but could not read;
// Mount is empty where the OS did not say which volume.
type Unread struct {
	Mount string
	Err   error
}

// Result reports the volume as an error keyed by its mount point.
func (u Unread) Result() check.Result {
	why := check.ErrorText(u.Err)
	if u.Mount == "" {
		return check.Result{Status: core.StatusError, Message: core.Text{
			EN: "Some volumes could not be read: " + why.EN,
			DE: "Einige Datenträger konnten nicht gelesen werden: " + why.DE,
		}}
	}
	return check.Result{Key: u.Mount, Status: core.StatusError, Message: core.Text{
		EN: fmt.Sprintf("Disk %s could not be read: %s", u.Mount, why.EN),
		DE: fmt.Sprintf("Datenträger %s konnte nicht gelesen werden: %s", u.Mount, why.DE),
	}}
}

// PartialError is a volume list the OS could read only in part.
type PartialError struct{ Unread []Unread }

func (e *PartialError) Error() string {
	var parts []string
	for _, u := range e.Unread {
		parts = append(parts, u.Result().Message.EN)
	}
	return strings.Join(parts, "; ")
}

// Results reports each unreadable volume as an error result.
func (e *PartialError) Results() []check.Result {
	var out []check.Result
	for _, u := range e.Unread {
		out = append(out, u.Result())
	}
	return out
}

// has reports whether mount is one of the unreadable volumes (false for a
// nil e).
func (e *PartialError) has(goos, mount string) bool {
	return e != nil && slices.ContainsFunc(e.Unread, func(u Unread) bool { return u.Mount != "" && sameMount(goos, u.Mount, mount) })
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
