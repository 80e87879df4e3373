package agent

import (
	"errors"
	"fmt"

	"golang.org/x/sys/windows/registry"
)

// installTrayAutostart sets the machine's Run value: the tray starts at
// every user's log-on, in the user's session.
func installTrayAutostart(tray string) error {
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, trayRunKey, registry.SET_VALUE)
	if err != nil {
		return fmt.Errorf("registering the tray app: %w", err)
	}
	defer k.Close()
	if err := k.SetStringValue(TrayRunValue, trayRunCommand(tray)); err != nil {
		return fmt.Errorf("registering the tray app: %w", err)
	}
	return nil
}

func removeTrayAutostart() error {
	k, err := registry.OpenKey(registry.LOCAL_MACHINE, trayRunKey, registry.SET_VALUE)
	if errors.Is(err, registry.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("removing the tray app's autostart: %w", err)
	}
	defer k.Close()
	if err := k.DeleteValue(TrayRunValue); err != nil && !errors.Is(err, registry.ErrNotExist) {
		return fmt.Errorf("removing the tray app's autostart: %w", err)
	}
	return nil
}
