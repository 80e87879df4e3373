// Package installer builds the agent's installers from the release
// binaries in dist/ (make dist, issue 21): the Windows MSI with wixl
// (windows.go), Linux .deb and .rpm packages with nfpm (linux.go) and the
// macOS package (darwin.go). Each installer enrolls the machine with a
// token given at install time and registers the agent's service.
package installer

import (
	"io"
	"os"
)

// Options say what to build and where.
type Options struct {
	Dist    string // the folder with wacht-agent-<os>-<arch>[.exe] and wacht-tray-…; installers are written here too
	Version string // the agent's version (make's VERSION)
	// CodeSignCert and CodeSignKey, if set, sign the MSI with osslsigncode.
	CodeSignCert, CodeSignKey string
}

// createFile writes path with write, removing it again if that fails, so
// that dist never holds a half-written installer.
func createFile(path string, write func(io.Writer) error) (err error) {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			os.Remove(path)
		}
	}()
	return write(f)
}

// Built is one installer written to Dist.
type Built struct {
	Path string
	Kind string // release.Kind…
	OS   string
	Arch string
}
