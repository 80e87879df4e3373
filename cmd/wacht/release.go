package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/release"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// The release key signs agent builds and installers (issue 21). Like lock
// mode's script key it belongs off the server: the server needs only its
// public half (<data>/release.pub or wacht serve --release-key).

const releaseUsage = `Usage:
  wacht release keygen --out FILE                      create a release key (FILE) and its public key (FILE.pub)
  wacht release sign --key FILE [--version V] FILE...  sign the agent's files; writes FILE.sig.json beside each
  wacht release publish [--data D] [--db URL] [--release-key PUB]... FILE...
                                                       verify and publish signed files to the server
Kind, OS and architecture follow from the file: an agent binary's executable
header, an installer's name (wacht-agent-V-x64.msi, wacht-agent_V_ARCH.deb,
wacht-agent-V.ARCH.rpm, wacht-agent-V-darwin-ARCH.pkg or .tar.gz). The version
is --version, or read from an installer's name; a binary needs --version.
`

func releaseCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, releaseUsage)
		return flag.ErrHelp
	}
	fs := flag.NewFlagSet("wacht release "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, releaseUsage) }
	switch args[0] {
	case "keygen":
		out := fs.String("out", "", "private key `file` to create (its public key goes to FILE.pub)")
		if err := parse(fs, args[1:], 0); err != nil {
			return err
		}
		if *out == "" {
			return errors.New("wacht release keygen: --out is required")
		}
		pub, err := release.GenerateKey(*out)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s (keep it off the server) and %s.pub.\nFingerprint: %s\nCopy %s.pub to the server's data folder as release.pub, or start it with --release-key.\n",
			*out, *out, release.Fingerprint(pub), *out)
		return nil
	case "sign":
		key := fs.String("key", "", "release key `file` (wacht release keygen)")
		ver := fs.String("version", "", "the files' `version`")
		files, err := parseFiles(fs, args[1:])
		if err != nil {
			return err
		}
		if *key == "" || len(files) == 0 {
			return errors.New("wacht release sign: --key and at least one file are required")
		}
		k, err := release.LoadPrivateKey(*key)
		if err != nil {
			return err
		}
		for _, path := range files {
			if strings.HasSuffix(path, release.SigSuffix) || strings.HasSuffix(path, ".sha256") {
				continue // make dist RELEASE_KEY=… passes dist/*
			}
			m, err := DescribeRelease(path, *ver)
			if err != nil {
				return err
			}
			s, err := release.Sign(k, m)
			if err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			b, err := json.MarshalIndent(s, "", "  ")
			if err != nil {
				return err
			}
			if err := os.WriteFile(path+release.SigSuffix, append(b, '\n'), 0o644); err != nil {
				return fmt.Errorf("writing the signed manifest: %w", err)
			}
			fmt.Fprintf(stdout, "%s: %s %s %s/%s\n", path+release.SigSuffix, m.Kind, m.Version, m.OS, m.Arch)
		}
		return nil
	case "publish":
		var a adminFlags
		a.register(fs)
		var keys multiFlag
		fs.Var(&keys, "release-key", "a further release public key `file` to trust (repeatable; <data>/release.pub always counts)")
		files, err := parseFiles(fs, args[1:])
		if err != nil {
			return err
		}
		if len(files) == 0 {
			return errors.New("wacht release publish: name at least one file")
		}
		return a.withStore(func(ctx context.Context, st *store.DB) error {
			fsList, err := server.PublishRelease(ctx, st, a.data, keys, files, time.Now())
			for _, f := range fsList {
				fmt.Fprintf(stdout, "published %s (%s %s %s/%s, id %d)\n", f.Name, f.Kind, f.Version, f.OS, f.Arch, f.ID)
			}
			return err
		})
	}
	fmt.Fprint(stderr, releaseUsage)
	return fmt.Errorf("unknown release command %q", args[0])
}

// parseFiles parses flags and file names in any order.
func parseFiles(fs *flag.FlagSet, args []string) ([]string, error) {
	var files []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		if fs.NArg() == 0 {
			return files, nil
		}
		files = append(files, fs.Arg(0))
		args = fs.Args()[1:]
	}
}

// multiFlag is a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }

// DescribeRelease fills the manifest of the release file at path: kind,
// OS and architecture from an executable's header or an installer's name
// (common naming of issue 21), the version from version or the name.
func DescribeRelease(path, version string) (release.Manifest, error) {
	m, err := release.Describe(path)
	if err != nil {
		return m, err
	}
	name := filepath.Base(path)
	f, err := os.Open(path)
	if err != nil {
		return m, err
	}
	goos, arch, perr := release.Platform(f)
	f.Close()
	var nameVer string
	if perr == nil {
		m.Kind, m.OS, m.Arch = release.KindBinary, goos, arch
	} else if m.Kind, m.OS, m.Arch, nameVer, err = installerName(name); err != nil {
		return m, fmt.Errorf("%s: %w", path, err)
	}
	m.Version = version
	if m.Version == "" {
		m.Version = nameVer
	}
	if m.Version == "" {
		return m, fmt.Errorf("%s: give the version with --version", path)
	}
	if m.Kind == release.KindBinary && !strings.HasPrefix(name, release.Product+"-") {
		return m, fmt.Errorf("%s: not an agent binary (named %s-<os>-<arch>)", path, release.Product)
	}
	return m, nil
}

// installerName reads kind, OS, architecture and version from an
// installer's file name.
func installerName(name string) (kind, goos, arch, version string, err error) {
	cut := func(s, prefix, suffix string) (string, bool) {
		if strings.HasPrefix(s, prefix) && strings.HasSuffix(s, suffix) && len(s) > len(prefix)+len(suffix) {
			return s[len(prefix) : len(s)-len(suffix)], true
		}
		return "", false
	}
	if v, ok := cut(name, "wacht-agent-", "-x64.msi"); ok {
		return release.KindMSI, "windows", "amd64", v, nil
	}
	for _, a := range []string{"amd64", "arm64"} {
		if v, ok := cut(name, "wacht-agent_", "_"+a+".deb"); ok {
			return release.KindDeb, "linux", a, v, nil
		}
		for _, ext := range []string{"pkg", "tar.gz"} {
			if v, ok := cut(name, "wacht-agent-", "-darwin-"+a+"."+ext); ok {
				return ext, "darwin", a, v, nil
			}
		}
	}
	for rpmArch, a := range map[string]string{"x86_64": "amd64", "aarch64": "arm64"} {
		if v, ok := cut(name, "wacht-agent-", "."+rpmArch+".rpm"); ok {
			return release.KindRPM, "linux", a, v, nil
		}
	}
	return "", "", "", "", fmt.Errorf("neither an agent executable nor an installer named as `make dist` names them (%s)", name)
}
