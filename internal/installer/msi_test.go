package installer

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/wacht-rmm/wacht/internal/release"
)

// needTools skips (or fails under CI) without wixl and msitools.
func needTools(t *testing.T, tools ...string) {
	t.Helper()
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			if os.Getenv("CI") != "" || os.Getenv("WACHT_REQUIRE_WINE") == "1" {
				t.Fatalf("%s is not installed (apt-get install wixl msitools osslsigncode)", tool)
			}
			t.Skipf("%s is not installed (apt-get install wixl msitools osslsigncode)", tool)
		}
	}
}

// standInDist writes small Windows programs as the agent and the tray for
// the given architectures.
func standInDist(t *testing.T, archs ...string) string {
	t.Helper()
	dir := t.TempDir()
	src := filepath.Join(dir, "main.go")
	if err := os.WriteFile(src, []byte("package main\n\nfunc main() { println(\"stand-in\") }\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	dist := filepath.Join(dir, "dist")
	if err := os.Mkdir(dist, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, arch := range archs {
		out := filepath.Join(dist, "wacht-agent-windows-"+arch+".exe")
		cmd := exec.Command("go", "build", "-ldflags", "-s -w", "-o", out, src)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=windows", "GOARCH="+arch)
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, b)
		}
		b, _ := os.ReadFile(out)
		if err := os.WriteFile(filepath.Join(dist, "wacht-tray-windows-"+arch+".exe"), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dist
}

// table exports one table with msiinfo: its rows, tab-separated, without
// the three header lines.
func table(t *testing.T, msi, name string) [][]string {
	t.Helper()
	out, err := exec.Command("msiinfo", "export", msi, name).Output()
	if err != nil {
		t.Fatalf("msiinfo export %s: %v", name, err)
	}
	lines := strings.Split(strings.ReplaceAll(string(out), "\r\n", "\n"), "\n")
	var rows [][]string
	for _, l := range lines[min(3, len(lines)):] {
		if l != "" {
			rows = append(rows, strings.Split(l, "\t"))
		}
	}
	return rows
}

func rowsBy(rows [][]string) map[string][]string {
	m := map[string][]string{}
	for _, r := range rows {
		m[r[0]] = r
	}
	return m
}

// TestWindowsMSITables builds the MSI from stand-in binaries and checks
// its tables: what wixl wrote and what finishMSI added.
func TestWindowsMSITables(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	dist := standInDist(t, "amd64", "arm64")
	const version = "0.1165.0+g26226e3"
	built, err := Windows(Options{Dist: dist, Version: version})
	if err != nil {
		t.Fatal(err)
	}
	if len(built) != 1 || built[0].Kind != release.KindMSI || built[0].OS != "windows" || built[0].Arch != "amd64" ||
		built[0].Path != filepath.Join(dist, "wacht-agent-0.1165.0+g26226e3-x64.msi") {
		t.Fatalf("built %+v", built)
	}
	msi := built[0].Path
	if out, err := exec.Command("msiinfo", "suminfo", msi).Output(); err != nil || !strings.Contains(string(out), "x64;1033") {
		t.Errorf("summary information is not x64: %v\n%s", err, out)
	}

	prop := map[string]string{}
	for _, r := range table(t, msi, "Property") {
		prop[r[0]] = r[1]
	}
	for k, want := range map[string]string{
		"ProductVersion": "0.0.1165", "UpgradeCode": UpgradeCode, "ProductCode": ProductCode(version),
		"ALLUSERS": "1", "MsiHiddenProperties": "TOKEN", "ProductName": "Wacht Agent",
	} {
		if prop[k] != want {
			t.Errorf("Property %s = %q, want %q", k, prop[k], want)
		}
	}
	if _, ok := prop["TOKEN"]; ok {
		t.Errorf("the MSI carries a TOKEN value: %q", prop["TOKEN"])
	}
	for _, p := range []string{"TOKEN", "PURGE", "NOSTART"} {
		if !strings.Contains(";"+prop["SecureCustomProperties"]+";", ";"+p+";") {
			t.Errorf("SecureCustomProperties %q lacks %s", prop["SecureCustomProperties"], p)
		}
	}

	comp := rowsBy(table(t, msi, "Component"))
	if c := comp["AgentArm64"]; c == nil || c[4] != ARM64Condition {
		t.Errorf("AgentArm64 condition: %q", c)
	}
	if c := comp["AgentAmd64"]; c == nil || c[4] != "NOT ("+ARM64Condition+")" {
		t.Errorf("AgentAmd64 condition: %q", c)
	}
	if c := comp["TrayArm64"]; c == nil || c[4] != ARM64Condition {
		t.Errorf("TrayArm64 condition: %q", c)
	}
	if c := comp["ServiceStart"]; c == nil || c[4] != `NOT (NOSTART="1")` {
		t.Errorf("ServiceStart condition: %q", c)
	}
	for id, c := range comp {
		if c[3] != "256" && id != "ServiceStart" {
			t.Errorf("component %s attributes %s, want 256 (64-bit)", id, c[3])
		}
	}
	if lc := table(t, msi, "LaunchCondition"); len(lc) != 2 {
		t.Errorf("launch conditions %q: a component condition became one?", lc)
	}

	files := rowsBy(table(t, msi, "File"))
	for id, name := range map[string]string{"AgentAmd64": "wacht-agent.exe", "AgentArm64": "wacht-agent.exe", "TrayAmd64": "wacht-tray.exe", "TrayArm64": "wacht-tray.exe"} {
		if f := files[id]; f == nil || f[1] != id || f[2] != name {
			t.Errorf("File %s: %q", id, f)
		}
	}
	dirs := rowsBy(table(t, msi, "Directory"))
	if d := dirs["INSTALLDIR"]; d == nil || d[1] != "ProgramFiles64Folder" || d[2] != "Wacht" {
		t.Errorf("INSTALLDIR %q", d)
	}

	svc := rowsBy(table(t, msi, "ServiceInstall"))
	for _, id := range []string{"AgentAmd64Service", "AgentArm64Service"} {
		s := svc[id]
		// Name, DisplayName, type own process, auto start, normal errors, …, Arguments, Component_.
		if s == nil || s[1] != ServiceName || s[3] != "16" || s[4] != "2" || s[5] != "1" ||
			s[10] != `run --data "[CommonAppDataFolder]Wacht"` || s[11] != strings.TrimSuffix(id, "Service") {
			t.Errorf("ServiceInstall %s: %q", id, s)
		}
	}
	ctl := rowsBy(table(t, msi, "ServiceControl"))
	// Events: stop on install and uninstall (0x2|0x20), delete on
	// uninstall (0x80); start on install (0x1) only in ServiceStart.
	for id, want := range map[string][2]string{"AgentAmd64Control": {"162", "AgentAmd64"}, "AgentArm64Control": {"162", "AgentArm64"}, "ServiceStartControl": {"1", "ServiceStart"}} {
		if c := ctl[id]; c == nil || c[1] != ServiceName || c[2] != want[0] || c[5] != want[1] {
			t.Errorf("ServiceControl %s: %q, want events %s", id, c, want[0])
		}
	}
	rec := rowsBy(table(t, msi, "MsiServiceConfigFailureActions"))
	if r := rec["AgentAmd64Recovery"]; r == nil || r[6] != "1[~]1[~]1" || r[7] != "10000[~]10000[~]60000" {
		t.Errorf("recovery %q", r)
	}

	ca := rowsBy(table(t, msi, "CustomAction"))
	if c := ca["EnrollAgent"]; c == nil || c[1] != "11298" || c[2] != "INSTALLDIR" ||
		c[3] != `"[INSTALLDIR]wacht-agent.exe" enroll --token "[TOKEN]" --data "[CommonAppDataFolder]Wacht" --log "[CommonAppDataFolder]Wacht\enroll.log"` {
		t.Errorf("EnrollAgent %q", c)
	}
	if c := ca["PurgeData"]; c == nil || c[1] != "3170" || !strings.Contains(c[3], "uninstall --purge --data") {
		t.Errorf("PurgeData %q", c)
	}
	seq := map[string][]string{}
	num := map[string]int{}
	for _, r := range table(t, msi, "InstallExecuteSequence") {
		seq[r[0]] = r
		n := 0
		for _, ch := range r[2] {
			n = n*10 + int(ch-'0')
		}
		num[r[0]] = n
	}
	if c := seq["EnrollAgent"]; c == nil || c[1] != `TOKEN AND NOT ENROLLED AND NOT (REMOVE~="ALL")` {
		t.Errorf("EnrollAgent sequence %q", c)
	}
	if !(num["InstallFiles"] < num["InstallServices"] && num["InstallServices"] < num["MsiConfigureServices"] &&
		num["MsiConfigureServices"] < num["EnrollAgent"] && num["EnrollAgent"] < num["StartServices"]) {
		t.Errorf("install order: files %d, services %d, configure %d, enroll %d, start %d", num["InstallFiles"],
			num["InstallServices"], num["MsiConfigureServices"], num["EnrollAgent"], num["StartServices"])
	}
	if !(num["DeleteServices"] < num["PurgeData"] && num["PurgeData"] < num["RemoveFiles"]) || seq["PurgeData"][1] != `PURGE="1" AND (REMOVE~="ALL") AND NOT UPGRADINGPRODUCTCODE` {
		t.Errorf("purge: %q at %d between %d and %d", seq["PurgeData"], num["PurgeData"], num["DeleteServices"], num["RemoveFiles"])
	}
	if !(num["AppSearch"] < num["LaunchConditions"] && num["InstallValidate"] < num["RemoveExistingProducts"] && num["RemoveExistingProducts"] < num["InstallInitialize"]) {
		t.Errorf("AppSearch %d, LaunchConditions %d, RemoveExistingProducts %d", num["AppSearch"], num["LaunchConditions"], num["RemoveExistingProducts"])
	}

	as := rowsBy(table(t, msi, "AppSearch"))
	if as["ENROLLED"] == nil || as["NATIVEARCH"] == nil {
		t.Errorf("AppSearch %q", as)
	}
	if dl := rowsBy(table(t, msi, "DrLocator")); dl["AgentConfig"] == nil || dl["AgentConfig"][2] != "[CommonAppDataFolder]Wacht" {
		t.Errorf("DrLocator %q", dl)
	}
	if rl := rowsBy(table(t, msi, "RegLocator")); rl["NativeArch"] == nil || rl["NativeArch"][3] != "PROCESSOR_ARCHITECTURE" || rl["NativeArch"][4] != "18" {
		t.Errorf("RegLocator %q (want type 18: raw, 64-bit view)", rl)
	}

	var run []string
	for _, r := range table(t, msi, "Registry") {
		if r[2] == `Software\Microsoft\Windows\CurrentVersion\Run` {
			run = append(run, r[5])
			if r[1] != "2" || r[3] != TrayRunValue || r[4] != `"[INSTALLDIR]wacht-tray.exe"` {
				t.Errorf("tray Run value %q", r)
			}
		}
	}
	if strings.Join(run, ",") != "TrayAmd64,TrayArm64" {
		t.Errorf("tray Run values in components %v", run)
	}

	up := table(t, msi, "Upgrade")
	var sawUp, sawDown bool
	for _, u := range up {
		if u[0] != UpgradeCode {
			t.Errorf("Upgrade row for %s", u[0])
		}
		switch u[6] {
		case "WIX_UPGRADE_DETECTED":
			sawUp = u[1] == "" && u[2] == "0.0.1165" && u[4] == "513"
		case "WIX_DOWNGRADE_DETECTED":
			sawDown = u[1] == "0.0.1165" && u[4] == "2"
		}
	}
	if !sawUp || !sawDown {
		t.Errorf("Upgrade table %q", up)
	}
}

// TestWindowsMSIOnlyAmd64 builds without ARM64 binaries: one agent
// component, no condition, no tray.
func TestWindowsMSIOnlyAmd64(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	dist := standInDist(t, "amd64")
	for _, f := range []string{"wacht-tray-windows-amd64.exe"} {
		os.Remove(filepath.Join(dist, f))
	}
	built, err := Windows(Options{Dist: dist, Version: "v1.2.3"})
	if err != nil {
		t.Fatal(err)
	}
	comp := rowsBy(table(t, built[0].Path, "Component"))
	if len(comp) != 2 || comp["AgentAmd64"] == nil || comp["AgentAmd64"][4] != "" {
		t.Errorf("components %q", comp)
	}
	if reg := table(t, built[0].Path, "Registry"); strings.Contains(strings.Join(reg[0], " ")+strings.Join(reg[len(reg)-1], " "), "Run") {
		t.Errorf("a Run value without a tray: %q", reg)
	}
}

// TestWindowsBadInput: a missing agent, a Linux binary in place of the
// Windows one, an ARM64 binary in the amd64 slot, a version the MSI
// cannot carry.
func TestWindowsBadInput(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo")
	dist := standInDist(t, "amd64", "arm64")
	if _, err := Windows(Options{Dist: dist, Version: "v1.2.300000"}); err == nil || !strings.Contains(err.Error(), "at most 65535") {
		t.Errorf("version out of range: %v", err)
	}
	amd, arm := filepath.Join(dist, "wacht-agent-windows-amd64.exe"), filepath.Join(dist, "wacht-agent-windows-arm64.exe")
	b, _ := os.ReadFile(arm)
	if err := os.WriteFile(amd, b, 0o755); err != nil {
		t.Fatal(err)
	}
	if _, err := Windows(Options{Dist: dist, Version: "v1.2.3"}); err == nil || !strings.Contains(err.Error(), "windows/arm64 program, not windows/amd64") {
		t.Errorf("arm64 binary as amd64: %v", err)
	}
	self, _ := os.Executable() // a Linux ELF
	b, _ = os.ReadFile(self)
	os.WriteFile(amd, b, 0o755)
	if _, err := Windows(Options{Dist: dist, Version: "v1.2.3"}); err == nil || !strings.Contains(err.Error(), "not windows/amd64") {
		t.Errorf("Linux binary as the Windows agent: %v", err)
	}
	os.Remove(amd)
	if _, err := Windows(Options{Dist: dist, Version: "v1.2.3"}); err == nil {
		t.Error("no amd64 agent: built anyway")
	}
	if matches, _ := filepath.Glob(filepath.Join(dist, "*.msi")); len(matches) != 0 {
		t.Errorf("failed builds left %v", matches)
	}
}

// selfSignedCodeSigning writes a self-signed code-signing certificate and
// its key (PEM) made with crypto/x509.
func selfSignedCodeSigning(t *testing.T, dir, cn string) (cert, key string) {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"Wacht Test"}},
		NotBefore:    time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning},
		BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		t.Fatal(err)
	}
	kb, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		t.Fatal(err)
	}
	cert, key = filepath.Join(dir, "codesign.pem"), filepath.Join(dir, "codesign.key")
	if err := os.WriteFile(cert, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(key, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kb}), 0o600); err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// TestWindowsMSISigned builds with a code-signing certificate (as make
// dist CODESIGN_CERT=… CODESIGN_KEY=…) and verifies the signature with
// osslsigncode against that certificate; a changed byte breaks it.
func TestWindowsMSISigned(t *testing.T) {
	needTools(t, "wixl", "msibuild", "msiinfo", "osslsigncode")
	dist := standInDist(t, "amd64")
	cert, key := selfSignedCodeSigning(t, t.TempDir(), "Wacht Test Code Signing")
	built, err := Windows(Options{Dist: dist, Version: "v1.2.3", CodeSignCert: cert, CodeSignKey: key})
	if err != nil {
		t.Fatal(err)
	}
	msi := built[0].Path
	out, err := exec.Command("osslsigncode", "verify", "-in", msi, "-CAfile", cert).CombinedOutput()
	if err != nil {
		t.Fatalf("osslsigncode verify: %v\n%s", err, out)
	}
	for _, want := range []string{"Wacht Test Code Signing", "Signature verification: ok", "SHA256"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("osslsigncode verify does not say %q:\n%s", want, out)
		}
	}
	if !strings.Contains(string(out), "Wacht Agent") {
		t.Errorf("the signature does not carry the program name Wacht Agent:\n%s", out)
	}
	// The signed MSI is still a database msiinfo reads.
	if rows := table(t, msi, "Property"); len(rows) == 0 {
		t.Error("signed MSI has no Property table")
	}
	// Tampering: a property added to the signed database.
	b, err := os.ReadFile(msi)
	if err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(t.TempDir(), "tampered.msi")
	if err := os.WriteFile(bad, b, 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("msibuild", bad, "-q", "INSERT INTO `Property` (`Property`, `Value`) VALUES ('TOKEN', 'wacht1_evil')").CombinedOutput(); err != nil {
		t.Fatalf("msibuild: %v\n%s", err, out)
	}
	if out, err := exec.Command("osslsigncode", "verify", "-in", bad, "-CAfile", cert).CombinedOutput(); err == nil {
		t.Errorf("a tampered MSI verified:\n%s", out)
	}
}
