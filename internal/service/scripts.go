package service

import (
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/authz"
	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
	"github.com/wacht-rmm/wacht/internal/protocol"
)

// The script library (issue 16). Every user may read it; changing it
// needs the Remote permission, because a script is code that technicians
// then run as SYSTEM or root (or as the logged-on user) on customers'
// machines: who may write it is
// who may run code remotely (and the administrators' 2FA rule for remote
// actions applies). Every edit stores a new version; built-in scripts are
// read-only.

// ErrBuiltinScript refuses changes to a built-in script.
var ErrBuiltinScript = fmt.Errorf("built-in scripts are read-only; copy one into a script of your own to change it: %w", core.ErrForbidden)

// Script limits.
const (
	MaxScriptName = 100
	// MaxScriptBody keeps a script, escaped as JSON, within the API's
	// request limit (server.MaxBodyBytes).
	MaxScriptBody         = 512 << 10
	DefaultScriptTimeout  = 300 // seconds
	MaxScriptTimeout      = 86400
	maxScriptChoices      = 50
	maxScriptDescription  = 4000
	scriptBodyDigestChars = 16
)

// ScriptOSes are the operating systems a script may name.
var ScriptOSes = []string{"linux", "windows", "darwin"}

// ScriptInput is what creating or editing a script takes.
type ScriptInput struct {
	Name           string             `json:"name"`
	Description    core.Text          `json:"description"`
	Language       string             `json:"language"`
	Body           string             `json:"body"`
	Params         []core.ScriptParam `json:"params"`
	TimeoutSeconds int                `json:"timeout_seconds"`
	RunAs          string             `json:"run_as"`
	OS             []string           `json:"os"`
	Signature      string             `json:"signature"`
}

// ScriptView is a script with the list of its versions.
type ScriptView struct {
	core.Script
	Versions []core.ScriptVersion `json:"versions"`
}

// builtinSeeded remembers per store that the built-in scripts are in it.
var builtinSeeded sync.Map // core.Store → *sync.Once-like state

type seedState struct {
	mu   sync.Mutex
	done bool
}

// seedScripts stores the built-in scripts once per process and store.
func (s *Service) seedScripts(ctx context.Context) error {
	v, _ := builtinSeeded.LoadOrStore(s.store, &seedState{})
	st := v.(*seedState)
	st.mu.Lock()
	defer st.mu.Unlock()
	if st.done {
		return nil
	}
	for _, b := range BuiltinScripts() {
		if err := s.store.EnsureBuiltinScript(ctx, &b); err != nil {
			return fmt.Errorf("seeding built-in script %s: %w", b.Builtin, err)
		}
	}
	st.done = true
	return nil
}

// ListScripts returns the library, built-in scripts first.
func (s *Service) ListScripts(ctx context.Context, u core.User) ([]core.Script, error) {
	if err := need(u, authz.Read); err != nil {
		return nil, err
	}
	if err := s.seedScripts(ctx); err != nil {
		return nil, err
	}
	list, err := s.store.ListScripts(ctx)
	if err != nil {
		return nil, fmt.Errorf("listing scripts: %w", err)
	}
	return list, nil
}

// GetScript returns a script's current version, or version if > 0, with
// the list of its versions.
func (s *Service) GetScript(ctx context.Context, u core.User, id int64, version int) (ScriptView, error) {
	if err := need(u, authz.Read); err != nil {
		return ScriptView{}, err
	}
	if err := s.seedScripts(ctx); err != nil {
		return ScriptView{}, err
	}
	sc, err := s.store.GetScript(ctx, id)
	if err != nil {
		return ScriptView{}, fmt.Errorf("getting script %d: %w", id, err)
	}
	if version > 0 && version != sc.Version {
		if sc, err = s.store.GetScriptVersion(ctx, id, version); err != nil {
			return ScriptView{}, fmt.Errorf("getting version %d of script %d: %w", version, id, err)
		}
	}
	vs, err := s.store.ListScriptVersions(ctx, id)
	if err != nil {
		return ScriptView{}, fmt.Errorf("listing versions of script %d: %w", id, err)
	}
	return ScriptView{Script: sc, Versions: vs}, nil
}

// scriptAuthor checks that u may change the library.
func (s *Service) scriptAuthor(ctx context.Context, u core.User) error {
	if err := need(u, authz.Remote); err != nil {
		return err
	}
	rs, err := s.remoteSettings(ctx)
	if err != nil {
		return err
	}
	if rs.Require2FA && !u.HasSecondFactor() && u.ID != cliID {
		return ErrRemote2FA
	}
	return nil
}

// SaveScript creates (id 0) or edits a script; an edit stores a new
// version. The error is a *policy.ValidationError for invalid input.
func (s *Service) SaveScript(ctx context.Context, u core.User, id int64, in ScriptInput) (ScriptView, error) {
	if err := s.scriptAuthor(ctx, u); err != nil {
		return ScriptView{}, err
	}
	if err := s.seedScripts(ctx); err != nil {
		return ScriptView{}, err
	}
	sc, err := normalizeScript(in)
	if err != nil {
		return ScriptView{}, err
	}
	sc.ID, sc.UpdatedBy = id, Actor(u)
	action := "script.create"
	if id == 0 {
		err = s.store.CreateScript(ctx, &sc)
	} else {
		old, gerr := s.store.GetScript(ctx, id)
		if gerr != nil {
			return ScriptView{}, fmt.Errorf("getting script %d: %w", id, gerr)
		}
		if old.Builtin != "" {
			return ScriptView{}, ErrBuiltinScript
		}
		action = "script.update"
		err = s.store.UpdateScript(ctx, &sc)
	}
	if errors.Is(err, core.ErrConflict) {
		return ScriptView{}, &policy.ValidationError{Fields: []policy.FieldError{fieldErr("name",
			"a script with this name exists", "ein Skript mit diesem Namen gibt es schon")}}
	}
	if err != nil {
		return ScriptView{}, fmt.Errorf("saving script: %w", err)
	}
	if err := s.record(ctx, u, action, target("script", sc.ID), scriptDetail(sc), core.AuditOK); err != nil {
		return ScriptView{}, err
	}
	// Policies that run the current version send the new one.
	if users, err := s.scriptUsers(ctx, sc.ID); err != nil {
		return ScriptView{}, err
	} else if users != "" {
		s.pushPolicies()
	}
	return s.GetScript(ctx, u, sc.ID, 0)
}

// scriptDetail names a script version in the audit log: the body by its
// digest, which identifies it without filling the log, and the account
// it runs as when that is not SYSTEM or root.
func scriptDetail(sc core.Script) string {
	sum := sha256.Sum256([]byte(sc.Body))
	as := ""
	if sc.RunAs == core.RunAsUser {
		as = ", as the logged-on user"
	}
	return fmt.Sprintf("%q version %d (%s%s, sha256 %s)", sc.Name, sc.Version, sc.Language, as, hex.EncodeToString(sum[:])[:scriptBodyDigestChars])
}

// ScriptInUseError names the policies whose tasks or script checks run a
// script that was to be deleted. It wraps core.ErrConflict.
type ScriptInUseError struct{ Policies string }

func (e *ScriptInUseError) Error() string {
	return "policies " + e.Policies + " run this script; remove it from their tasks and checks first, or delete with force"
}

// Localized says it in English and German.
func (e *ScriptInUseError) Localized() core.Text {
	return core.Text{EN: e.Error(), DE: "die Richtlinien " + e.Policies +
		" führen dieses Skript aus; entfernen Sie es zuerst aus ihren Aufgaben und Prüfungen oder löschen Sie es erzwungen"}
}

func (e *ScriptInUseError) Unwrap() error { return core.ErrConflict }

// DeleteScript removes a script from the library; its versions stay for
// the runs that name them. A script that policies run is refused with a
// *ScriptInUseError unless force: then their tasks and script checks show
// as broken ("script deleted") and are no longer sent.
func (s *Service) DeleteScript(ctx context.Context, u core.User, id int64, force bool) error {
	if err := s.scriptAuthor(ctx, u); err != nil {
		return err
	}
	if err := s.seedScripts(ctx); err != nil {
		return err
	}
	sc, err := s.store.GetScript(ctx, id)
	if err != nil {
		return fmt.Errorf("getting script %d: %w", id, err)
	}
	if sc.Builtin != "" {
		return ErrBuiltinScript
	}
	users, err := s.scriptUsers(ctx, id)
	if err != nil {
		return err
	}
	if users != "" && !force {
		return &ScriptInUseError{Policies: users}
	}
	if err := s.store.DeleteScript(ctx, id); err != nil {
		return fmt.Errorf("deleting script %d: %w", id, err)
	}
	// Runs waiting for their device would run a script that is gone.
	n, err := s.store.CancelScriptRuns(ctx, id, s.now())
	if err != nil {
		return fmt.Errorf("cancelling the queued runs of script %d: %w", id, err)
	}
	detail := fmt.Sprintf("%s; %d queued runs cancelled", scriptDetail(sc), n)
	if users != "" {
		detail += "; forced, used by policies " + users
	}
	if err := s.record(ctx, u, "script.delete", target("script", id), detail, core.AuditOK); err != nil {
		return err
	}
	if users != "" {
		s.pushPolicies()
	}
	return nil
}

// normalizeScript validates a script's input and fills its defaults.
func normalizeScript(in ScriptInput) (core.Script, error) {
	var fs []policy.FieldError
	add := func(field, en, de string) { fs = append(fs, fieldErr(field, en, de)) }
	sc := core.Script{Name: strings.TrimSpace(in.Name), Description: in.Description, Language: in.Language, Body: in.Body,
		Params: in.Params, TimeoutSeconds: in.TimeoutSeconds, RunAs: in.RunAs, OS: in.OS, Signature: strings.TrimSpace(in.Signature)}
	if sc.Name == "" || utf8.RuneCountInString(sc.Name) > MaxScriptName {
		add("name", fmt.Sprintf("must have 1 to %d characters", MaxScriptName), fmt.Sprintf("muss 1 bis %d Zeichen haben", MaxScriptName))
	}
	if len(sc.Description.EN) > maxScriptDescription || len(sc.Description.DE) > maxScriptDescription {
		add("description", fmt.Sprintf("must have at most %d bytes", maxScriptDescription), fmt.Sprintf("darf höchstens %d Bytes haben", maxScriptDescription))
	}
	if !slices.Contains(protocol.Languages, sc.Language) {
		add("language", "must be one of "+strings.Join(protocol.Languages, ", "), "muss eines von "+strings.Join(protocol.Languages, ", ")+" sein")
	}
	if strings.TrimSpace(sc.Body) == "" || len(sc.Body) > MaxScriptBody || !utf8.ValidString(sc.Body) || strings.ContainsRune(sc.Body, 0) {
		add("body", fmt.Sprintf("must be UTF-8 text of 1 to %d bytes", MaxScriptBody), fmt.Sprintf("muss UTF-8-Text mit 1 bis %d Bytes sein", MaxScriptBody))
	}
	switch {
	case sc.TimeoutSeconds == 0:
		sc.TimeoutSeconds = DefaultScriptTimeout
	case sc.TimeoutSeconds < 1 || sc.TimeoutSeconds > MaxScriptTimeout:
		add("timeout_seconds", fmt.Sprintf("must be 1 to %d seconds", MaxScriptTimeout), fmt.Sprintf("muss 1 bis %d Sekunden sein", MaxScriptTimeout))
	}
	switch sc.RunAs {
	case "":
		sc.RunAs = core.RunAsSystem
	case core.RunAsSystem, core.RunAsUser:
	default:
		add("run_as", "must be system (SYSTEM or root) or user (the logged-on user)", "muss system (SYSTEM bzw. root) oder user (der angemeldete Benutzer) sein")
	}
	windowsOnly := sc.Language == protocol.LangCmd || sc.Language == protocol.LangPowerShell
	if len(sc.OS) == 0 && windowsOnly {
		sc.OS = []string{"windows"}
	}
	sc.OS = slices.Compact(slices.Sorted(slices.Values(sc.OS)))
	for _, o := range sc.OS {
		if !slices.Contains(ScriptOSes, o) {
			add("os", "must list linux, windows or darwin", "darf nur linux, windows oder darwin enthalten")
		} else if windowsOnly && o != "windows" {
			add("os", sc.Language+" runs on Windows only", sc.Language+" läuft nur unter Windows")
		}
	}
	if sc.Signature != "" {
		if b, err := base64.StdEncoding.DecodeString(sc.Signature); err != nil || len(b) != ed25519.SignatureSize {
			add("signature", "must be a base64 ed25519 signature (wacht script sign)", "muss eine base64-kodierte ed25519-Signatur sein (wacht script sign)")
		}
	}
	if sc.Params == nil {
		sc.Params = []core.ScriptParam{}
	}
	seen := map[string]bool{}
	for i, p := range sc.Params {
		at := "params[" + strconv.Itoa(i) + "]"
		if !protocol.ValidParamName(p.Name) || strings.HasPrefix(strings.ToUpper(p.Name), "WACHT_") {
			add(at+".name", "must be a letter or _ followed by letters, digits and _ (it becomes an environment variable), not WACHT_…",
				"muss mit einem Buchstaben oder _ beginnen und nur Buchstaben, Ziffern und _ enthalten (es wird eine Umgebungsvariable), nicht WACHT_…")
		}
		if seen[strings.ToUpper(p.Name)] {
			add(at+".name", "is used twice", "kommt doppelt vor")
		}
		seen[strings.ToUpper(p.Name)] = true
		switch p.Type {
		case core.ParamText, core.ParamNumber, core.ParamBool, core.ParamSecret:
			if len(p.Choices) > 0 {
				add(at+".choices", "only a choice has choices", "nur eine Auswahl hat Auswahlwerte")
			}
		case core.ParamChoice:
			if len(p.Choices) == 0 || len(p.Choices) > maxScriptChoices {
				add(at+".choices", fmt.Sprintf("a choice needs 1 to %d values", maxScriptChoices), fmt.Sprintf("eine Auswahl braucht 1 bis %d Werte", maxScriptChoices))
			}
		default:
			add(at+".type", "must be text, number, bool, choice or secret", "muss text, number, bool, choice oder secret sein")
			continue
		}
		if len(p.Default) > 0 {
			if p.Type == core.ParamSecret {
				add(at+".default", "a secret has no default (it would be stored in the library)", "ein Geheimnis hat keinen Vorgabewert (er stünde in der Bibliothek)")
			} else if _, err := policy.ParamValue(p, p.Default); err != nil {
				add(at+".default", "does not fit the type: "+err.Error(), "passt nicht zum Typ: "+err.Error())
			}
		}
	}
	if len(sc.Params) > protocol.MaxScriptParams {
		add("params", fmt.Sprintf("at most %d parameters", protocol.MaxScriptParams), fmt.Sprintf("höchstens %d Parameter", protocol.MaxScriptParams))
	}
	if len(fs) > 0 {
		return sc, &policy.ValidationError{Fields: fs}
	}
	return sc, nil
}
