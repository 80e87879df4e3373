package backup

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/check"
)

// cmdTimeout bounds one restic or borg call; listing a remote repository
// over a slow link can take a while.
const cmdTimeout = 45 * time.Second

// toolPaths are where packages install restic and borg (Linux
// distributions, Homebrew, snap, Chocolatey): the programs the agent's
// allowlist has built in. Others need "allow" in agent.json.
var toolPaths = []string{
	"/usr/bin/restic", "/usr/local/bin/restic", "/opt/homebrew/bin/restic", "/snap/bin/restic", `C:\ProgramData\chocolatey\bin\restic.exe`,
	"/usr/bin/borg", "/usr/local/bin/borg", "/opt/homebrew/bin/borg",
}

// runTool starts a program the local allowlist allows with an argument
// array and extra environment and returns its stdout, or an error carrying
// its last stderr line.
func runTool(ctx context.Context, bin string, args, env []string) ([]byte, error) {
	ctx, cancel := context.WithTimeout(ctx, cmdTimeout)
	defer cancel()
	cmd, err := check.Command(ctx, bin, args...)
	if err != nil {
		return nil, err
	}
	cmd.Env = append(os.Environ(), env...)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%s timed out: %w", filepath.Base(bin), ctx.Err())
		}
		return nil, fmt.Errorf("%s %s: %w: %s", filepath.Base(bin), args[0], err, lastLine(stderr.String()))
	}
	return out.Bytes(), nil
}

// lastLine returns the most telling line of a tool's stderr: a known
// problem if one is there, else the last non-empty line.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	for _, l := range lines {
		low := strings.ToLower(l)
		if strings.Contains(low, "wrong password") || strings.Contains(low, "passphrase") && strings.Contains(low, "incorrect") ||
			strings.Contains(low, "does not exist") || strings.Contains(low, "unable to open") {
			return strings.TrimSpace(l)
		}
	}
	return strings.TrimSpace(lines[len(lines)-1])
}

// resticSnapshot is one entry of `restic snapshots --json`.
type resticSnapshot struct {
	Time     time.Time `json:"time"`
	ID       string    `json:"short_id"`
	Hostname string    `json:"hostname"`
	Paths    []string  `json:"paths"`
	Tags     []string  `json:"tags"`
}

// parseResticSnapshots turns `restic snapshots --json` into jobs. restic
// writes a snapshot only for a completed backup, so every snapshot is a
// success; failed runs leave no trace in the repository.
func parseResticSnapshots(b []byte) ([]job, error) {
	var snaps []resticSnapshot
	if err := json.Unmarshal(b, &snaps); err != nil {
		return nil, fmt.Errorf("parsing restic snapshots: %w", err)
	}
	jobs := make([]job, 0, len(snaps))
	for _, s := range snaps {
		jobs = append(jobs, job{Name: "snapshot " + s.ID, Time: s.Time, Outcome: success})
	}
	return jobs, nil
}

func readRestic(ctx context.Context, p ProductConfig, _ time.Time) ([]job, error) {
	bin := p.Binary
	if bin == "" {
		bin = "restic"
	}
	env := []string{"RESTIC_REPOSITORY=" + p.Repository}
	switch {
	case p.PasswordFile != "":
		if err := check.Readable(p.PasswordFile); err != nil {
			return nil, err
		}
		env = append(env, "RESTIC_PASSWORD_FILE="+p.PasswordFile)
	case p.PasswordEnv != "":
		v, ok := os.LookupEnv(p.PasswordEnv)
		if !ok {
			return nil, fmt.Errorf("environment variable %s (password_env) is not set", p.PasswordEnv)
		}
		env = append(env, "RESTIC_PASSWORD="+v)
	}
	// --no-lock: listing must not wait for (or block) a running backup.
	out, err := runTool(ctx, bin, []string{"snapshots", "--json", "--no-lock"}, env)
	if err != nil {
		return nil, err
	}
	return parseResticSnapshots(out)
}

// borgList is `borg list --json`.
type borgList struct {
	Archives []struct {
		Name  string `json:"name"`
		Start string `json:"start"`
		Time  string `json:"time"`
	} `json:"archives"`
}

// checkpointRE matches the archives borg leaves behind when a backup was
// interrupted ("name.checkpoint", "name.checkpoint.2").
var checkpointRE = regexp.MustCompile(`\.checkpoint(\.\d+)?$`)

// parseBorgList turns `borg list --json` into jobs. Borg writes times in
// the repository host's local time without a zone; loc is that zone.
// Checkpoint archives are interrupted runs and count as failures.
func parseBorgList(b []byte, loc *time.Location) ([]job, error) {
	var l borgList
	if err := json.Unmarshal(b, &l); err != nil {
		return nil, fmt.Errorf("parsing borg list: %w", err)
	}
	jobs := make([]job, 0, len(l.Archives))
	for _, a := range l.Archives {
		ts := a.Start
		if ts == "" {
			ts = a.Time
		}
		t, err := time.ParseInLocation("2006-01-02T15:04:05.999999", ts, loc)
		if err != nil {
			return nil, fmt.Errorf("parsing time of borg archive %s: %w", a.Name, err)
		}
		j := job{Name: a.Name, Time: t, Outcome: success}
		if checkpointRE.MatchString(a.Name) {
			j.Outcome = failed
			j.Reason = "interrupted (checkpoint archive)"
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}

func readBorg(ctx context.Context, p ProductConfig, _ time.Time) ([]job, error) {
	bin := p.Binary
	if bin == "" {
		bin = "borg"
	}
	env := []string{
		"BORG_REPO=" + p.Repository,
		// Never wait for an answer on a terminal the agent does not have.
		"BORG_UNKNOWN_UNENCRYPTED_REPO_ACCESS_IS_OK=no",
		"BORG_RELOCATED_REPO_ACCESS_IS_OK=no",
	}
	if p.PasswordFile != "" {
		if err := check.Readable(p.PasswordFile); err != nil {
			return nil, err
		}
		pw, err := os.ReadFile(p.PasswordFile)
		if err != nil {
			return nil, fmt.Errorf("reading borg passphrase file: %w", err)
		}
		env = append(env, "BORG_PASSPHRASE="+strings.TrimRight(string(pw), "\r\n"))
	}
	// --bypass-lock: listing must not wait for a running backup's lock.
	out, err := runTool(ctx, bin, []string{"list", "--json", "--bypass-lock"}, env)
	if err != nil {
		return nil, err
	}
	return parseBorgList(out, time.Local)
}

// readGeneric treats the newest file under a path as the last successful
// backup; a missing path is an error, an empty folder has no success.
func readGeneric(ctx context.Context, p ProductConfig, _ time.Time) ([]job, error) {
	if err := check.Readable(p.Path); err != nil {
		return nil, err
	}
	newest, name, err := newestFile(ctx, p.Path)
	if err != nil {
		return nil, err
	}
	if newest.IsZero() {
		return nil, nil
	}
	return []job{{Name: name, Time: newest, Outcome: success}}, nil
}

// maxWalk bounds how many entries newestFile looks at, so a huge backup
// target cannot make the check run for minutes.
const maxWalk = 200000

// newestFile returns the modification time and relative path of the newest
// regular file at or under root.
func newestFile(ctx context.Context, root string) (time.Time, string, error) {
	fi, err := os.Stat(root)
	if err != nil {
		return time.Time{}, "", fmt.Errorf("reading backup path: %w", err)
	}
	if !fi.IsDir() {
		return fi.ModTime(), filepath.Base(root), nil
	}
	var newest time.Time
	var name string
	n := 0
	errStop := errors.New("stop")
	err = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return nil // unreadable subfolders do not hide the rest
		}
		n++
		if n > maxWalk || ctx.Err() != nil {
			return errStop
		}
		if !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if info.ModTime().After(newest) {
			newest = info.ModTime()
			name, _ = filepath.Rel(root, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, errStop) {
		return time.Time{}, "", fmt.Errorf("walking backup path: %w", err)
	}
	if ctx.Err() != nil {
		return time.Time{}, "", ctx.Err()
	}
	return newest, name, nil
}

// portableReaders are the products every OS can read when the tool is
// installed.
func portableReaders() map[string]reader {
	return map[string]reader{Restic: readRestic, Borg: readBorg, Generic: readGeneric, Acronis: readAcronis(acrocmdPaths, acronisService)}
}
