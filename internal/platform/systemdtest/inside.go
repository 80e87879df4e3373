package systemdtest

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// Nsenter is the command prefix that runs a program in every namespace of
// the booted container, as root; t fails without one (Run's second run).
func Nsenter(t testing.TB) []string {
	t.Helper()
	pid := os.Getenv("SYSD_CONTAINER_PID")
	if Root() == "" || pid == "" {
		t.Fatal("SYSD_ROOT or SYSD_CONTAINER_PID is not set: not inside systemdtest.Run")
	}
	return []string{"nsenter", "-t", pid, "-m", "-u", "-i", "-n", "-p", "-C", "-r", "-w"}
}

// Command is a program run inside the booted container with a plain PATH,
// the C locale and env.
func Command(t testing.TB, env []string, args ...string) *exec.Cmd {
	t.Helper()
	ns := Nsenter(t)
	cmd := exec.Command(ns[0], append(slices.Clone(ns[1:]), args...)...)
	cmd.Env = append([]string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG=C", "HOME=/root"}, env...)
	return cmd
}

// Inside runs args inside the booted container (Command) and returns what
// they printed; a failure fails t with the output.
func Inside(t testing.TB, env []string, args ...string) string {
	t.Helper()
	out, err := Command(t, env, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%q in the container: %v\n%s", args, err, out)
	}
	return string(out)
}

// BuildDeb builds package name in version (upstream-debian) with dpkg-deb
// (nothing is installed here): it ships /usr/share/<name>/VERSION with the
// upstream version and the extra files (path in the package → content;
// DEBIAN/postinst and the other maintainer scripts are made executable).
// It returns the .deb's content.
func BuildDeb(t testing.TB, name, version string, extra map[string]string) []byte {
	t.Helper()
	dir := t.TempDir()
	tree := filepath.Join(dir, "tree")
	upstream, _, _ := strings.Cut(version, "-")
	files := map[string]string{
		"DEBIAN/control": "Package: " + name + "\nVersion: " + version + "\nArchitecture: all\nSection: misc\nPriority: optional\n" +
			"Maintainer: Wacht Test <test@example.invalid>\nDescription: Wacht test package\n",
		"usr/share/" + name + "/VERSION": upstream + "\n",
	}
	for p, body := range extra {
		files[p] = body
	}
	for p, body := range files {
		mode := os.FileMode(0o644)
		if slices.Contains([]string{"DEBIAN/preinst", "DEBIAN/postinst", "DEBIAN/prerm", "DEBIAN/postrm"}, p) {
			mode = 0o755
		}
		if err := os.MkdirAll(filepath.Join(tree, filepath.Dir(p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(tree, p), []byte(body), mode); err != nil {
			t.Fatal(err)
		}
	}
	deb := filepath.Join(dir, name+"_"+version+"_all.deb")
	if out, err := exec.Command("dpkg-deb", "--root-owner-group", "--build", tree, deb).CombinedOutput(); err != nil {
		t.Fatalf("dpkg-deb: %v: %s", err, out)
	}
	b, err := os.ReadFile(deb)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
