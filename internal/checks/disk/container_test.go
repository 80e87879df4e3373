package disk

import (
	"context"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/shirou/gopsutil/v4/common"

	"github.com/wacht-rmm/wacht/internal/core"
)

// TestContainerRoot reads the mount tables of a booted systemd-nspawn
// container (captured from /proc/1/mountinfo inside it) through gopsutil:
// its root, a bind-mounted directory on ext4 or an overlay, is the volume
// to watch, and gopsutil alone leaves it out.
func TestContainerRoot(t *testing.T) {
	for _, dir := range []string{"proc-nspawn-bind", "proc-nspawn-overlay"} {
		abs, err := filepath.Abs(filepath.Join("testdata", dir))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.WithValue(context.Background(), common.EnvKey, common.EnvMap{common.HostProcEnvKey: abs})
		ps, err := osVolumes{goos: "linux"}.Partitions(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if got := mounts(fixedVolumes("linux", ps)); !reflect.DeepEqual(got, []string{"/"}) {
			t.Errorf("%s: watched %q, want the root", dir, got)
		}
	}
}

// TestNothingToWatch: a check without a volume to watch says so.
func TestNothingToWatch(t *testing.T) {
	c, _ := newCheck(nil, &fakeVolumes{ps: []partition{{Device: "proc", Mount: "/proc", FSType: "proc"}, {Device: "/dev/sr0", Mount: "/", FSType: "iso9660", Opts: []string{"ro"}}}})
	var got collect
	if err := c.Run(context.Background(), &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Status != core.StatusUnknown || got[0].Message != NoVolumes {
		t.Errorf("got %+v, want one unknown result saying there is nothing to watch", got)
	}
}
