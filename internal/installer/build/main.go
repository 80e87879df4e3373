// Command build writes the agent's installers into dist/ (make dist):
//
//	go run ./internal/installer/build --dist dist --version 0.1.0
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/wacht-rmm/wacht/internal/installer"
)

func main() {
	var o installer.Options
	flag.StringVar(&o.Dist, "dist", "dist", "folder with the release binaries; installers go there too")
	flag.StringVar(&o.Version, "version", "", "agent version")
	flag.StringVar(&o.CodeSignCert, "codesign-cert", os.Getenv("CODESIGN_CERT"), "code-signing certificate for the MSI (optional)")
	flag.StringVar(&o.CodeSignKey, "codesign-key", os.Getenv("CODESIGN_KEY"), "its private key")
	flag.Parse()
	if o.Version == "" {
		fmt.Fprintln(os.Stderr, "build: --version is required")
		os.Exit(2)
	}
	for _, b := range []func(installer.Options) ([]installer.Built, error){installer.Linux, installer.Darwin, installer.Windows} {
		built, err := b(o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.Exit(1)
		}
		for _, f := range built {
			fmt.Printf("%s %s/%s %s\n", f.Kind, f.OS, f.Arch, f.Path)
		}
	}
}
