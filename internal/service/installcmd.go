package service

import (
	"strings"
)

// InstallerPath is the route an enrollment token's holder downloads the
// newest installer of a kind and architecture from (Authorization: Bearer
// <token>); UserInstallerPath the same for signed-in users.
const (
	InstallerPath     = "/api/agent/installers/"
	UserInstallerPath = "/api/v1/installers/"
)

// InstallCommands are copy-paste commands that download the agent's
// installer from the server with the token and install it, per OS.
type InstallCommands struct {
	// Windows is for an elevated PowerShell: it downloads the x64 MSI
	// (which installs the arm64 agent on ARM machines) and runs
	// msiexec /qn TOKEN=….
	Windows string `json:"windows"`
	// Linux is for a root shell (sh): it picks .deb or .rpm by whether
	// dpkg or rpm is there and the architecture by uname -m.
	Linux string `json:"linux"`
	// MacOS is for a root shell: it unpacks the macOS tarball
	// (wacht-agent-<version>-darwin-<arch>.tar.gz) and runs its install.sh
	// with WACHT_TOKEN.
	MacOS string `json:"macos"`
}

// Commands builds the install commands for token at ts. With a
// fingerprint (a self-signed certificate) every download pins the
// server's certificate: curl with --pinnedpubkey (ts.Pin; curl checks the
// pin instead of the certificate chain, so --insecure only drops the
// chain check that a self-signed certificate cannot pass) and PowerShell
// with a validation callback that accepts exactly the certificate whose
// SHA-256 hash is the fingerprint (psPinType). Without a fingerprint (a publicly
// trusted certificate) they verify the certificate as usual.
func Commands(ts TokenServer, token string) InstallCommands {
	base := strings.TrimRight(ts.URL, "/")
	curl := "curl -fsSL"
	if ts.Fingerprint != "" {
		curl += " --insecure --pinnedpubkey " + shQuote("sha256//"+ts.Pin)
	}
	curl += " -H " + shQuote("Authorization: Bearer "+token)

	linux := "set -e; " +
		"case $(uname -m) in x86_64|amd64) A=amd64;; aarch64|arm64) A=arm64;; *) echo \"unsupported architecture $(uname -m)\" >&2; exit 1;; esac; " +
		"if command -v dpkg >/dev/null 2>&1; then K=deb; I='dpkg -i'; elif command -v rpm >/dev/null 2>&1; then K=rpm; I='rpm -i'; " +
		"else echo 'neither dpkg nor rpm found' >&2; exit 1; fi; " +
		"D=$(mktemp -d); F=\"$D/wacht-agent.$K\"; " +
		curl + " -o \"$F\" " + shQuote(base+InstallerPath) + "\"$K/$A\"; " +
		"WACHT_TOKEN=" + shQuote(token) + " $I \"$F\"; rm -rf \"$D\""

	macos := "set -e; " +
		"case $(uname -m) in x86_64) A=amd64;; arm64) A=arm64;; *) echo \"unsupported architecture $(uname -m)\" >&2; exit 1;; esac; " +
		"D=$(mktemp -d); F=\"$D/wacht-agent.tar.gz\"; " +
		curl + " -o \"$F\" " + shQuote(base+InstallerPath+"tar.gz/") + "\"$A\"; " +
		"tar -xzf \"$F\" -C \"$D\"; " +
		"WACHT_TOKEN=" + shQuote(token) + " sh \"$D\"/wacht-agent-*/install.sh; rm -rf \"$D\""

	var ps strings.Builder
	ps.WriteString("$ErrorActionPreference='Stop'; $t=" + psQuote(token) + "; $f=Join-Path $env:TEMP 'wacht-agent.msi'; ")
	ps.WriteString("[Net.ServicePointManager]::SecurityProtocol=[Net.SecurityProtocolType]::Tls12; ")
	if ts.Fingerprint != "" {
		// A compiled callback, not a script block: PowerShell 7 calls it
		// on a thread without a runspace, where a script block fails.
		ps.WriteString("Add-Type -TypeDefinition " + psQuote(psPinType) + "; [WachtPin]::Fingerprint=" + psQuote(ts.Fingerprint) + "; ")
		ps.WriteString("[Net.ServicePointManager]::ServerCertificateValidationCallback=[WachtPin]::Callback; ")
	}
	ps.WriteString("$w=New-Object Net.WebClient; $w.Headers['Authorization']=\"Bearer $t\"; ")
	ps.WriteString("$w.DownloadFile(" + psQuote(base+InstallerPath+"msi/amd64") + ", $f); ")
	if ts.Fingerprint != "" {
		ps.WriteString("[Net.ServicePointManager]::ServerCertificateValidationCallback=$null; ")
	}
	ps.WriteString("$p=Start-Process msiexec.exe -Wait -PassThru -ArgumentList @('/i', \"`\"$f`\"\", '/qn', \"TOKEN=$t\"); ")
	ps.WriteString("Remove-Item $f; if ($p.ExitCode -ne 0) { throw \"msiexec failed with exit code $($p.ExitCode)\" }")

	// In a subshell, so that set -e and exit end the command, not the
	// shell it is pasted into.
	return InstallCommands{Windows: ps.String(), Linux: "(" + linux + ")", MacOS: "(" + macos + ")"}
}

// psPinType is the C# validation callback of the Windows command: it
// accepts exactly the certificate whose SHA-256 hash (of the DER bytes, what
// GetCertHashString(SHA256) gives on .NET Framework 4.8 and later; computed
// here so that Windows Server 2016's .NET 4.6 works too) is the token's
// fingerprint, whatever its chain or name.
const psPinType = `using System;using System.Net.Security;using System.Security.Cryptography;using System.Security.Cryptography.X509Certificates;` +
	`public static class WachtPin{public static string Fingerprint;` +
	`public static bool Check(object s,X509Certificate c,X509Chain ch,SslPolicyErrors e){if(c==null||Fingerprint==null)return false;` +
	`byte[] h;using(var sha=SHA256.Create()){h=sha.ComputeHash(c.GetRawCertData());}` +
	`return BitConverter.ToString(h).Replace("-","").Equals(Fingerprint,StringComparison.OrdinalIgnoreCase);}` +
	`public static RemoteCertificateValidationCallback Callback{get{return Check;}}}`

// shQuote quotes s for a POSIX shell.
func shQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// psQuote quotes s as a PowerShell single-quoted string.
func psQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", "''") + "'" }
