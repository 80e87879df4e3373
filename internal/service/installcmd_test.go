package service

import (
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/protocol"
)

// TestWindowsPinCallback compiles the C# certificate callback of the
// Windows one-liner with Mono's compiler and lets it guard a real TLS
// download (WebClient, as the one-liner does): the server's own
// fingerprint, in either case, is accepted; another is refused. It skips
// without mcs and mono (Debian package mono-mcs), and fails so in CI.
func TestWindowsPinCallback(t *testing.T) {
	mcs, err1 := exec.LookPath("mcs")
	mono, err2 := exec.LookPath("mono")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("mcs and mono are not installed (.ci/run installs mono-mcs)")
		}
		t.Skip("mcs and mono are not installed (apt-get install mono-mcs)")
	}
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer wacht1_test" {
			http.Error(w, "no token", http.StatusUnauthorized)
			return
		}
		_, _ = w.Write([]byte("installer bytes"))
	}))
	defer srv.Close()
	dir := t.TempDir()
	main := `using System;using System.Net;
public static class Program{public static int Main(string[] a){
WachtPin.Fingerprint=a[1];ServicePointManager.ServerCertificateValidationCallback=WachtPin.Callback;
try{var w=new WebClient();w.Headers["Authorization"]="Bearer wacht1_test";Console.Write(w.DownloadString(a[0]));return 0;}
catch(Exception e){Console.Error.WriteLine(e.Message);return 1;}}}`
	for name, src := range map[string]string{"pin.cs": psPinType, "main.cs": main} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	exe := filepath.Join(dir, "pin.exe")
	if out, err := exec.Command(mcs, "-out:"+exe, filepath.Join(dir, "pin.cs"), filepath.Join(dir, "main.cs")).CombinedOutput(); err != nil {
		t.Fatalf("compiling the callback: %v\n%s", err, out)
	}
	fp := protocol.Fingerprint(srv.Certificate().Raw)
	for _, c := range []struct {
		fp string
		ok bool
	}{{fp, true}, {strings.ToUpper(fp), true}, {strings.Repeat("ab", 32), false}, {"", false}} {
		out, err := exec.Command(mono, exe, srv.URL, c.fp).CombinedOutput()
		if c.ok && (err != nil || string(out) != "installer bytes") {
			t.Errorf("fingerprint %.12s…: %v %s", c.fp, err, out)
		}
		if !c.ok && (err == nil || strings.Contains(string(out), "installer bytes")) {
			t.Errorf("fingerprint %q accepted: %s", c.fp, out)
		}
	}
}
