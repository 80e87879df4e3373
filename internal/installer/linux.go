package installer

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/goreleaser/nfpm/v2"
	"github.com/goreleaser/nfpm/v2/deb"
	"github.com/goreleaser/nfpm/v2/files"
	"github.com/goreleaser/nfpm/v2/rpm"

	"github.com/wacht-rmm/wacht/internal/release"
)

// linuxFiles are the systemd unit and the maintainer scripts of the .deb
// and .rpm packages (docs/installers.md).
//
//go:embed linux
var linuxFiles embed.FS

// Where the packages put things. The unit's name and ExecStart match what
// `wacht-agent install` writes through kardianos/service.
const (
	linuxAgentPath = "/usr/bin/wacht-agent"
	linuxTrayPath  = "/usr/bin/wacht-tray"
	linuxUnitPath  = "/usr/lib/systemd/system/wacht-agent.service"
	// The tray's XDG autostart entry, the one `wacht-agent install` writes
	// (internal/agent/tray_autostart.go) for a tray in /usr/bin.
	linuxTrayAutostart = "/etc/xdg/autostart/wacht-tray.desktop"
)

// LinuxArches are the architectures the Linux packages are built for.
var LinuxArches = []string{"amd64", "arm64"}

// DebName and RPMName are the packages' file names (the names every part
// of issue 21 uses).
func DebName(version, arch string) string { return "wacht-agent_" + version + "_" + arch + ".deb" }

// RPMName is the .rpm's file name for a Go architecture.
func RPMName(version, arch string) string {
	a := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
	if a == "" {
		a = arch
	}
	return "wacht-agent-" + version + "." + a + ".rpm"
}

// Linux builds the .deb and .rpm packages for every architecture in
// LinuxArches whose agent binary (wacht-agent-linux-<arch>) is in o.Dist;
// the tray app (wacht-tray-linux-<arch>) goes in when it is there. It fails
// when no agent binary is there at all.
func Linux(o Options) ([]Built, error) {
	if o.Version == "" {
		return nil, errors.New("installer: no version given")
	}
	scripts, err := os.MkdirTemp("", "wacht-pkg-scripts")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(scripts)
	if err := writeEmbedded(linuxFiles, "linux", scripts); err != nil {
		return nil, err
	}
	var out []Built
	for _, arch := range LinuxArches {
		agent, err := agentBinary(o.Dist, "linux", arch)
		if err != nil {
			return nil, err
		}
		if agent == "" {
			continue
		}
		tray := filepath.Join(o.Dist, "wacht-tray-linux-"+arch)
		if _, err := os.Stat(tray); err != nil {
			tray = ""
		}
		for _, p := range []struct {
			kind, name string
			packager   nfpm.Packager
		}{
			{release.KindDeb, DebName(o.Version, arch), deb.Default},
			{release.KindRPM, RPMName(o.Version, arch), rpm.DefaultRPM},
		} {
			info := linuxInfo(o.Version, arch, agent, tray, scripts)
			path := filepath.Join(o.Dist, p.name)
			if err := writePackage(info, p.kind, p.packager, path); err != nil {
				return nil, fmt.Errorf("installer: %s for %s: %w", p.kind, arch, err)
			}
			out = append(out, Built{Path: path, Kind: p.kind, OS: "linux", Arch: arch})
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("installer: no Linux agent binary (wacht-agent-linux-{amd64,arm64}) in %s", o.Dist)
	}
	return out, nil
}

// linuxInfo describes one package for nfpm.
func linuxInfo(version, arch, agent, tray, scripts string) *nfpm.Info {
	contents := files.Contents{
		{Source: agent, Destination: linuxAgentPath, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
		{Source: filepath.Join(scripts, "wacht-agent.service"), Destination: linuxUnitPath, FileInfo: &files.ContentFileInfo{Mode: 0o644}},
	}
	if tray != "" {
		contents = append(contents,
			&files.Content{Source: tray, Destination: linuxTrayPath, FileInfo: &files.ContentFileInfo{Mode: 0o755}},
			&files.Content{Source: filepath.Join(scripts, "wacht-tray.desktop"), Destination: linuxTrayAutostart, FileInfo: &files.ContentFileInfo{Mode: 0o644}})
	}
	return nfpm.WithDefaults(&nfpm.Info{
		Name:        "wacht-agent",
		Arch:        arch,
		Platform:    "linux",
		Version:     version,
		Section:     "admin",
		Priority:    "optional",
		Maintainer:  "Wacht <wacht@example.invalid>",
		Description: "Wacht remote monitoring agent\nRuns checks on this machine and reports them to a Wacht server; enrolls at install time with a token from WACHT_TOKEN or /etc/wacht-agent/token.",
		Vendor:      "Wacht",
		Homepage:    "https://github.com/wacht-rmm/wacht",
		// Packages built from the same binaries are identical.
		MTime: time.Unix(0, 0).UTC(),
		Overridables: nfpm.Overridables{
			Contents: contents,
			Scripts: nfpm.Scripts{
				PostInstall: filepath.Join(scripts, "postinstall.sh"),
				PreRemove:   filepath.Join(scripts, "preremove.sh"),
				PostRemove:  filepath.Join(scripts, "postremove.sh"),
			},
			RPM: nfpm.RPM{Group: "System Environment/Daemons", Summary: "Wacht remote monitoring agent"},
		},
	})
}

// writePackage has nfpm write info as kind to path.
func writePackage(info *nfpm.Info, kind string, p nfpm.Packager, path string) error {
	if err := nfpm.PrepareForPackager(info, kind); err != nil {
		return err
	}
	if err := nfpm.Validate(info); err != nil {
		return err
	}
	return createFile(path, func(w io.Writer) error { return p.Package(info, w) })
}

// writeEmbedded copies the files of folder dir in fsys into to.
func writeEmbedded(fsys embed.FS, dir, to string) error {
	es, err := fsys.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range es {
		b, err := fsys.ReadFile(dir + "/" + e.Name())
		if err != nil {
			return err
		}
		if err := os.WriteFile(filepath.Join(to, e.Name()), b, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// agentBinary returns the path of dist's agent binary for goos and arch,
// "" if there is none; it refuses one built for another platform.
func agentBinary(dist, goos, arch string) (string, error) {
	path := filepath.Join(dist, "wacht-agent-"+goos+"-"+arch)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return "", nil
	} else if err != nil {
		return "", err
	}
	return path, checkPlatform(path, goos, arch)
}

// checkPlatform refuses a binary built for another OS or architecture: a
// package must not ship an agent that cannot start.
func checkPlatform(path, goos, goarch string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	gotOS, gotArch, err := release.Platform(f)
	if err != nil {
		return fmt.Errorf("installer: %s: %w", path, err)
	}
	if gotOS != goos || gotArch != goarch {
		return fmt.Errorf("installer: %s is built for %s/%s, not %s/%s", path, gotOS, gotArch, goos, goarch)
	}
	return nil
}
