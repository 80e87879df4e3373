package web

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/policy"
)

// The desired software states of the policy form (issue 17): one row per
// package with "present" (at least a version) or "absent", or "exclude"
// to remove an inherited entry of that package.

// softwareRow is one software row of the form.
type softwareRow struct {
	Index   int
	Entry   core.PolicySoftware
	Package string // its name and version, for the read-only view
	Error   string
}

// emptySoftwareRows is how many blank rows the form offers for new entries.
const emptySoftwareRows = 1

func softwareRowsOf(sw []core.PolicySoftware, pkgs []core.Package, ve *policy.ValidationError, lang Lang, readOnly bool) []softwareRow {
	var rows []softwareRow
	for i, e := range sw {
		r := softwareRow{Index: i, Entry: e, Package: packageLabel(pkgs, e.PackageID)}
		if ve != nil {
			r.Error = ve.For("software["+strconv.Itoa(i)+"]", lang.Code())
		}
		rows = append(rows, r)
	}
	if !readOnly {
		for i := 0; i < emptySoftwareRows; i++ {
			rows = append(rows, softwareRow{Index: len(sw) + i, Entry: core.PolicySoftware{State: core.SoftwarePresent}})
		}
	}
	return rows
}

// packageLabel names package id ("#id" if it is unknown).
func packageLabel(pkgs []core.Package, id int64) string {
	for _, p := range pkgs {
		if p.ID == id {
			return p.Name + " " + p.Version + " (" + p.OS + ")"
		}
	}
	return "#" + strconv.FormatInt(id, 10)
}

// formSoftware reads the software rows; blank rows are dropped.
func formSoftware(r *http.Request) []core.PolicySoftware {
	n, _ := strconv.Atoi(r.PostFormValue("srows"))
	var out []core.PolicySoftware
	for i := 0; i < n && i < policy.MaxSoftware+emptySoftwareRows; i++ {
		f := func(k string) string { return strings.TrimSpace(r.PostFormValue("s" + strconv.Itoa(i) + "." + k)) }
		if f("package") == "" {
			continue
		}
		id, err := strconv.ParseInt(f("package"), 10, 64)
		if err != nil {
			id = -1 // refused by validation, naming the field
		}
		out = append(out, core.PolicySoftware{PackageID: id, State: f("state"), MinVersion: f("min"), Exclude: f("exclude") != ""})
	}
	return out
}
