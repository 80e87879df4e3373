package antivirus

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/shirou/gopsutil/v4/process"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
)

// toolTimeout bounds one call of a product's command-line tool.
const toolTimeout = 30 * time.Second

// processNames lists the names of running processes.
func processNames(ctx context.Context) ([]string, error) {
	ps, err := process.ProcessesWithContext(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing processes: %w", err)
	}
	names := make([]string, 0, len(ps))
	for _, p := range ps {
		if n, err := p.NameWithContext(ctx); err == nil {
			names = append(names, n)
		}
	}
	return names, nil
}

// clamAV reads ClamAV's state when its databases or daemon are there;
// found is false when ClamAV is not installed.
func clamAV(ctx context.Context, dir string, procs func(context.Context) ([]string, error)) (p product, found bool, err error) {
	dirs := clamDatabaseDirs
	if dir != "" {
		if err := check.Readable(dir); err != nil {
			return product{}, false, err
		}
		dirs = []string{dir}
	}
	names, err := procs(ctx)
	if err != nil {
		return product{}, false, err
	}
	for _, d := range dirs {
		dbs, err := readClamDBs(d)
		if err != nil {
			return product{}, false, fmt.Errorf("ClamAV: %w", err)
		}
		if len(dbs) > 0 {
			return fromClamAV(dbs, names), true, nil
		}
	}
	if processRunning(names, "clamd") {
		// A daemon without readable databases: report it, its age unknown.
		p := fromClamAV(nil, names)
		p.Warnings = append(p.Warnings, "signature age unknown")
		return p, true, nil
	}
	return product{}, false, nil
}

// mdatpHealth runs `mdatp health` when Defender for Endpoint is installed
// at one of the given paths; found is false otherwise.
func mdatpHealth(ctx context.Context, paths []string, now time.Time) (p product, found bool, err error) {
	for _, bin := range paths {
		if _, err := os.Stat(bin); err != nil {
			continue
		}
		ctx, cancel := context.WithTimeout(ctx, toolTimeout)
		defer cancel()
		var out, stderr bytes.Buffer
		cmd, err := check.Command(ctx, bin, "health")
		if err != nil {
			return product{}, true, err
		}
		cmd.Stdout, cmd.Stderr = &out, &stderr
		if err := cmd.Run(); err != nil {
			return product{}, true, msg.Program(filepath.Base(bin)+" health", err, string(bytes.TrimSpace(stderr.Bytes())))
		}
		p, err := parseMdatpHealth(out.String(), now)
		return p, true, err
	}
	return product{}, false, nil
}
