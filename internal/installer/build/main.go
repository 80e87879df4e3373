// Command build writes the agent's installers into dist/ (make dist):
//
//	go run ./internal/installer/build --dist dist --version 0.1.0 [--only linux,darwin,windows]
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/wacht-rmm/wacht/internal/installer"
)

func main() {
	var o installer.Options
	flag.StringVar(&o.Dist, "dist", "dist", "folder with the release binaries; installers go there too")
	flag.StringVar(&o.Version, "version", "", "agent version")
	flag.StringVar(&o.CodeSignCert, "codesign-cert", os.Getenv("CODESIGN_CERT"), "code-signing certificate for the MSI (optional)")
	flag.StringVar(&o.CodeSignKey, "codesign-key", os.Getenv("CODESIGN_KEY"), "its private key")
	only := flag.String("only", "linux,darwin,windows", "comma-separated: which OS's installers to build")
	flag.Parse()
	if o.Version == "" {
		fmt.Fprintln(os.Stderr, "build: --version is required")
		os.Exit(2)
	}
	builders := map[string]func(installer.Options) ([]installer.Built, error){
		"linux": installer.Linux, "darwin": installer.Darwin, "windows": installer.Windows,
	}
	var want []string
	for _, name := range strings.Split(*only, ",") {
		name = strings.TrimSpace(name)
		if builders[name] == nil {
			fmt.Fprintf(os.Stderr, "build: --only: unknown OS %q (linux, darwin, windows)\n", name)
			os.Exit(2)
		}
		want = append(want, name)
	}
	for _, name := range want {
		built, err := builders[name](o)
		if err != nil {
			fmt.Fprintln(os.Stderr, "build:", err)
			os.Exit(1)
		}
		for _, f := range built {
			fmt.Printf("%s %s/%s %s\n", f.Kind, f.OS, f.Arch, f.Path)
		}
	}
}
