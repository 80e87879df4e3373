package agent

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// The loginctl outputs under testdata/loginctl are in the format of
// systemd 252 (Debian 12) and, list-sessions-v256.txt, of systemd 256
// with its legend: a desktop user on seat0, an ssh session, the greeter.
func readLoginctl(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "loginctl", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestSessionIDs(t *testing.T) {
	if got := sessionIDs(readLoginctl(t, "list-sessions.txt")); strings.Join(got, ",") != "3,12,c1" {
		t.Errorf("systemd 252: %v", got)
	}
	if got := sessionIDs(readLoginctl(t, "list-sessions-v256.txt")); strings.Join(got, ",") != "5" {
		t.Errorf("systemd 256 with legend: %v", got)
	}
	if got := sessionIDs(nil); len(got) != 0 {
		t.Errorf("no sessions: %v", got)
	}
}

func TestPickSession(t *testing.T) {
	list := parseSessions(readLoginctl(t, "show-session.txt"))
	if len(list) != 3 || list[2]["Class"] != "greeter" {
		t.Fatalf("parsed %v", list)
	}
	s, ok := pickSession(list)
	if !ok || s["Name"] != "anna" || s["User"] != "1000" {
		t.Errorf("picked %v %v, want anna's wayland session", s, ok)
	}
	// Without the desktop session only a remote one and the greeter are
	// left: nobody is logged on at the machine.
	if s, ok := pickSession(list[1:]); ok {
		t.Errorf("picked %v from an ssh session and the greeter", s)
	}
	// A text console on a seat beats a local session without one, and
	// loses to a graphical one.
	tty := loginSession{"Name": "carl", "User": "1002", "Class": "user", "Active": "yes", "Remote": "no", "Seat": "seat0", "Type": "tty"}
	noSeat := loginSession{"Name": "dora", "User": "1003", "Class": "user", "Active": "yes", "Remote": "no", "Type": "unspecified"}
	if s, _ := pickSession([]loginSession{noSeat, tty}); s["Name"] != "carl" {
		t.Errorf("picked %v, want the console", s)
	}
	if s, _ := pickSession([]loginSession{tty, list[0]}); s["Name"] != "anna" {
		t.Errorf("picked %v, want the graphical session", s)
	}
	inactive := loginSession{"Name": "eva", "User": "1004", "Class": "user", "Active": "no", "Remote": "no", "Seat": "seat0", "Type": "x11"}
	if s, ok := pickSession([]loginSession{inactive}); ok {
		t.Errorf("picked the inactive session %v", s)
	}
}

func TestSessionEnv(t *testing.T) {
	s := loginSession{"Name": "anna", "User": "1000", "Type": "x11", "Display": ":0"}
	have := map[string]bool{"/run/user/1000": true, "/run/user/1000/bus": true}
	env := sessionEnv(s, "/home/anna", "/run/user/1000", func(p string) bool { return have[p] })
	for _, want := range []string{"HOME=/home/anna", "USER=anna", "LOGNAME=anna", "XDG_RUNTIME_DIR=/run/user/1000",
		"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/1000/bus", "DISPLAY=:0"} {
		if !slices.Contains(env, want) {
			t.Errorf("environment %v lacks %s", env, want)
		}
	}
	s["Type"], s["Display"] = "wayland", ""
	have["/run/user/1000/wayland-0"] = true
	env = sessionEnv(s, "/home/anna", "/run/user/1000", func(p string) bool { return have[p] })
	if !slices.Contains(env, "WAYLAND_DISPLAY=wayland-0") || slices.ContainsFunc(env, func(e string) bool { return strings.HasPrefix(e, "DISPLAY=") }) {
		t.Errorf("wayland environment %v", env)
	}
}

func TestConsoleUser(t *testing.T) {
	for out, want := range map[string]string{"anna\n": "anna", "root\n": "", "_mbsetupuser\n": "", "": "", "a b\n": ""} {
		if got := consoleUser([]byte(out)); got != want {
			t.Errorf("consoleUser(%q) = %q, want %q", out, got, want)
		}
	}
}
