// Package program is the "program" check: it watches the installed-program
// list for a name pattern and fails when a matching program appears that
// should not be there (a second remote-access tool) or when none is left
// that should be (the antivirus was uninstalled). It reads the inventory's
// software part (inventory.Programs), the same reader the inventory uses,
// so the check and the device's inventory tab cannot disagree.
package program

import (
	"context"
	"encoding/json"
	"fmt"
	"path"
	"strings"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/checks/internal/msg"
	"github.com/wacht-rmm/wacht/internal/checkspec"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/inventory"
)

func init() {
	check.Register(checkspec.Program, func(raw json.RawMessage) (check.Check, error) {
		return newCheck(raw, inventory.Programs)
	})
}

// What expect may be.
const (
	expectAbsent  = "absent"
	expectPresent = "present"
)

// maxListed bounds the programs a message names; the rest are counted.
const maxListed = 10

// params are the check's JSON parameters (checkspec.Program).
type params struct {
	Name      string `json:"name"`
	Expect    string `json:"expect"`
	Publisher string `json:"publisher"`
}

type programCheck struct {
	p    params
	read func(context.Context) ([]core.Program, error)
}

// newCheck needs parameters: without a name there is nothing to watch.
func newCheck(raw json.RawMessage, read func(context.Context) ([]core.Program, error)) (*programCheck, error) {
	var p params
	if err := checkspec.Program.Decode(raw, &p); err != nil {
		return nil, err
	}
	return &programCheck{p: p, read: read}, nil
}

func (c *programCheck) Run(ctx context.Context, r check.Reporter) error {
	progs, err := c.read(ctx)
	res, err := evaluate(c.p, progs, err)
	if err != nil {
		return err
	}
	r.Report(res)
	return nil
}

// evaluate is the verdict on the programs read and the reader's error. A
// matching program found is a verdict even when the list is incomplete
// (it is there); finding none in an incomplete or empty list is not, and
// is an error with the reason — never OK, never "absent" by default.
func evaluate(p params, progs []core.Program, readErr error) (check.Result, error) {
	matched := matching(p, progs)
	if len(matched) == 0 {
		if readErr != nil {
			return check.Result{}, msg.Wrap("reading the installed programs", "Lesen der installierten Programme", readErr)
		}
		if len(progs) == 0 {
			return check.Result{}, &msg.OSError{Text: core.Text{
				EN: "reading the installed programs: the system lists none at all, so an absent program cannot be told from an unread list",
				DE: "Lesen der installierten Programme: das System führt überhaupt keine, ein fehlendes Programm ist also nicht von einer ungelesenen Liste zu unterscheiden",
			}}
		}
	}
	pat := quote(p.Name, p.Publisher)
	res := check.Result{Value: check.Float(float64(len(matched)))}
	if len(matched) == 0 {
		nEN, nDE := msg.Num(float64(len(progs)), 0)
		res.Message = core.Text{
			EN: fmt.Sprintf("No installed program matches %s (%s programs checked)", pat.EN, nEN),
			DE: fmt.Sprintf("Kein installiertes Programm passt zu %s (%s Programme geprüft)", pat.DE, nDE),
		}
		res.Status = core.StatusOK
		if p.Expect == expectPresent {
			res.Status = core.StatusFailure
		}
		return res, nil
	}
	names := listed(matched)
	res.Message = core.Text{
		EN: fmt.Sprintf("Installed, matching %s: %s", pat.EN, names.EN),
		DE: fmt.Sprintf("Installiert, passend zu %s: %s", pat.DE, names.DE),
	}
	if readErr != nil {
		why := check.ErrorText(readErr)
		res.Message.EN += "; the program list is incomplete: " + why.EN
		res.Message.DE += "; die Programmliste ist unvollständig: " + why.DE
	}
	res.Status = core.StatusOK
	if p.Expect == expectAbsent {
		res.Status = core.StatusFailure
	}
	return res, nil
}

// matching returns the programs whose name (and publisher, if given)
// match the patterns, ignoring case. A program that names no publisher
// does not match a publisher pattern, not even "*": the pattern asks who
// made it, and that is unknown.
func matching(p params, progs []core.Program) []core.Program {
	var out []core.Program
	for _, prog := range progs {
		if glob(p.Name, prog.Name) && (p.Publisher == "" || prog.Publisher != "" && glob(p.Publisher, prog.Publisher)) {
			out = append(out, prog)
		}
	}
	return out
}

// glob matches s against pattern (path.Match syntax: * and ?) ignoring
// case. A "/" is an ordinary character of a program name ("Git/GitHub
// tools"), but path.Match's * stops at it, so both sides swap it for a
// noncharacter first.
func glob(pattern, s string) bool {
	slash := strings.NewReplacer("/", "\uFFFF")
	ok, _ := path.Match(slash.Replace(strings.ToLower(pattern)), slash.Replace(strings.ToLower(s)))
	return ok
}

// quote words the patterns for a message.
func quote(name, publisher string) core.Text {
	if publisher == "" {
		return core.Text{EN: fmt.Sprintf("“%s”", name), DE: fmt.Sprintf("„%s“", name)}
	}
	return core.Text{
		EN: fmt.Sprintf("“%s” by “%s”", name, publisher),
		DE: fmt.Sprintf("„%s“ von „%s“", name, publisher),
	}
}

// listed names the programs with their versions, each once, at most
// maxListed of them.
func listed(progs []core.Program) core.Text {
	var out []string
	seen := map[string]bool{}
	for _, p := range progs {
		s := strings.TrimSpace(p.Name + " " + p.Version)
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	list := strings.Join(out[:min(len(out), maxListed)], ", ")
	if n := len(out) - maxListed; n > 0 {
		return core.Text{EN: fmt.Sprintf("%s and %d more", list, n), DE: fmt.Sprintf("%s und %d weitere", list, n)}
	}
	return core.Text{EN: list, DE: list}
}
