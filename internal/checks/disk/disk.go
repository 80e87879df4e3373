// Package disk is the "disk" check: used space per fixed volume, one result
// per volume keyed by its mount point ("/" or "C:"). Pseudo, virtual,
// network, removable and read-only file systems are skipped because they
// cannot fill up in a way a technician must act on.
package disk

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/shirou/gopsutil/v4/disk"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
)

// Name is the check's registered name.
const Name = "disk"

func init() {
	check.Register(checkspec.Disk, func(params json.RawMessage) (check.Check, error) {
		return newCheck(params, osVolumes{goos: goos})
	})
}

// partition is one mounted file system. DriveType is only known on
// Windows ("fixed", "removable", "remote", "cdrom", "ramdisk").
type partition struct {
	Device    string   `json:"device"`
	Mount     string   `json:"mountpoint"`
	FSType    string   `json:"fstype"`
	Opts      []string `json:"opts"`
	DriveType string   `json:"drive_type,omitempty"`
}

// usage is the space on one volume.
type usage struct {
	Total, Free, Used uint64
	UsedPercent       float64
}

// volumes is the OS access the check needs.
type volumes interface {
	Partitions(ctx context.Context) ([]partition, error)
	Usage(ctx context.Context, mount string) (usage, error)
}

// osVolumes reads through gopsutil; driveType is filled per OS.
type osVolumes struct{ goos string }

// listPartitions is gopsutil's volume list, replaced in tests.
var listPartitions = disk.PartitionsWithContext

func (v osVolumes) Partitions(ctx context.Context) ([]partition, error) {
	ps, err := listPartitions(ctx, false)
	if err != nil && len(ps) == 0 {
		return nil, msg.Unsupported(msg.Wrap("listing volumes", "Auflisten der Datenträger", err))
	}
	var unread []Unread
	if err != nil {
		// gopsutil returns partial lists with warnings on Windows, which
		// do not always say which volume they are about.
		unread = append(unread, Unread{Err: err})
	}
	if v.goos != "windows" && !slices.ContainsFunc(ps, func(p disk.PartitionStat) bool { return p.Mountpoint == "/" }) {
		// gopsutil's real-file-system list leaves out a root that is a
		// bind mount (nspawn, LXC: a directory bound as /) or of a "nodev"
		// type (Docker, Podman: overlay). A container's root can fill up
		// like any disk: take it from the full list, the last mount on /
		// being the one in effect.
		if all, err := disk.PartitionsWithContext(ctx, true); err == nil {
			for _, p := range slices.Backward(all) {
				if p.Mountpoint == "/" {
					ps = append(ps, p)
					break
				}
			}
		}
	}
	out := make([]partition, 0, len(ps))
	for _, p := range ps {
		if p.Mountpoint == "" {
			continue // gopsutil's entry for a drive without media
		}
		out = append(out, partition{Device: p.Device, Mount: p.Mountpoint, FSType: p.Fstype, Opts: p.Opts, DriveType: driveType(p.Mountpoint)})
	}
	if unread = append(unread, lostVolumes(out)...); len(unread) > 0 {
		return out, &PartialError{Unread: unread}
	}
	return out, nil
}

func (osVolumes) Usage(ctx context.Context, mount string) (usage, error) {
	u, err := disk.UsageWithContext(ctx, mount)
	if err != nil {
		return usage{}, msg.Unsupported(msg.Wrap("reading the usage of "+mount, "Lesen der Belegung von "+mount, err))
	}
	return usage{Total: u.Total, Free: u.Free, Used: u.Used, UsedPercent: u.UsedPercent}, nil
}

// pseudoFS are file systems that hold no user data on a fixed disk:
// kernel interfaces, memory-backed, container layers, images, network and
// optical media.
var pseudoFS = map[string]bool{
	"proc": true, "sysfs": true, "devtmpfs": true, "devpts": true, "tmpfs": true, "ramfs": true,
	"cgroup": true, "cgroup2": true, "securityfs": true, "pstore": true, "bpf": true, "debugfs": true,
	"tracefs": true, "configfs": true, "fusectl": true, "hugetlbfs": true, "mqueue": true, "autofs": true,
	"binfmt_misc": true, "rpc_pipefs": true, "nsfs": true, "efivarfs": true, "selinuxfs": true,
	"overlay": true, "overlayfs": true, "aufs": true, "squashfs": true, "iso9660": true, "udf": true,
	"cdfs": true, "nfs": true, "nfs4": true, "cifs": true, "smb3": true, "smbfs": true, "afpfs": true,
	"webdav": true, "9p": true, "devfs": true, "nullfs": true, "fdesc": true, "lxcfs": true, "nfsd": true,
}

// isPseudo reports whether fstype never counts as a fixed volume.
func isPseudo(fstype string) bool {
	t := strings.ToLower(fstype)
	// FUSE file systems are userspace views (gvfs, portals, sshfs, lxcfs).
	return pseudoFS[t] || strings.HasPrefix(t, "fuse.") || t == "fuse"
}

// pseudoMount reports mount points under kernel trees.
func pseudoMount(m string) bool {
	for _, p := range []string{"/proc", "/sys", "/dev", "/run", "/snap"} {
		if m == p || strings.HasPrefix(m, p+"/") {
			return true
		}
	}
	return false
}

func readOnly(opts []string) bool {
	for _, o := range opts {
		if o == "ro" {
			return true
		}
	}
	return false
}

// fixedVolumes selects the volumes worth watching from a partition list, in
// mount point order, each device once (bind mounts and btrfs subvolumes
// repeat a device; its shortest mount point is kept).
func fixedVolumes(goos string, ps []partition) []partition {
	var out []partition
	for _, p := range ps {
		p.Mount = normMount(goos, p.Mount)
		if goos == "windows" {
			// Windows knows exactly which drives are fixed disks.
			if p.DriveType == "fixed" {
				out = append(out, p)
			}
			continue
		}
		// A writable root is watched whatever its type: in a container it
		// is an overlay or a bind mount, and holds what fills up.
		root := p.Mount == "/"
		if !root && (isPseudo(p.FSType) || pseudoMount(p.Mount)) || readOnly(p.Opts) {
			// Read-only volumes (macOS's sealed system snapshot, mounted
			// images, optical media) cannot fill up.
			continue
		}
		if goos == "darwin" && strings.HasPrefix(p.Mount, "/System/Volumes/") && p.Mount != "/System/Volumes/Data" {
			// APFS system helper volumes (VM, Preboot, Update, ...) share
			// the container's space with the Data volume.
			continue
		}
		out = append(out, p)
	}
	return dedupe(out)
}

func dedupe(ps []partition) []partition {
	sort.SliceStable(ps, func(i, j int) bool {
		if len(ps[i].Mount) != len(ps[j].Mount) {
			return len(ps[i].Mount) < len(ps[j].Mount)
		}
		return ps[i].Mount < ps[j].Mount
	})
	seen := map[string]bool{}
	out := ps[:0]
	for _, p := range ps {
		if p.Device != "" && strings.HasPrefix(p.Device, "/dev/") {
			if seen[p.Device] {
				continue
			}
			seen[p.Device] = true
		}
		out = append(out, p)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Mount < out[j].Mount })
	return out
}

// normMount strips a trailing separator ("C:\Mount\Data\" → "C:\Mount\Data")
// but keeps roots ("/", "C:").
func normMount(goos, m string) string {
	if goos == "windows" {
		m = strings.TrimRight(m, `\/`)
		if len(m) == 2 && m[1] == ':' {
			m = strings.ToUpper(m)
		}
		return m
	}
	if len(m) > 1 {
		m = strings.TrimRight(m, "/")
	}
	return m
}

// sameMount compares mount points, ignoring case on Windows.
func sameMount(goos, a, b string) bool {
	a, b = normMount(goos, a), normMount(goos, b)
	if goos == "windows" {
		return strings.EqualFold(a, b)
	}
	return a == b
}

type params struct {
	check.Thresholds          // used space in percent
	Volumes          []string `json:"volumes"` // mount points; empty = all fixed volumes
	// FreeWarnGB and FreeFailGB are absolute limits on free space (binary
	// GB, as the messages show them): less free space warns or fails. Zero
	// is off; a volume's status is the worse of percent and free space, so
	// a 4 TB volume at 90 % with 400 GB free can be allowed to pass.
	FreeWarnGB float64 `json:"free_warn_gb"`
	FreeFailGB float64 `json:"free_fail_gb"`
	// PercentOff turns the percent limits off, leaving only free space.
	PercentOff bool `json:"percent_off"`
}

type diskCheck struct {
	p    params
	v    volumes
	goos string
}

func newCheck(raw json.RawMessage, v volumes) (*diskCheck, error) {
	c := &diskCheck{p: params{Thresholds: check.Thresholds{Warn: 80, Fail: 90}}, v: v, goos: goos}
	if err := checkspec.Disk.Decode(raw, &c.p); err != nil && !errors.Is(err, check.ErrNotConfigured) {
		return nil, err // without parameters the defaults stand
	}
	return c, nil
}

func (c *diskCheck) Init() error {
	if c.p.FreeWarnGB < 0 || c.p.FreeFailGB < 0 {
		return fmt.Errorf("free space limits must not be negative")
	}
	if c.p.FreeWarnGB > 0 && c.p.FreeFailGB > c.p.FreeWarnGB {
		return fmt.Errorf("free space failure limit %v GB is above warning limit %v GB", c.p.FreeFailGB, c.p.FreeWarnGB)
	}
	if c.p.PercentOff && c.p.FreeWarnGB == 0 && c.p.FreeFailGB == 0 {
		return fmt.Errorf("percent_off needs free_warn_gb or free_fail_gb")
	}
	return c.p.Thresholds.Validate()
}

func (c *diskCheck) Run(ctx context.Context, r check.Reporter) error {
	all, err := c.v.Partitions(ctx)
	partial := (*PartialError)(nil)
	if err != nil && !errors.As(err, &partial) {
		return err
	}
	if partial != nil {
		// The volumes the OS could not read are errors; the others are
		// reported as usual.
		for _, res := range partial.Results() {
			r.Report(res)
		}
	}
	targets := fixedVolumes(c.goos, all)
	var missing []string
	if len(c.p.Volumes) > 0 {
		// Explicitly named volumes are watched even if not "fixed" (a
		// technician may want a network drive).
		targets, missing = pick(c.goos, all, c.p.Volumes)
		missing = slices.DeleteFunc(missing, func(m string) bool { return partial.has(c.goos, m) })
	}
	if len(targets) == 0 && len(c.p.Volumes) == 0 {
		if partial == nil {
			r.Report(check.Result{Status: core.StatusUnknown, Message: NoVolumes})
		}
		return nil
	}
	for _, m := range missing {
		r.Report(check.Result{Key: m, Status: core.StatusError, Message: core.Text{
			EN: fmt.Sprintf("Disk %s was not found", m),
			DE: fmt.Sprintf("Datenträger %s wurde nicht gefunden", m),
		}})
	}
	for _, p := range targets {
		u, err := c.v.Usage(ctx, p.Mount)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			r.Report(Unread{Mount: p.Mount, Err: err}.Result())
			continue
		}
		r.Report(result(p.Mount, u, c.p))
	}
	return nil
}

// pick returns the partitions for the named volumes and the names not found.
func pick(goos string, all []partition, names []string) (found []partition, missing []string) {
	for _, n := range names {
		ok := false
		for _, p := range all {
			if sameMount(goos, p.Mount, n) {
				p.Mount = normMount(goos, p.Mount)
				found = append(found, p)
				ok = true
				break
			}
		}
		if !ok {
			missing = append(missing, normMount(goos, n))
		}
	}
	return found, missing
}

// status is the worse of the percent and the free space verdicts.
func status(u usage, p params) core.Status {
	s := core.StatusOK
	if !p.PercentOff {
		s = p.Thresholds.Status(u.UsedPercent)
	}
	freeGB := float64(u.Free) / (1 << 30)
	switch {
	case p.FreeFailGB > 0 && freeGB < p.FreeFailGB:
		s = core.Worst(s, core.StatusFailure)
	case p.FreeWarnGB > 0 && freeGB < p.FreeWarnGB:
		s = core.Worst(s, core.StatusWarning)
	}
	return s
}

func result(mount string, u usage, p params) check.Result {
	pEN, pDE := msg.Num(u.UsedPercent, 1)
	fEN, fDE := msg.Bytes(u.Free)
	tEN, tDE := msg.Bytes(u.Total)
	return check.Result{
		Key:    mount,
		Status: status(u, p),
		Value:  check.Float(u.UsedPercent),
		Unit:   "%",
		Message: core.Text{
			EN: fmt.Sprintf("Disk %s is %s %% full (%s free of %s)", mount, pEN, fEN, tEN),
			DE: fmt.Sprintf("Datenträger %s ist zu %s %% belegt (%s von %s frei)", mount, pDE, fDE, tDE),
		},
	}
}
