package logins

import (
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/checks/internal/logsrc"
)

// failure is one failed log-in, or an account lock-out (Windows 4740).
type failure struct {
	Time    time.Time `json:"t"`
	User    string    `json:"u,omitempty"`
	Addr    string    `json:"a,omitempty"`
	Lockout bool      `json:"l,omitempty"`
}

var (
	// sshd and sshd-session: one line per failed password or
	// keyboard-interactive try; publickey tries are probes, not failures.
	sshFailed = regexp.MustCompile(`^Failed (?:password|keyboard-interactive/pam|keyboard-interactive|challenge-response) for (?:invalid user )?(.*?) from (\S+) port (\d+)`)
	// An unknown user name, logged before any password is tried.
	sshInvalid = regexp.MustCompile(`^Invalid user (.*?) from (\S+?)(?: port (\d+))?\s*$`)
	// macOS sshd through PAM.
	sshPAMError = regexp.MustCompile(`^error: PAM: [Aa]uthentication (?:error|failure) for (?:illegal user )?(\S+) from (\S+)`)
	// Any PAM module: "pam_unix(sudo:auth): authentication failure; … user=bob".
	pamFailure = regexp.MustCompile(`^pam_\w+\(([^:)]+):auth\): authentication failure;(.*)$`)
	pamUser    = regexp.MustCompile(`\buser=(\S+)`)
	pamRhost   = regexp.MustCompile(`\brhost=(\S+)`)
	// sudo's summary: "bob : 3 incorrect password attempts ; TTY=pts/0 ; …".
	sudoIncorrect = regexp.MustCompile(`^\s*(\S+) : (\d+) incorrect password attempts?`)
	// su (util-linux and shadow): "FAILED SU (to root) bob on pts/0".
	suFailed = regexp.MustCompile(`^FAILED SU \(to (\S+)\) (\S+) on`)
	// login, util-linux: "FAILED LOGIN (1) on '/dev/tty1' FOR 'bob', Authentication failure";
	// shadow-utils: "FAILED LOGIN 1 FROM tty1 FOR oracle, Authentication failure".
	loginFailed = regexp.MustCompile(`^FAILED LOGIN \(?\d+\)? (?:on '[^']*'(?: from '([^']*)')?|FROM \S+) FOR '?([^',]*)'?`)
)

// candidate is a parsed line before de-duplication. A "weak" line (sshd's
// Invalid user, sudo's and su's summaries, PAM errors on macOS) repeats
// what a "strong" line of the same attempt says — same program, process,
// account and address — and counts only when no strong line is there
// (a probe that never sent a password, sudo or su without PAM logging).
type candidate struct {
	failure
	n      int
	weak   bool
	source string
	pid    string
	port   string
}

func (c candidate) key() string {
	k := strings.TrimSuffix(c.source, "-session") + "|" + c.pid + "|" + c.User + "|" + c.Addr
	if c.pid == "" {
		// Without a process ID (sshd -E) the client port ties the lines
		// of one connection together.
		k += "|" + c.port
	}
	return k
}

// parseFailures turns log entries into failed log-ins.
func parseFailures(entries []logsrc.Entry) []failure {
	var cands []candidate
	strong := map[string]bool{}
	for _, e := range entries {
		c, ok := parseEntry(e)
		if !ok {
			continue
		}
		if !c.weak {
			strong[c.key()] = true
		}
		cands = append(cands, c)
	}
	var out []failure
	for _, c := range cands {
		if c.weak && strong[c.key()] {
			continue
		}
		for range c.n {
			out = append(out, c.failure)
		}
	}
	return out
}

func parseEntry(e logsrc.Entry) (candidate, bool) {
	c := candidate{failure: failure{Time: e.Time}, n: 1, source: e.Source, pid: e.PID}
	switch e.ID {
	case "4625":
		c.User = winUser(e.Data["TargetUserName"], e.Data["TargetDomainName"])
		c.Addr = winAddr(e.Data["IpAddress"])
		return c, true
	case "4740":
		c.User = winUser(e.Data["TargetUserName"], "")
		c.Lockout = true
		return c, true
	case "":
	default:
		return c, false
	}
	m := strings.TrimSpace(e.Message)
	if !maybeFailure(m) {
		return c, false
	}
	if s := sshFailed.FindStringSubmatch(m); s != nil {
		c.User, c.Addr, c.port = s[1], s[2], s[3]
		return c, true
	}
	if s := sshInvalid.FindStringSubmatch(m); s != nil {
		c.User, c.Addr, c.port, c.weak = s[1], s[2], s[3], true
		return c, true
	}
	if s := sshPAMError.FindStringSubmatch(m); s != nil {
		c.User, c.Addr, c.weak = s[1], s[2], true
		return c, true
	}
	if s := pamFailure.FindStringSubmatch(m); s != nil {
		if s[1] == "sshd" {
			return c, false // sshd logs its own "Failed password" line
		}
		if u := pamUser.FindStringSubmatch(s[2]); u != nil {
			c.User = u[1]
		}
		if h := pamRhost.FindStringSubmatch(s[2]); h != nil {
			c.Addr = h[1]
		}
		return c, true
	}
	if s := sudoIncorrect.FindStringSubmatch(m); s != nil {
		c.User, c.weak = s[1], true
		c.n, _ = strconv.Atoi(s[2])
		return c, true
	}
	if s := suFailed.FindStringSubmatch(m); s != nil {
		c.User, c.weak = s[1], true
		return c, true
	}
	if s := loginFailed.FindStringSubmatch(m); s != nil {
		c.User, c.Addr, c.weak = s[2], s[1], true
		return c, true
	}
	return c, false
}

// maybeFailure is a cheap test that spares most lines the regular
// expressions (a brute-force run logs many thousands a minute).
func maybeFailure(m string) bool {
	switch {
	case strings.HasPrefix(m, "Failed "), strings.HasPrefix(m, "Invalid user "), strings.HasPrefix(m, "error: PAM: "),
		strings.HasPrefix(m, "pam_"), strings.HasPrefix(m, "FAILED "):
		return true
	}
	return strings.Contains(m, " incorrect password attempt")
}

// winUser is DOMAIN\user, or user when the domain is empty or a placeholder.
func winUser(user, domain string) string {
	if user == "-" {
		user = ""
	}
	if domain == "" || domain == "-" || user == "" {
		return user
	}
	return domain + `\` + user
}

func winAddr(a string) string {
	if a == "-" {
		return ""
	}
	return a
}
