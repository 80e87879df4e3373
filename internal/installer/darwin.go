package installer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/wacht-rmm/wacht/internal/release"
)

// darwinFiles are the macOS tarball's install.sh, uninstall.sh and the
// launchd job (docs/installers.md says why a tarball and not a .pkg).
//
//go:embed darwin
var darwinFiles embed.FS

// DarwinArches are the architectures the macOS tarballs are built for.
var DarwinArches = []string{"amd64", "arm64"}

// DarwinName is the macOS tarball's file name.
func DarwinName(version, arch string) string {
	return "wacht-agent-" + version + "-darwin-" + arch + ".tar.gz"
}

// Darwin builds wacht-agent-<version>-darwin-<arch>.tar.gz for every
// architecture in DarwinArches whose agent binary (wacht-agent-darwin-<arch>)
// is in o.Dist: one folder with the agent, the tray app when it is there
// (wacht-tray-darwin-<arch>, built on a Mac), install.sh, uninstall.sh and
// wacht-agent.plist. It fails when no agent binary is there at all.
func Darwin(o Options) ([]Built, error) {
	if o.Version == "" {
		return nil, errors.New("installer: no version given")
	}
	var out []Built
	for _, arch := range DarwinArches {
		agent, err := agentBinary(o.Dist, "darwin", arch)
		if err != nil {
			return nil, err
		}
		if agent == "" {
			continue
		}
		path := filepath.Join(o.Dist, DarwinName(o.Version, arch))
		if err := writeDarwinTarball(path, o, arch, agent); err != nil {
			return nil, fmt.Errorf("installer: macOS tarball for %s: %w", arch, err)
		}
		out = append(out, Built{Path: path, Kind: release.KindTarball, OS: "darwin", Arch: arch})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("installer: no macOS agent binary (wacht-agent-darwin-{amd64,arm64}) in %s", o.Dist)
	}
	return out, nil
}

// darwinEntry is one file of the tarball.
type darwinEntry struct {
	name string
	mode int64
	body []byte // or
	src  string
}

func writeDarwinTarball(path string, o Options, arch, agent string) error {
	dir := "wacht-agent-" + o.Version + "-darwin-" + arch + "/"
	entries := []darwinEntry{{name: "wacht-agent", mode: 0o755, src: agent}}
	if tray := filepath.Join(o.Dist, "wacht-tray-darwin-"+arch); fileExists(tray) {
		entries = append(entries, darwinEntry{name: "wacht-tray", mode: 0o755, src: tray})
	}
	for _, f := range []struct {
		name string
		mode int64
	}{{"install.sh", 0o755}, {"uninstall.sh", 0o755}, {"wacht-agent.plist", 0o644}} {
		b, err := darwinFiles.ReadFile("darwin/" + f.name)
		if err != nil {
			return err
		}
		// install.sh refuses a Mac of the other architecture.
		b = bytes.ReplaceAll(b, []byte("@ARCH@"), []byte(arch))
		entries = append(entries, darwinEntry{name: f.name, mode: f.mode, body: b})
	}

	return createFile(path, func(f io.Writer) error {
		gz := gzip.NewWriter(f)
		tw := tar.NewWriter(gz)
		// Fixed times and owners: the same binaries give the same tarball.
		mtime := time.Unix(0, 0).UTC()
		hdr := func(name string, mode, size int64, typ byte) *tar.Header {
			return &tar.Header{Name: name, Mode: mode, Size: size, Typeflag: typ, ModTime: mtime, Uname: "root", Gname: "wheel", Format: tar.FormatPAX}
		}
		if err := tw.WriteHeader(hdr(dir, 0o755, 0, tar.TypeDir)); err != nil {
			return err
		}
		for _, e := range entries {
			if e.src != "" {
				if err := tarFile(tw, hdr(dir+e.name, e.mode, 0, tar.TypeReg), e.src); err != nil {
					return err
				}
				continue
			}
			if err := tw.WriteHeader(hdr(dir+e.name, e.mode, int64(len(e.body)), tar.TypeReg)); err != nil {
				return err
			}
			if _, err := tw.Write(e.body); err != nil {
				return err
			}
		}
		if err := tw.Close(); err != nil {
			return err
		}
		return gz.Close()
	})
}

// tarFile writes the file src under h.
func tarFile(tw *tar.Writer, h *tar.Header, src string) error {
	in, err := os.Open(src)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	h.Size = st.Size()
	if err := tw.WriteHeader(h); err != nil {
		return err
	}
	_, err = io.Copy(tw, in)
	return err
}

func fileExists(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().IsRegular()
}
