//go:build darwin

package backup

import (
	"bytes"
	"context"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// acrocmdPaths: where the Acronis Cyber Protect agent for Mac is expected
// to keep its command-line tool (by analogy with its Windows and Linux
// layouts; "binary" overrides it).
var acrocmdPaths = []string{
	"/Library/Application Support/BackupClient/CommandLineTool/acrocmd",
	"/usr/local/bin/acrocmd",
}

// osTools are the other programs the check starts here.
var osTools = []string{tmutilPath}

const tmutilPath = "/usr/bin/tmutil"

// acronisService: the Mac agent's launchd job is not documented.
var acronisService serviceState

func osEnv() env {
	rs := portableReaders()
	rs[TimeMachine] = readTimeMachine(runTmutil)
	return env{now: time.Now, readers: rs, detect: detectMac}
}

// detectMac finds Time Machine and Acronis.
func detectMac(ctx context.Context) []ProductConfig {
	ps := detectTimeMachine(ctx)
	if firstExisting(acrocmdPaths) != "" {
		ps = append(ps, ProductConfig{Type: Acronis})
	}
	return ps
}

// runTmutil runs /usr/bin/tmutil and returns stdout and stderr together,
// because tmutil prints its refusals (Full Disk Access) on either.
func runTmutil(ctx context.Context, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	var out bytes.Buffer
	cmd, err := check.Command(ctx, tmutilPath, args...)
	if err != nil {
		return "", err
	}
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	return out.String(), err
}

// detectTimeMachine reports Time Machine when a destination is configured,
// or when tmutil refuses for lack of Full Disk Access (so that this is
// reported instead of silently skipping the Mac's backup).
func detectTimeMachine(ctx context.Context) []ProductConfig {
	out, _ := runTmutil(ctx, "destinationinfo")
	dests, err := parseDestinationInfo(out)
	if err != nil || len(dests) > 0 {
		return []ProductConfig{{Type: TimeMachine}}
	}
	return nil
}
