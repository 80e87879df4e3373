package tray

import (
	"os"
	"os/exec"
	"runtime"
)

// OpenURL opens u in the user's browser (or mail program for mailto:):
// $BROWSER if set, else the desktop's opener. The URL is one argument of
// an argument array, never part of a shell line.
func OpenURL(u string) error {
	name, args := openCommand(runtime.GOOS, os.Getenv("BROWSER"), u)
	cmd := exec.Command(name, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() // reap it; the opener's exit status says nothing useful
	return nil
}

func openCommand(goos, browser, u string) (string, []string) {
	switch {
	case browser != "":
		return browser, []string{u}
	case goos == "windows":
		return "rundll32", []string{"url.dll,FileProtocolHandler", u}
	case goos == "darwin":
		return "/usr/bin/open", []string{u}
	}
	return "xdg-open", []string{u}
}
