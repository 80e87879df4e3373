package agent

import (
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/platform/swdetect"
	"github.com/wacht-rmm/wacht/internal/platform/systemdtest"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// buildDeb builds a real package with dpkg-deb (only a file: nothing is
// installed here) that ships /usr/share/wacht-pkgtest/VERSION.
func buildDeb(t *testing.T) []byte { return systemdtest.BuildDeb(t, "wacht-pkgtest", "1.2-1", nil) }

// TestInstallDebInContainer deploys a real .deb built by the test through
// the real blob route into a booted Debian container (systemdtest; its
// root is a throw-away overlay), where `dpkg -i` installs it and `dpkg -r`
// removes it; the detection rule confirms both. The test binary runs on
// the host, so the agent's data folder lies inside the container's root
// and the installer enters the container with nsenter: the test
// machine's own packages stay untouched.
func TestInstallDebInContainer(t *testing.T) {
	if !systemdtest.Run(t) {
		return
	}
	root := systemdtest.Root()
	bs, ref := newBlobServer(t, buildDeb(t))
	data := filepath.Join(root, "var/tmp/wacht-agent-test")
	d := bs.downloader(t)
	d.Dir = filepath.Join(data, downloadsDir)
	r := &scriptRunner{dir: filepath.Join(data, scriptsDir), log: slog.New(slog.DiscardHandler), running: map[string]bool{}}
	inside := systemdtest.Nsenter(t)
	pa := protocol.PackageArgs{RunID: "deb-1", PackageID: 1, Name: "wacht-pkgtest", Version: "1.2-1", Kind: core.PkgUpload,
		File: &protocol.PackageFile{SHA256: ref.SHA256, Size: ref.Size, Name: "wacht-pkgtest_1.2-1_all.deb", Ticket: ref.Ticket},
		// The file's path inside the container is its path here without
		// the container's root folder.
		Command:   append(slices.Clone(inside), "sh", "-c", `exec dpkg -i "${1#"$2"}"`, "sh", "{{file}}", "{{root}}"),
		Params:    map[string]string{"root": root},
		Detection: core.Detection{Kind: core.DetectFile, Path: filepath.Join(root, "usr/share/wacht-pkgtest/VERSION")}}
	if err := pa.Validate(); err != nil {
		t.Fatal(err)
	}
	res, err := r.runPackage(t.Context(), d, pa, false)
	if err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateInstalled {
		t.Fatalf("install: %+v, %v", res, err)
	}
	out, err := systemdtest.Command(t, nil, "dpkg-query", "-W", "-f=${Version} ${Status}", "wacht-pkgtest").CombinedOutput()
	if err != nil || string(out) != "1.2-1 install ok installed" {
		t.Fatalf("the container's dpkg says %q, %v", out, err)
	}
	if again, err := r.runPackage(t.Context(), d, pa, false); err != nil || !again.Duplicate {
		t.Fatalf("repeated run ID: %+v, %v", again, err)
	}
	un := pa
	un.RunID, un.Command = "deb-2", append(slices.Clone(inside), "dpkg", "-r", "wacht-pkgtest")
	if res, err := r.runPackage(t.Context(), d, un, true); err != nil || res.Meaning != core.ExitOK || res.State != swdetect.StateAbsent {
		t.Fatalf("uninstall: %+v, %v", res, err)
	}
	out, _ = systemdtest.Command(t, nil, "dpkg-query", "-W", "-f=${Status}", "wacht-pkgtest").CombinedOutput()
	if strings.Contains(string(out), "install ok installed") {
		t.Fatalf("still installed after dpkg -r: %q", out)
	}
}
