// Package deps holds the committed lists of the modules each binary links
// (wacht.txt, wacht-agent.txt, wacht-loadsim.txt), so that a new
// dependency shows up in review. Its test fails when a list is stale;
// `go generate ./deps` (make deps) rewrites them.
package deps

//go:generate go test -run ^TestModuleLists$ -update .
