package server

import (
	"context"
	"fmt"
	"io"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/wacht-rmm/wacht/internal/actionkey"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// ActionKeyRotation is what RotateActionKey did.
type ActionKeyRotation struct {
	OldFingerprint, NewFingerprint string
	GraceUntil                     time.Time
}

// RotateActionKey replaces the action key in dataDir with a new one and
// keeps the old one until now+grace (actionkey.Rotate), audited as the CLI.
// Running servers pick the new key up at their next reload
// (gateway.DefaultActionKeyReload) and announce it to their agents.
func RotateActionKey(ctx context.Context, st core.Store, dataDir string, grace time.Duration, now time.Time) (ActionKeyRotation, error) {
	old, next, until, err := actionkey.Rotate(filepath.Join(dataDir, actionkey.File), grace, now)
	if err != nil {
		return ActionKeyRotation{}, err
	}
	r := ActionKeyRotation{OldFingerprint: actionkey.Fingerprint(old), NewFingerprint: actionkey.Fingerprint(next), GraceUntil: until}
	if err := cliService(st, now).RecordActionKeyRotation(ctx, service.CLI, r.OldFingerprint, r.NewFingerprint, until); err != nil {
		return r, fmt.Errorf("the action key was rotated, but: %w", err)
	}
	return r, nil
}

// ActionKeyStatus writes the action keys in dataDir (the current one and
// those a rotation retired, with the end of their grace period) and the
// active devices whose agents have not confirmed the current key yet.
func ActionKeyStatus(ctx context.Context, st core.Store, dataDir string, w io.Writer, now time.Time) error {
	cur, retired, err := actionkey.ReadKeys(filepath.Join(dataDir, actionkey.File))
	if err != nil {
		return err
	}
	fp := actionkey.Fingerprint(cur)
	ds, err := cliService(st, now).DevicesNotOnActionKey(ctx, service.CLI, fp)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KEY\tFINGERPRINT\tVALID UNTIL")
	fmt.Fprintf(tw, "current\t%.16s\t-\n", fp)
	for i := len(retired) - 1; i >= 0; i-- {
		state := "retired"
		if !now.Before(retired[i].Until) {
			state = "retired, grace ended"
		}
		fmt.Fprintf(tw, "%s\t%.16s\t%s\n", state, actionkey.Fingerprint(retired[i].Key), retired[i].Until.UTC().Format(time.RFC3339))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(ds) == 0 {
		fmt.Fprintln(w, "\nEvery active device has confirmed the current key.")
		return nil
	}
	fmt.Fprintf(w, "\n%d active device(s) have not confirmed the current key:\n", len(ds))
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCLIENT\tSITE\tHOSTNAME\tTRUSTS KEY\tLAST SEEN")
	for _, d := range ds {
		key := fmt.Sprintf("%.16s", d.Fingerprint)
		switch {
		case d.Fingerprint == "":
			key = "(not reported)"
		case !isRetired(retired, d.Fingerprint, now):
			key += " (unknown or grace ended: re-enroll)"
		}
		seen := "never"
		if !d.LastSeen.IsZero() {
			seen = d.LastSeen.Local().Format("2006-01-02 15:04")
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\n", d.ID, d.ClientName, d.SiteName, d.Hostname, key, seen)
	}
	return tw.Flush()
}

// isRetired tells whether fp is a retired key still in its grace period,
// so that its agents get the current key announced when they connect.
func isRetired(retired []actionkey.Trusted, fp string, now time.Time) bool {
	for _, r := range retired {
		if actionkey.Fingerprint(r.Key) == fp && now.Before(r.Until) {
			return true
		}
	}
	return false
}
