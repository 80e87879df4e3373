package installer

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// buildTiny cross-compiles a small program for goos/goarch into path: a
// real executable with that platform's header, quicker than the agent.
func buildTiny(t *testing.T, goos, goarch, path, says string) {
	t.Helper()
	src := t.TempDir()
	main := "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Println(" + `"` + says + `"` + ") }\n"
	if err := os.WriteFile(filepath.Join(src, "main.go"), []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(src, "go.mod"), []byte("module tiny\n\ngo 1.22\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("go", "build", "-o", path, ".")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS="+goos, "GOARCH="+goarch, "GOFLAGS=")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building a %s/%s program: %v\n%s", goos, goarch, err, out)
	}
}

func need(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s is not installed (apt-get install dpkg rpm): cannot read the package back", tool)
		}
	}
}

func output(t *testing.T, name string, args ...string) string {
	t.Helper()
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			t.Fatalf("%s %q: %v\n%s", name, args, err, ee.Stderr)
		}
		t.Fatalf("%s %q: %v", name, args, err)
	}
	return string(out)
}

func embedded(t *testing.T, name string) string {
	t.Helper()
	b, err := linuxFiles.ReadFile("linux/" + name)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// debFiles returns the regular files of a .deb's data archive with their
// content and mode.
func debFiles(t *testing.T, deb string) map[string]*tar.Header {
	t.Helper()
	cmd := exec.Command("dpkg-deb", "--fsys-tarfile", deb)
	data, err := cmd.Output()
	if err != nil {
		t.Fatalf("dpkg-deb --fsys-tarfile: %v", err)
	}
	tr := tar.NewReader(bytes.NewReader(data))
	files := map[string]*tar.Header{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag == tar.TypeReg {
			files[strings.TrimPrefix(h.Name, ".")] = h
		}
	}
	return files
}

func TestLinuxPackages(t *testing.T) {
	need(t, "dpkg-deb", "rpm")
	dist := t.TempDir()
	buildTiny(t, "linux", "amd64", filepath.Join(dist, "wacht-agent-linux-amd64"), "agent amd64")
	buildTiny(t, "linux", "arm64", filepath.Join(dist, "wacht-agent-linux-arm64"), "agent arm64")
	buildTiny(t, "linux", "amd64", filepath.Join(dist, "wacht-tray-linux-amd64"), "tray amd64")
	const version = "0.42.0+g1a2b3c4"
	built, err := Linux(Options{Dist: dist, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, b := range built {
		if b.OS != "linux" || filepath.Dir(b.Path) != dist {
			t.Errorf("built %+v", b)
		}
		got = append(got, b.Kind+" "+b.Arch+" "+filepath.Base(b.Path))
	}
	want := []string{
		"deb amd64 wacht-agent_0.42.0+g1a2b3c4_amd64.deb", "rpm amd64 wacht-agent-0.42.0+g1a2b3c4.x86_64.rpm",
		"deb arm64 wacht-agent_0.42.0+g1a2b3c4_arm64.deb", "rpm arm64 wacht-agent-0.42.0+g1a2b3c4.aarch64.rpm",
	}
	if !slices.Equal(got, want) {
		t.Fatalf("built\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}

	for _, arch := range []string{"amd64", "arm64"} {
		deb := filepath.Join(dist, DebName(version, arch))
		fields := output(t, "dpkg-deb", "-f", deb, "Package", "Version", "Architecture")
		if want := "Package: wacht-agent\nVersion: " + version + "\nArchitecture: " + arch + "\n"; fields != want {
			t.Errorf("%s control fields:\n%s\nwant\n%s", arch, fields, want)
		}
		files := debFiles(t, deb)
		wantFiles := []string{linuxAgentPath, linuxUnitPath}
		if arch == "amd64" {
			wantFiles = append(wantFiles, linuxTrayPath, linuxTrayAutostart)
		}
		var names []string
		for n := range files {
			names = append(names, n)
		}
		slices.Sort(names)
		slices.Sort(wantFiles)
		if !slices.Equal(names, wantFiles) {
			t.Errorf("%s .deb files %q, want %q", arch, names, wantFiles)
		}
		if h := files[linuxAgentPath]; h == nil || h.Mode&0o777 != 0o755 || h.Uname != "root" {
			t.Errorf("%s agent entry %+v", arch, h)
		}
		src, _ := os.Stat(filepath.Join(dist, "wacht-agent-linux-"+arch))
		if h := files[linuxAgentPath]; h != nil && h.Size != src.Size() {
			t.Errorf("%s agent is %d bytes in the package, %d in dist", arch, h.Size, src.Size())
		}
		ctl := t.TempDir()
		output(t, "dpkg-deb", "-e", deb, ctl)
		for script, src := range map[string]string{"postinst": "postinstall.sh", "prerm": "preremove.sh", "postrm": "postremove.sh"} {
			b, err := os.ReadFile(filepath.Join(ctl, script))
			if err != nil {
				t.Errorf("%s .deb has no %s: %v", arch, script, err)
				continue
			}
			if string(b) != embedded(t, src) {
				t.Errorf("%s .deb %s differs from %s", arch, script, src)
			}
			if st, _ := os.Stat(filepath.Join(ctl, script)); st.Mode()&0o111 == 0 {
				t.Errorf("%s .deb %s is not executable", arch, script)
			}
		}

		rpm := filepath.Join(dist, RPMName(version, arch))
		rpmArch := map[string]string{"amd64": "x86_64", "arm64": "aarch64"}[arch]
		if q := output(t, "rpm", "-qp", "--qf", "%{NAME} %{VERSION} %{ARCH} %{OS}", rpm); !strings.HasPrefix(q, "wacht-agent 0.42.0") || !strings.HasSuffix(q, " "+rpmArch+" linux") {
			t.Errorf("%s rpm says %q", arch, q)
		}
		list := strings.Fields(output(t, "rpm", "-qpl", rpm))
		for _, f := range wantFiles {
			if !slices.Contains(list, f) {
				t.Errorf("%s rpm lacks %s: %q", arch, f, list)
			}
		}
		if arch == "arm64" && slices.Contains(list, linuxTrayPath) {
			t.Errorf("arm64 rpm has a tray without a tray binary")
		}
		scripts := output(t, "rpm", "-qp", "--scripts", rpm)
		for _, want := range []string{"postinstall scriptlet", "preuninstall scriptlet", "postuninstall scriptlet", `"$BIN" enroll --data "$DATA" --token "$token"`, "rm -rf /var/lib/wacht-agent /etc/wacht-agent", "rm -f /usr/bin/wacht-agent.prev"} {
			if !strings.Contains(scripts, want) {
				t.Errorf("%s rpm scripts lack %q:\n%s", arch, want, scripts)
			}
		}
	}
}

// TestLinuxUnitMatchesService: the packaged unit runs what `wacht-agent
// install` registers (cmd/wacht-agent/service.go) and always restarts.
func TestLinuxUnitMatchesService(t *testing.T) {
	unit := embedded(t, "wacht-agent.service")
	for _, want := range []string{
		"\nExecStart=/usr/bin/wacht-agent run --data /var/lib/wacht-agent\n",
		"\nRestart=always\n",
		"\nWantedBy=multi-user.target\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("unit lacks %q:\n%s", strings.TrimSpace(want), unit)
		}
	}
	if filepath.Base(linuxUnitPath) != "wacht-agent.service" {
		t.Errorf("unit file %s: must be wacht-agent.service like the installed service", linuxUnitPath)
	}
	for _, s := range []string{"postinstall.sh", "preremove.sh", "postremove.sh"} {
		if out, err := exec.Command("sh", "-n", filepath.Join("linux", s)).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
}

func TestLinuxRefusesWrongBinaries(t *testing.T) {
	dist := t.TempDir()
	if _, err := Linux(Options{Dist: dist, Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "no Linux agent binary") {
		t.Errorf("empty dist: %v", err)
	}
	if _, err := Linux(Options{Dist: dist}); err == nil {
		t.Error("no version: no error")
	}
	buildTiny(t, "linux", "arm64", filepath.Join(dist, "wacht-agent-linux-amd64"), "misnamed")
	_, err := Linux(Options{Dist: dist, Version: "1.0.0"})
	if err == nil || !strings.Contains(err.Error(), "built for linux/arm64, not linux/amd64") {
		t.Errorf("an arm64 binary named amd64: %v", err)
	}
	if m, _ := filepath.Glob(filepath.Join(dist, "*.deb")); len(m) != 0 {
		t.Errorf("packages left behind: %v", m)
	}
}

// plist is the part of a launchd property list the test reads.
type plist struct {
	XMLName xml.Name `xml:"plist"`
	Dict    struct {
		Items []struct {
			XMLName xml.Name
			Value   string     `xml:",chardata"`
			Strings []string   `xml:"string"`
			Nested  []xml.Name `xml:",any"`
		} `xml:",any"`
	} `xml:"dict"`
}

// values turns the dict into key → value ("true"/"false" for booleans,
// the strings joined by "|" for an array).
func (p plist) values(t *testing.T) map[string]string {
	t.Helper()
	m := map[string]string{}
	items := p.Dict.Items
	for i := 0; i+1 < len(items); i += 2 {
		if items[i].XMLName.Local != "key" {
			t.Fatalf("plist: expected <key>, got <%s>", items[i].XMLName.Local)
		}
		v := items[i+1]
		switch v.XMLName.Local {
		case "true", "false":
			m[items[i].Value] = v.XMLName.Local
		case "array":
			m[items[i].Value] = strings.Join(v.Strings, "|")
		default:
			m[items[i].Value] = v.Value
		}
	}
	return m
}

func TestDarwinTarball(t *testing.T) {
	dist := t.TempDir()
	buildTiny(t, "darwin", "arm64", filepath.Join(dist, "wacht-agent-darwin-arm64"), "agent")
	built, err := Darwin(Options{Dist: dist, Version: "0.42.0+g1a2b3c4"})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || built[0].Kind != "tar.gz" || built[0].OS != "darwin" || built[0].Arch != "arm64" ||
		filepath.Base(built[0].Path) != "wacht-agent-0.42.0+g1a2b3c4-darwin-arm64.tar.gz" {
		t.Fatalf("built %+v", built)
	}
	f, err := os.Open(built[0].Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	unpacked := t.TempDir()
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		modes[h.Name] = h.Mode
		if h.Typeflag != tar.TypeReg {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(unpacked, filepath.Base(h.Name)), b, os.FileMode(h.Mode)); err != nil {
			t.Fatal(err)
		}
	}
	dir := "wacht-agent-0.42.0+g1a2b3c4-darwin-arm64/"
	want := map[string]int64{dir: 0o755, dir + "wacht-agent": 0o755, dir + "install.sh": 0o755, dir + "uninstall.sh": 0o755, dir + "wacht-agent.plist": 0o644}
	if len(modes) != len(want) {
		t.Errorf("tarball has %v, want %v", modes, want)
	}
	for n, m := range want {
		if modes[n] != m {
			t.Errorf("%s: mode %o, want %o (all: %v)", n, modes[n], m, modes)
		}
	}
	orig, _ := os.ReadFile(filepath.Join(dist, "wacht-agent-darwin-arm64"))
	if got, _ := os.ReadFile(filepath.Join(unpacked, "wacht-agent")); !bytes.Equal(got, orig) {
		t.Error("the tarball's agent differs from dist's")
	}
	for _, s := range []string{"install.sh", "uninstall.sh"} {
		if out, err := exec.Command("sh", "-n", filepath.Join(unpacked, s)).CombinedOutput(); err != nil {
			t.Errorf("sh -n %s: %v\n%s", s, err, out)
		}
	}
	install, _ := os.ReadFile(filepath.Join(unpacked, "install.sh"))
	if !strings.Contains(string(install), "\nARCH=arm64\n") || strings.Contains(string(install), "@ARCH@") {
		t.Error("install.sh does not name its architecture")
	}
	// Run here (not a Mac), the scripts refuse before touching anything.
	for _, s := range []string{"install.sh", "uninstall.sh"} {
		out, err := exec.Command(filepath.Join(unpacked, s)).CombinedOutput()
		if err == nil || !strings.Contains(string(out), "macOS") {
			t.Errorf("%s on Linux: %v\n%s", s, err, out)
		}
	}

	raw, _ := os.ReadFile(filepath.Join(unpacked, "wacht-agent.plist"))
	var p plist
	if err := xml.Unmarshal(raw, &p); err != nil {
		t.Fatalf("wacht-agent.plist is not valid XML: %v", err)
	}
	v := p.values(t)
	// What kardianos/service writes for cmd/wacht-agent's serviceConfig.
	for k, want := range map[string]string{
		"Label":            "wacht-agent",
		"ProgramArguments": "/usr/local/bin/wacht-agent|run|--data|/Library/Application Support/Wacht",
		"KeepAlive":        "true",
		"RunAtLoad":        "true",
		"Disabled":         "false",
	} {
		if v[k] != want {
			t.Errorf("plist %s = %q, want %q", k, v[k], want)
		}
	}
}

func TestDarwinNeedsABinary(t *testing.T) {
	dist := t.TempDir()
	if _, err := Darwin(Options{Dist: dist, Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "no macOS agent binary") {
		t.Errorf("empty dist: %v", err)
	}
	buildTiny(t, "linux", "amd64", filepath.Join(dist, "wacht-agent-darwin-amd64"), "misnamed")
	if _, err := Darwin(Options{Dist: dist, Version: "1.0.0"}); err == nil || !strings.Contains(err.Error(), "not darwin/amd64") {
		t.Errorf("a Linux binary named darwin: %v", err)
	}
}
