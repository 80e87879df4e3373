package agent

import (
	"cmp"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/patch"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

// CheckStatesFile keeps the latest result of each check and key and
// whether the server has it, so that the tray shows the same state after
// a restart, before every check ran again.
const CheckStatesFile = "checkstates.json"

// Overall status bounds.
const (
	// staleAfter: a result the server has not acknowledged for this long
	// makes the overall state unknown (IT may not know it).
	staleAfter = 10 * time.Minute
	// maxProblemNames bounds Status.ProblemNames.
	maxProblemNames = 10
	// backupDaily prefixes the backup check's daily verdicts
	// (internal/checks/backup.DailyPrefix); their value is no age.
	backupDaily = "daily:"
)

// checkState is the latest result of one check and key.
type checkState struct {
	Check   string      `json:"check"`
	Key     string      `json:"key,omitempty"`
	ID      string      `json:"id"` // the result's ID
	Status  core.Status `json:"status"`
	Message string      `json:"message,omitempty"` // English: Component carries one text
	Value   *float64    `json:"value,omitempty"`
	Unit    string      `json:"unit,omitempty"`
	At      time.Time   `json:"at"`
	// Sent: the server acknowledged this result. Informed: the server has
	// a result of this key with this status (this one or an earlier one).
	Sent     bool `json:"sent,omitempty"`
	Informed bool `json:"informed,omitempty"`
}

// checkStates tracks the latest results for the tray's status.
type checkStates struct {
	path string
	log  *slog.Logger
	mu   sync.Mutex
	m    map[string]*checkState // by check + "\x00" + key
}

func newCheckStates(path string, log *slog.Logger) *checkStates {
	return &checkStates{path: path, log: log, m: loadRecords[checkState](path, log, "the check states", "the tray shows them after the next runs")}
}

func checkStatesPath(dir string) string { return filepath.Join(dir, CheckStatesFile) }

func stateKey(check, key string) string { return check + "\x00" + key }

// record keeps rs as the latest results of their checks. rs holds whole
// runs: a key a check reported before and not now is gone (a removed
// disk), and with it its state.
func (c *checkStates) record(rs []core.Result) {
	if len(rs) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	ran := map[string]bool{}
	now := map[string]bool{}
	for _, r := range rs {
		ran[r.Check], now[stateKey(r.Check, r.Key)] = true, true
	}
	for k, s := range c.m {
		if ran[s.Check] && !now[k] {
			delete(c.m, k)
		}
	}
	for _, r := range rs {
		k := stateKey(r.Check, r.Key)
		prev := c.m[k]
		c.m[k] = &checkState{Check: r.Check, Key: r.Key, ID: r.ID, Status: r.Status, Message: r.Message.EN,
			Value: r.Value, Unit: r.Unit, At: r.At,
			Informed: prev != nil && prev.Informed && prev.Status == r.Status}
	}
	saveRecords(c.path, c.m, c.log, "the check states")
}

// forget drops the states of checks no longer planned (the patch
// verification stays: patch management has its own policy).
func (c *checkStates) forget(plan []planned) {
	keep := map[string]bool{core.PatchCheckName: true}
	for _, p := range plan {
		keep[p.Name] = true
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	n := len(c.m)
	maps.DeleteFunc(c.m, func(_ string, s *checkState) bool { return !keep[s.Check] })
	if len(c.m) != n {
		saveRecords(c.path, c.m, c.log, "the check states")
	}
}

// acked marks the results with these IDs as delivered.
func (c *checkStates) acked(ids []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	changed := false
	for _, s := range c.m {
		if !s.Sent && slices.Contains(ids, s.ID) {
			s.Sent, s.Informed, changed = true, true, true
		}
	}
	if changed {
		saveRecords(c.path, c.m, c.log, "the check states")
	}
}

// snapshot returns copies of the states of the checks named by keep.
func (c *checkStates) snapshot(keep func(check string) bool) []checkState {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []checkState
	for _, s := range c.m {
		if keep(s.Check) {
			out = append(out, *s)
		}
	}
	slices.SortFunc(out, func(a, b checkState) int {
		return cmp.Or(strings.Compare(a.Check, b.Check), strings.Compare(a.Key, b.Key))
	})
	return out
}

// trayStatus is OpStatus: the check states of the running plan (and the
// patch verification while patch management is on), the session, the
// branding and a restart to ask about.
func (a *Agent) trayStatus() trayipc.Status {
	now := a.now()
	types := map[string]string{} // check name → type
	for _, p := range a.plan.get() {
		types[p.Name] = p.Type
	}
	pol := a.plan.patchPolicy()
	if pol != nil && pol.Enabled {
		types[core.PatchCheckName] = core.PatchCheckName
	}
	states := a.checkStates.snapshot(func(check string) bool { _, ok := types[check]; return ok })
	host, _ := os.Hostname()
	st := a.state.get()
	s := trayipc.Status{Version: trayipc.Version, AgentVersion: Version, Hostname: host, Connected: st.Connected,
		Branding: trayBranding(a.plan.trayBranding())}
	if t := a.lastContact.Load(); t != 0 {
		s.LastContact = time.Unix(0, t).UTC()
	}
	s.Overall, s.Problems, s.Warnings, s.ProblemNames = overall(states, now)
	s.Antivirus = component(states, types, checkspec.Antivirus.Name)
	s.Backup = component(states, types, checkspec.Backup.Name)
	if pol != nil && pol.Enabled {
		s.Reboot = rebootPrompt(a.patch.state(), patch.Defaults(pol.PatchPolicy))
	}
	return s
}

// overall sums states up: failing checks and checks that could not look
// (error) are problems, counted once per check, so the tray never says
// "everything is fine" about a check that did not look; checks in warning
// are warnings. It is unknown without any state, when a result waited too
// long for the server, or when a problem has not reached the server yet
// (IT does not know it).
func overall(states []checkState, now time.Time) (word string, problems, warnings int, names []string) {
	worst := map[string]core.Status{}
	var order []string
	unknown := len(states) == 0
	for _, s := range states {
		if !s.Sent && now.Sub(s.At) > staleAfter {
			unknown = true
		}
		if problem(s.Status) && !s.Informed {
			unknown = true
		}
		w, seen := worst[s.Check]
		if !seen {
			order = append(order, s.Check)
		}
		if !seen || s.Status.Severity() > w.Severity() {
			worst[s.Check] = s.Status
		}
	}
	for _, c := range order {
		switch w := worst[c]; {
		case problem(w):
			problems++
			if len(names) < maxProblemNames {
				names = append(names, c)
			}
		case w == core.StatusWarning:
			warnings++
		}
	}
	switch {
	case unknown:
		word = trayipc.OverallUnknown
	case problems > 0:
		word = trayipc.OverallProblems
	default:
		word = trayipc.OverallOK
	}
	return word, problems, warnings, names
}

// problem reports whether a check in state s needs IT: it fails, or it
// could not look.
func problem(s core.Status) bool { return s == core.StatusFailure || s == core.StatusError }

// component is the protection state of the checks of type typ: their
// worst state with its message and time; for a backup, the time of the
// oldest last success its results report (value = age in hours). Nil when
// no check of that type is planned or none reported yet.
func component(states []checkState, types map[string]string, typ string) *trayipc.Component {
	var c *trayipc.Component
	var worst core.Status
	var success time.Time
	for _, s := range states {
		if types[s.Check] != typ {
			continue
		}
		if c == nil || s.Status.Severity() > worst.Severity() {
			worst = s.Status
			c = &trayipc.Component{State: s.Status.String(), Message: s.Message, At: s.At}
		}
		if typ == checkspec.Backup.Name && s.Value != nil && s.Unit == "h" && !strings.HasPrefix(s.Key, backupDaily) {
			at := s.At.Add(-time.Duration(*s.Value * float64(time.Hour)))
			if success.IsZero() || at.Before(success) {
				success = at
			}
		}
	}
	if c != nil && !success.IsZero() {
		c.At = success.Truncate(time.Second)
	}
	return c
}

// trayBranding is what the tray shows of t; nil shows Wacht's defaults.
func trayBranding(t *protocol.Tray) trayipc.Branding {
	if t == nil {
		return trayipc.Branding{Show: true, ProductName: core.DefaultProductName}
	}
	return trayipc.Branding{Show: t.Show, ProductName: cmp.Or(t.ProductName, core.DefaultProductName), Phone: t.Phone,
		Email: t.Email, URL: t.URL, Hours: t.Hours, RemoteSupport: t.RemoteSupport, IconSHA256: t.IconSHA256}
}
