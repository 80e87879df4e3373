// Package wua binds the Windows Update Agent API (wuapi.dll) through COM:
// search for missing updates (IUpdateSearcher), download and install them
// one by one (IUpdateDownloader, IUpdateInstaller), and the WSUS the
// customer's group policy names. The COM objects are walked behind the
// small node interface, so that the mapping of their answers to
// core.Update is tested on Linux against recorded property values
// (testdata/README.md says where they come from). Windows only for the
// calls; everything else is portable.
package wua

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// Criteria is the search for missing updates: not installed, not hidden by
// an administrator, software (drivers come through Windows Update as
// software of the Drivers classification; Type='Driver' is the old
// driver channel). ServerSelection stays at its default, so a WSUS set by
// group policy is asked instead of Microsoft Update.
const Criteria = "IsInstalled=0 and IsHidden=0 and Type='Software'"

// node is one COM object of the Windows Update Agent as the mapping sees
// it: its scalar properties, object properties and collections. The COM
// implementation reads IDispatch properties; the tests read recorded JSON.
type node interface {
	// prop returns a scalar property: string, int64, bool, float64,
	// time.Time or nil (VT_EMPTY, VT_NULL).
	prop(name string) (any, error)
	// child returns an object property (InstallationBehavior, Identity).
	child(name string) (node, error)
	// items returns the elements of a collection property (Categories):
	// Count, then Item(i).
	items(name string) ([]node, error)
	// strs returns a string collection property (KBArticleIDs, CveIDs).
	strs(name string) ([]string, error)
}

// Error is a failed Windows Update Agent call: the operation ("Search",
// "IUpdateInstaller.Install", "CoCreateInstance Microsoft.Update.Session"…)
// and the HRESULT it ended with (the EXCEPINFO's SCODE when the call
// raised an exception), with Windows' own text when it gave one.
type Error struct {
	Op      string
	HResult uint32
	Desc    string
	Err     error
}

func (e *Error) Error() string {
	s := fmt.Sprintf("%s: HRESULT 0x%08X", e.Op, e.HResult)
	if d := strings.TrimSpace(e.Desc); d != "" && d != "<nil>" {
		s += " (" + d + ")"
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// ErrBusy: another Windows Update installation is running
// (IUpdateInstaller.IsBusy).
var ErrBusy = errors.New("another Windows Update installation is running")

// HResultOf returns the HRESULT of an *Error in err's chain.
func HResultOf(err error) (uint32, bool) {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.HResult, true
	}
	return 0, false
}

// OperationResultCode values of IUpdateDownloadResult, IInstallationResult
// and ISearchResult.
const (
	ResultNotStarted          = 0
	ResultInProgress          = 1
	ResultSucceeded           = 2
	ResultSucceededWithErrors = 3
	ResultFailed              = 4
	ResultAborted             = 5
)

// ResultName words an OperationResultCode.
func ResultName(code int) string {
	switch code {
	case ResultNotStarted:
		return "not started"
	case ResultInProgress:
		return "in progress"
	case ResultSucceeded:
		return "succeeded"
	case ResultSucceededWithErrors:
		return "succeeded with errors"
	case ResultFailed:
		return "failed"
	case ResultAborted:
		return "aborted"
	}
	return "result " + strconv.Itoa(code)
}

// InstallResult is the outcome of downloading and installing one update:
// Phase "download" or "install" (where it stopped, or "install" when it
// went through), the OperationResultCode and HRESULT of that phase's
// IUpdateDownloadResult / IUpdateInstallationResult, and whether a restart
// is needed to finish it.
type InstallResult struct {
	UpdateID       string
	Title          string
	Phase          string
	ResultCode     int
	HResult        uint32
	RebootRequired bool
}

// OK reports whether the update is installed (or installed pending a
// restart): succeeded, without an error HRESULT.
func (r InstallResult) OK() bool {
	return r.Phase == "install" && r.ResultCode == ResultSucceeded && int32(r.HResult) >= 0
}

// Classification category IDs of Windows Update: the same on every
// Windows and WSUS in every language (the names are translated: a German
// Windows says "Sicherheitsupdates").
var classByID = map[string]string{
	"e6cf1350-c01b-414d-a61f-263d14d133b4": core.ClassCritical,    // Critical Updates
	"0fa1201d-4330-4fa8-8ae9-b877473b6441": core.ClassSecurity,    // Security Updates
	"e0789628-ce08-4437-be74-2495b842f43b": core.ClassDefinition,  // Definition Updates
	"28bc880e-0592-4cbf-8f95-c79b17911d5f": core.ClassRollup,      // Update Rollups
	"68c5b0a3-d1a6-4553-ae49-01d3a7827828": core.ClassServicePack, // Service Packs
	"b54e7d24-7add-428f-8b75-90a396fa584f": core.ClassFeature,     // Feature Packs
	"3689bdc8-b205-4af4-8d4a-a63924c5e9d5": core.ClassFeature,     // Upgrades
	"ebfc1fc5-71a4-4f7b-9aca-3b9a503104a0": core.ClassDriver,      // Drivers
	"b4832bd8-e735-4761-8daf-37f882276dab": core.ClassTool,        // Tools
	"cd5ffd1e-e932-4e3a-bf74-18bf0b1bbd83": core.ClassUpdate,      // Updates
	"5c9376ab-8ce6-464a-b136-22113dd69801": core.ClassApplication, // Applications
}

// classByName maps the English category names, for a category whose ID
// is not one of the well-known ones.
var classByName = map[string]string{
	"critical updates":   core.ClassCritical,
	"security updates":   core.ClassSecurity,
	"definition updates": core.ClassDefinition,
	"update rollups":     core.ClassRollup,
	"service packs":      core.ClassServicePack,
	"feature packs":      core.ClassFeature,
	"upgrades":           core.ClassFeature,
	"drivers":            core.ClassDriver,
	"tools":              core.ClassTool,
	"updates":            core.ClassUpdate,
	"applications":       core.ClassApplication,
}

// classify picks the classification from an update's categories: the one
// of Type "UpdateClassification" (the others are products: "Windows 10",
// "Microsoft Defender Antivirus"), by ID, else by English name; Updates
// if none says.
func classify(cats []category) string {
	for _, c := range cats {
		if !strings.EqualFold(c.Type, "UpdateClassification") && c.Type != "" {
			continue
		}
		if cl, ok := classByID[strings.ToLower(strings.Trim(c.ID, "{}"))]; ok {
			return cl
		}
		if cl, ok := classByName[strings.ToLower(strings.TrimSpace(c.Name))]; ok {
			return cl
		}
	}
	return core.ClassUpdate
}

type category struct{ Name, Type, ID string }

// reboot maps InstallationBehavior.RebootBehavior
// (InstallationRebootBehavior: 0 irbNeverReboots, 1
// irbAlwaysRequiresReboot, 2 irbCanRequestReboot).
func reboot(v int64) string {
	switch v {
	case 0:
		return core.RebootNever
	case 1:
		return core.RebootAlways
	case 2:
		return core.RebootMay
	}
	return ""
}

// ErrNoProperty is what a node answers for a property it does not have
// (an older Windows Update Agent, a recording that lacks it).
var ErrNoProperty = errors.New("no such property")

// updateFrom maps one IUpdate to a core.Update. Title and
// Identity.UpdateID are required; the rest is left empty when the agent
// lacks it (ErrNoProperty); any other error reading a property fails.
func updateFrom(n node) (core.Update, error) {
	var u core.Update
	var err error
	if u.Title, err = str(n, "Title", true); err != nil {
		return u, err
	}
	id, err := n.child("Identity")
	if err != nil {
		return u, fmt.Errorf("%s: Identity: %w", u.Title, err)
	}
	if u.ID, err = str(id, "UpdateID", true); err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	if u.ID == "" {
		return u, fmt.Errorf("%s: Identity.UpdateID is empty", u.Title)
	}
	rev, ok, err := integer(id, "RevisionNumber")
	if err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	if ok {
		u.Version = strconv.FormatInt(rev, 10)
	}
	u.Source = core.SourceWindowsUpdate
	u.Key = core.UpdateKey(u.Source, u.ID, u.Version)

	kbs, err := optStrs(n, "KBArticleIDs")
	if err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	for _, kb := range kbs {
		if u.KB = core.NormalizeKB(kb); u.KB != "" {
			break
		}
	}
	if u.CVEs, err = optStrs(n, "CveIDs"); err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	sev, err := str(n, "MsrcSeverity", false)
	if err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	u.Severity = core.ParseSeverity(sev)
	if u.URL, err = str(n, "SupportUrl", false); err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	size, _, err := integer(n, "MaxDownloadSize")
	if err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	u.SizeBytes = size
	if u.ReleasedAt, err = date(n, "LastDeploymentChangeTime"); err != nil {
		return u, fmt.Errorf("%s: %w", u.Title, err)
	}
	if ib, err := n.child("InstallationBehavior"); err == nil {
		rb, ok, err := integer(ib, "RebootBehavior")
		if err != nil {
			return u, fmt.Errorf("%s: InstallationBehavior: %w", u.Title, err)
		}
		if ok {
			u.Reboot = reboot(rb)
		}
	} else if !errors.Is(err, ErrNoProperty) {
		return u, fmt.Errorf("%s: InstallationBehavior: %w", u.Title, err)
	}
	cnodes, err := n.items("Categories")
	if err != nil && !errors.Is(err, ErrNoProperty) {
		return u, fmt.Errorf("%s: Categories: %w", u.Title, err)
	}
	cats := make([]category, 0, len(cnodes))
	for _, c := range cnodes {
		var cat category
		if cat.Name, err = str(c, "Name", false); err != nil {
			return u, fmt.Errorf("%s: category: %w", u.Title, err)
		}
		if cat.Type, err = str(c, "Type", false); err != nil {
			return u, fmt.Errorf("%s: category: %w", u.Title, err)
		}
		if cat.ID, err = str(c, "CategoryID", false); err != nil {
			return u, fmt.Errorf("%s: category: %w", u.Title, err)
		}
		cats = append(cats, cat)
	}
	u.Classification = classify(cats)
	return u, nil
}

// updatesFrom maps ISearchResult: its ResultCode must be succeeded (or
// succeeded with errors, which still lists what it found), then every
// update of its Updates collection.
func updatesFrom(result node) ([]core.Update, error) {
	rc, ok, err := integer(result, "ResultCode")
	if err != nil {
		return nil, fmt.Errorf("ISearchResult: %w", err)
	}
	if ok && rc != ResultSucceeded && rc != ResultSucceededWithErrors {
		return nil, fmt.Errorf("the search %s (ISearchResult.ResultCode %d)", ResultName(int(rc)), rc)
	}
	list, err := result.items("Updates")
	if err != nil {
		return nil, fmt.Errorf("ISearchResult.Updates: %w", err)
	}
	out := make([]core.Update, 0, len(list))
	for i, n := range list {
		u, err := updateFrom(n)
		if err != nil {
			return nil, fmt.Errorf("update %d: %w", i, err)
		}
		out = append(out, u)
	}
	return out, nil
}

func str(n node, name string, required bool) (string, error) {
	v, err := n.prop(name)
	if errors.Is(err, ErrNoProperty) && !required {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("%s: %w", name, err)
	}
	switch x := v.(type) {
	case nil:
		if required {
			return "", fmt.Errorf("%s: empty", name)
		}
		return "", nil
	case string:
		return strings.TrimSpace(x), nil
	}
	return "", fmt.Errorf("%s: a %T, not a string", name, v)
}

func integer(n node, name string) (int64, bool, error) {
	v, err := n.prop(name)
	if errors.Is(err, ErrNoProperty) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("%s: %w", name, err)
	}
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case int64:
		return x, true, nil
	case float64:
		if x != math.Trunc(x) || math.Abs(x) > 1<<62 {
			return 0, false, fmt.Errorf("%s: %v is not an integer", name, x)
		}
		return int64(x), true, nil
	}
	return 0, false, fmt.Errorf("%s: a %T, not a number", name, v)
}

func date(n node, name string) (time.Time, error) {
	v, err := n.prop(name)
	if errors.Is(err, ErrNoProperty) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	switch x := v.(type) {
	case nil:
		return time.Time{}, nil
	case time.Time:
		return x.UTC(), nil
	}
	return time.Time{}, fmt.Errorf("%s: a %T, not a date", name, v)
}

func optStrs(n node, name string) ([]string, error) {
	s, err := n.strs(name)
	if errors.Is(err, ErrNoProperty) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var out []string
	for _, x := range s {
		if x = strings.TrimSpace(x); x != "" {
			out = append(out, x)
		}
	}
	return out, nil
}

// PolicyServer is the update server group policy points Windows Update
// at: WUServer of HKLM\SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate
// when UseWUServer of its AU subkey is 1, "" (Microsoft Update) otherwise.
func PolicyServer(useWUServer uint64, useSet bool, wuServer string) string {
	if !useSet || useWUServer != 1 {
		return ""
	}
	return strings.TrimSpace(wuServer)
}
