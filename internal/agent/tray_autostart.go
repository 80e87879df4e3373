package agent

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
)

// The tray app starts at every user's log-on when it is installed next to
// the agent (wacht-agent install registers it, uninstall removes it):
// Windows the machine's Run key, macOS a LaunchAgent for the Aqua
// session, Linux and the BSDs an XDG autostart entry.
const (
	// TrayRunValue is the value's name in HKLM\...\CurrentVersion\Run.
	TrayRunValue = "Wacht Tray"
	trayRunKey   = `Software\Microsoft\Windows\CurrentVersion\Run`
	trayLabel    = "de.wacht.tray"
	// The autostart files, relative to the file system's root.
	trayLaunchAgentFile = "Library/LaunchAgents/" + trayLabel + ".plist"
	trayDesktopFile     = "etc/xdg/autostart/wacht-tray.desktop"
)

// TrayBinary is where the tray app sits when it is installed with the
// agent at agentExe on goos.
func TrayBinary(agentExe, goos string) string {
	name := "wacht-tray"
	if goos == "windows" {
		name += ".exe"
	}
	return filepath.Join(filepath.Dir(agentExe), name)
}

// InstallTrayAutostart registers the tray app next to agentExe to start at
// every user's log-on; false without a tray app there (nothing to do).
func InstallTrayAutostart(agentExe string) (bool, error) {
	tray := TrayBinary(agentExe, runtime.GOOS)
	if _, err := os.Stat(tray); errors.Is(err, fs.ErrNotExist) {
		return false, nil
	}
	if strings.ContainsAny(tray, "\x00\r\n") {
		return false, fmt.Errorf("tray path %q cannot be registered", tray)
	}
	return true, installTrayAutostart(tray)
}

// RemoveTrayAutostart undoes InstallTrayAutostart; nothing registered is
// no error.
func RemoveTrayAutostart() error { return removeTrayAutostart() }

// trayRunCommand is the Run key's value: the quoted path.
func trayRunCommand(tray string) string { return `"` + tray + `"` }

// trayDesktopEntry is the XDG autostart entry starting tray. Exec quotes
// the path as the Desktop Entry spec says: inside double quotes `"`, "`",
// "$" and "\" are escaped with "\", which the string encoding doubles
// again, and "%" is written "%%".
func trayDesktopEntry(tray string) []byte {
	var q strings.Builder
	for _, r := range tray {
		switch r {
		case '"', '`', '$':
			q.WriteString(`\\`)
			q.WriteRune(r)
		case '\\':
			q.WriteString(`\\\\`)
		case '%':
			q.WriteString("%%")
		default:
			q.WriteRune(r)
		}
	}
	return []byte("[Desktop Entry]\n" +
		"Type=Application\n" +
		"Name=Wacht Tray\n" +
		"Comment=Status of this computer and contact to its IT service\n" +
		"Comment[de]=Zustand dieses Computers und Kontakt zu seinem IT-Dienstleister\n" +
		`Exec="` + q.String() + "\"\n" +
		"Terminal=false\n" +
		"NoDisplay=true\n" +
		"X-GNOME-Autostart-enabled=true\n")
}

// trayLaunchAgent is the LaunchAgent property list starting tray in each
// user's graphical session, again after a crash but not after it quit.
func trayLaunchAgent(tray string) []byte {
	var p bytes.Buffer
	xml.EscapeText(&p, []byte(tray))
	return []byte(`<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0">
<dict>
	<key>Label</key>
	<string>` + trayLabel + `</string>
	<key>ProgramArguments</key>
	<array>
		<string>` + p.String() + `</string>
	</array>
	<key>RunAtLoad</key>
	<true/>
	<key>LimitLoadToSessionType</key>
	<string>Aqua</string>
	<key>KeepAlive</key>
	<dict>
		<key>SuccessfulExit</key>
		<false/>
	</dict>
	<key>ProcessType</key>
	<string>Interactive</string>
</dict>
</plist>
`)
}

// trayAutostartFile is the autostart file of goos below root, and its
// content for tray; "" where the OS uses none (Windows).
func trayAutostartFile(root, goos, tray string) (path string, content []byte) {
	switch goos {
	case "windows":
		return "", nil
	case "darwin":
		return filepath.Join(root, trayLaunchAgentFile), trayLaunchAgent(tray)
	}
	return filepath.Join(root, trayDesktopFile), trayDesktopEntry(tray)
}

// writeTrayAutostart writes the autostart file of goos below root,
// readable by every user (0644).
func writeTrayAutostart(root, goos, tray string) error {
	path, content := trayAutostartFile(root, goos, tray)
	if path == "" {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("registering the tray app: %w", err)
	}
	if err := writeFileAtomic(path, content); err != nil {
		return fmt.Errorf("registering the tray app: %w", err)
	}
	if err := os.Chmod(path, 0o644); err != nil {
		return fmt.Errorf("registering the tray app: %w", err)
	}
	return nil
}

// deleteTrayAutostart removes the autostart file of goos below root.
func deleteTrayAutostart(root, goos string) error {
	path, _ := trayAutostartFile(root, goos, "")
	if path == "" {
		return nil
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("removing the tray app's autostart: %w", err)
	}
	return nil
}
