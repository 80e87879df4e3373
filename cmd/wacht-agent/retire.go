package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kardianos/service"

	"github.com/wacht-rmm/wacht/internal/agent"
)

// selfUninstall is the agent's Uninstall hook: when the server retires
// this device, the agent removes its service registration and its data
// folder (configuration, key, spool), then exits. The binary stays; a
// package manager or the operator removes it.
func selfUninstall(data string, stderr io.Writer) func() {
	return func() {
		if s, err := service.New(&program{}, serviceConfig(data)); err == nil {
			if err := s.Uninstall(); err != nil {
				fmt.Fprintf(stderr, "retired: removing service: %v\n", err)
			}
		}
		if err := agent.RemoveTrayAutostart(); err != nil {
			fmt.Fprintf(stderr, "retired: %v\n", err)
		}
		if err := purgeData(data); err != nil {
			fmt.Fprintf(stderr, "retired: deleting %s: %v\n", data, err)
			os.Exit(1)
		}
		fmt.Fprintf(stderr, "This device was retired by the server; the agent uninstalled itself and deleted %s.\n", data)
		os.Exit(0)
	}
}
