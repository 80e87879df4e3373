// Package installer builds the agent's installers from the release
// binaries in dist/ (make dist, issue 21): the Windows MSI with wixl
// (windows.go), Linux .deb and .rpm packages with nfpm (linux.go) and the
// macOS package (darwin.go). Each installer enrolls the machine with a
// token given at install time and registers the agent's service.
package installer

// Options say what to build and where.
type Options struct {
	Dist    string // the folder with wacht-agent-<os>-<arch>[.exe] and wacht-tray-…; installers are written here too
	Version string // the agent's version (make's VERSION)
	// CodeSignCert and CodeSignKey, if set, sign the MSI with osslsigncode.
	CodeSignCert, CodeSignKey string
}

// Built is one installer written to Dist.
type Built struct {
	Path string
	Kind string // release.Kind…
	OS   string
	Arch string
}
