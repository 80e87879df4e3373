package agent

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestSoftwareDebInContainer enforces a desired state with a real .deb
// (buildDeb) in a booted Debian container, as TestInstallDebInContainer
// installs it: the policy wants it present and the agent installs it with
// dpkg; removed by hand with `dpkg -r`, it is reported red at the next
// check and installed again; a policy that wants it absent removes it.
func TestSoftwareDebInContainer(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	root := systemdtest.Root()
	inside := systemdtest.Nsenter(t)
	dpkg := func(args ...string) string {
		out, _ := systemdtest.Command(t, nil, args...).CombinedOutput()
		return string(out)
	}
	status := func() string { return dpkg("dpkg-query", "-W", "-f=${Version} ${Status}", "wacht-pkgtest") }

	// The agent's data folder lies inside the container's root, so that
	// the installer there sees the downloaded file.
	data := filepath.Join(root, "var/tmp/wacht-software-test")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(data) })
	dir, fs := enrollAt(t, data, nil)
	e := &swEnv{t: t, dir: dir, fs: fs, ref: serveFile(t, fs, buildDeb(t))}
	entry := func(state string) protocol.Software {
		pa := protocol.PackageArgs{PackageID: 5, Name: "wacht-pkgtest", Version: "1.2-1", Kind: core.PkgUpload,
			File: &protocol.PackageFile{SHA256: e.ref.SHA256, Size: e.ref.Size, Name: "wacht-pkgtest_1.2-1_all.deb", Ticket: e.ref.Ticket},
			// The file's path inside the container is its path here
			// without the container's root folder.
			Command:   append(slices.Clone(inside), "sh", "-c", `exec dpkg -i "${1#"$2"}"`, "sh", "{{file}}", "{{root}}"),
			Params:    map[string]string{"root": root},
			Detection: core.Detection{Kind: core.DetectFile, Path: filepath.Join(root, "usr/share/wacht-pkgtest/VERSION")}}
		if state == core.SoftwareAbsent {
			pa.Command = append(slices.Clone(inside), "dpkg", "-r", "wacht-pkgtest")
		}
		return protocol.Software{Check: swCheck, State: state, Package: pa}
	}

	storePolicy(t, dir, protocol.Policy{Revision: "d1", Software: []protocol.Software{entry(core.SoftwarePresent)}})
	ta := runIn(t, dir, fs)
	wantResult(t, e.wait(1), core.StatusFailure, "wacht-pkgtest is not installed; installing it now", "wird jetzt installiert")
	wantResult(t, e.wait(2), core.StatusOK, "wacht-pkgtest installed", "wacht-pkgtest installiert")
	if s := status(); s != "1.2-1 install ok installed" {
		t.Fatalf("the container's dpkg says %q", s)
	}

	if out := dpkg("dpkg", "-r", "wacht-pkgtest"); status() == "1.2-1 install ok installed" {
		t.Fatalf("dpkg -r by hand: %s", out)
	}
	e.idle(ta)
	runChecks(t, ta, "c1")
	wantResult(t, e.wait(3), core.StatusFailure, "wacht-pkgtest is not installed; installing it now", "ist nicht installiert")
	wantResult(t, e.wait(4), core.StatusOK, "wacht-pkgtest installed", "wacht-pkgtest installiert")
	if s := status(); s != "1.2-1 install ok installed" {
		t.Fatalf("not installed again; the container's dpkg says %q", s)
	}

	fs.commands <- policyEnvelope(t, fs, protocol.Policy{Revision: "d2", Software: []protocol.Software{entry(core.SoftwareAbsent)}})
	wantResult(t, e.wait(5), core.StatusFailure, "wacht-pkgtest is installed but must be absent; removing it now", "wird jetzt entfernt")
	wantResult(t, e.wait(6), core.StatusOK, "wacht-pkgtest absent as required", "wacht-pkgtest fehlt wie verlangt")
	if s := status(); s == "1.2-1 install ok installed" {
		t.Fatalf("still installed: %q", s)
	}
	ta.stop(t)
}
