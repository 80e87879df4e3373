//go:build windows

package backup

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/windows"
	"golang.org/x/sys/windows/svc"
	"golang.org/x/sys/windows/svc/mgr"

	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/platform/wevtapi"
)

func osEnv() env {
	rs := portableReaders()
	rs[WindowsBackup] = readEvents(wevtSource{}, wsbJob, wsbQuery)
	rs[Veeam] = readEvents(wevtSource{}, veeamJob, veeamQueries...)
	return env{now: time.Now, readers: rs, detect: detectWindows}
}

// acrocmdPaths: Acronis Backup 11.5/12.5 install under Acronis, the
// Cyber Protect (cloud) agent under BackupClient.
var acrocmdPaths = []string{
	filepath.Join(os.Getenv("ProgramFiles"), "Acronis", "CommandLineTool", "acrocmd.exe"),
	filepath.Join(os.Getenv("ProgramFiles"), "BackupClient", "CommandLineTool", "acrocmd.exe"),
}

// osTools: the check starts no other program here.
var osTools []string

// acronisService reads the state of the Acronis Managed Machine Service.
func acronisService(context.Context) (string, error) {
	m, err := mgr.Connect()
	if err != nil {
		return "", msg.Call("OpenSCManager", err)
	}
	defer m.Disconnect()
	s, err := m.OpenService("MMS")
	if errors.Is(err, windows.ERROR_SERVICE_DOES_NOT_EXIST) {
		return "not installed", nil
	}
	if err != nil {
		return "", msg.Call("OpenService MMS", err)
	}
	defer s.Close()
	st, err := s.Query()
	if err != nil {
		return "", msg.Call("QueryServiceStatusEx MMS", err)
	}
	switch st.State {
	case svc.Running:
		return "running", nil
	case svc.Stopped:
		return "stopped", nil
	case svc.StartPending:
		return "starting", nil
	case svc.Paused:
		return "paused", nil
	}
	return "stopping", nil
}

type wevtSource struct{}

func (wevtSource) Read(ctx context.Context, channel, xpath string, max int) ([]string, error) {
	evs, _, err := wevtapi.Read(ctx, channel, xpath, max)
	if errors.Is(err, wevtapi.ErrChannelNotFound) {
		return nil, fmt.Errorf("%w: %w", errChannelNotFound, err)
	}
	return evs, err
}

// detectWindows finds products by their installed files, which is cheap
// and needs no event log access.
func detectWindows(context.Context) []ProductConfig {
	pf := os.Getenv("ProgramFiles")
	sys := filepath.Join(os.Getenv("SystemRoot"), "System32")
	exists := func(p string) bool { _, err := os.Stat(p); return err == nil }
	var ps []ProductConfig
	// wbadmin.msc comes with the Windows Server Backup feature only.
	if exists(filepath.Join(sys, "wbadmin.msc")) {
		ps = append(ps, ProductConfig{Type: WindowsBackup})
	}
	if exists(filepath.Join(pf, "Veeam", "Backup and Replication")) || exists(filepath.Join(pf, "Veeam", "Endpoint Backup")) {
		ps = append(ps, ProductConfig{Type: Veeam})
	}
	if firstExisting(acrocmdPaths) != "" {
		ps = append(ps, ProductConfig{Type: Acronis})
	}
	return ps
}
