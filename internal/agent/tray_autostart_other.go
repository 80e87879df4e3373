//go:build !windows

package agent

import "runtime"

func installTrayAutostart(tray string) error { return writeTrayAutostart("/", runtime.GOOS, tray) }

func removeTrayAutostart() error { return deleteTrayAutostart("/", runtime.GOOS) }
