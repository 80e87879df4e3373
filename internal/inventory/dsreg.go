package inventory

import (
	"bufio"
	"cmp"
	"strings"
)

// dsregState is what `dsregcmd /status` says about the device's join.
type dsregState struct {
	AzureAdJoined, DomainJoined bool
	DomainName, TenantName      string
}

// parseDsreg reads the "Name : Value" lines of `dsregcmd /status`; false
// when the output has no AzureAdJoined line (not dsregcmd's status).
func parseDsreg(out string) (dsregState, bool) {
	var s dsregState
	found := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		name, value, ok := strings.Cut(sc.Text(), " : ")
		if !ok {
			continue
		}
		value = strings.TrimSpace(value)
		switch strings.TrimSpace(name) {
		case "AzureAdJoined":
			s.AzureAdJoined, found = value == "YES", true
		case "DomainJoined":
			s.DomainJoined = value == "YES"
		case "DomainName":
			s.DomainName = value
		case "TenantName":
			s.TenantName = value
		}
	}
	return s, found
}

// joinType says how the machine is joined: an Entra join with an AD
// domain is "hybrid"; the domain is the AD domain, the Entra tenant's
// name, or the workgroup.
func joinType(partOfDomain bool, domain, workgroup string, d dsregState) (kind, name string) {
	switch {
	case d.AzureAdJoined && (partOfDomain || d.DomainJoined):
		return "hybrid", cmp.Or(domain, d.DomainName)
	case d.AzureAdJoined:
		return "entra", d.TenantName
	case partOfDomain:
		return "domain", domain
	case workgroup != "":
		return "workgroup", workgroup
	}
	return "", ""
}
