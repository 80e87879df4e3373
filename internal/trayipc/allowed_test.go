package trayipc

import (
	"strings"
	"testing"
)

func TestAllowed(t *testing.T) {
	for _, tc := range []struct {
		goos, uid string
		ok        bool
	}{
		{"linux", "0", true},
		{"linux", "1", false},
		{"linux", "999", false},
		{"linux", "1000", true},
		{"linux", "1001", true},
		{"linux", "61184", false}, // systemd DynamicUser=
		{"linux", "65519", false},
		{"linux", "65520", true},
		{"linux", "65534", false}, // nobody
		{"linux", "65535", false},
		{"linux", "100000", true}, // directory users
		{"linux", "4294967294", false},
		{"linux", "4294967295", false},
		{"linux", "-1", false},
		{"linux", "", false},
		{"linux", "S-1-5-21-1-2-3-1001", false},
		{"darwin", "0", true},
		{"darwin", "1", false},
		{"darwin", "499", false},
		{"darwin", "501", true},
		{"darwin", "4294967294", false}, // nobody (-2)
		{"darwin", "2147483648", false},
		{"windows", "S-1-5-21-3623811015-3361044348-30300820-1013", true},
		{"windows", "S-1-5-21-3623811015-3361044348-30300820-500", true}, // Administrator
		{"windows", "S-1-12-1-1234567890-1234567890-1234567890-1234567890", true},
		{"windows", "S-1-5-18", false},                                                       // LocalSystem
		{"windows", "S-1-5-19", false},                                                       // LocalService
		{"windows", "S-1-5-20", false},                                                       // NetworkService
		{"windows", "S-1-5-7", false},                                                        // anonymous
		{"windows", "S-1-5-80-3139157870-2983391045-3678747466-658725712-1809340420", false}, // NT SERVICE\…
		{"windows", "S-1-5-90-0-1", false},                                                   // Window Manager
		{"windows", "S-1-5-96-0-1", false},                                                   // Font Driver Host
		{"windows", "S-1-5-21", false},                                                       // no account
		{"windows", "S-1-5-21-1-x", false},                                                   // malformed
		{"windows", "S-1-5-21-1-2\n", false},                                                 // malformed
		{"windows", "1000", false},
	} {
		err := allowed(tc.goos, Peer{UID: tc.uid, User: "acct"})
		if (err == nil) != tc.ok {
			t.Errorf("%s %q: allowed = %v, want ok %v", tc.goos, tc.uid, err, tc.ok)
		}
		if err != nil && (err.Code != CodeRefused || !strings.Contains(err.Message.EN, "acct") || !strings.Contains(err.Message.DE, "Systemkonto")) {
			t.Errorf("%s %q: refusal %+v", tc.goos, tc.uid, err)
		}
	}
}

// TestPipeSDDL pins the pipe's ACL: users may read and write data but not
// create pipe instances (GENERIC_WRITE would allow that), and what a tray
// asks for when it dials is exactly what it is granted.
func TestPipeSDDL(t *testing.T) {
	if userAccess&fileAppendData != 0 {
		t.Errorf("users may create pipe instances: %#x", userAccess)
	}
	if want := "D:P(D;;GA;;;NU)(A;;GA;;;SY)(A;;0x120083;;;IU)"; pipeSDDL != want {
		t.Errorf("pipeSDDL = %s, want %s", pipeSDDL, want)
	}
}
