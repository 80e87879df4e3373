// Command wacht is the Wacht server (`wacht serve`) and its admin CLI:
// enrollment tokens, users, API tokens and first-run setup. It holds flags
// and wiring only; the logic lives in internal/server.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"
	// The zone database is built in: users' and clients' time zones must
	// load on a Windows server or in a container without /usr/share/zoneinfo.
	_ "time/tzdata"

	"golang.org/x/term"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// version is set at build time (-X main.version=…).
var version = "dev"

const usage = `Usage: wacht <command> [flags]

Server:
  serve              run the server (agents, dashboard and API on one HTTPS port)
  migrate --to URL   move the SQLite database into an empty PostgreSQL database (server stopped)

Administration (works while the server runs):
  token create       create an enrollment token for a client's site (--create for a new one)
  token list         list enrollment tokens
  token revoke ID    revoke an enrollment token
  user add           add a dashboard user (--clients limits what they see)
  user disable       stop a user's sign-in, sessions and API tokens at once
  user enable        let a disabled user in again
  user delete        delete a user for good (--yes)
  audit verify       check the audit log's hash chain (exit 1 if broken)
  history            show or set how long check history is kept
  server-checks      show or set the private ranges the server's website checks may reach
  apitoken create    create an API token for a user
  actionkey rotate   replace the key that signs actions; agents accept the old one for --grace
  actionkey status   show the action keys and the devices not yet on the current one
  script keygen|sign|verify
                     lock mode: sign scripts with a key the server never holds
  release keygen|sign|publish
                     sign agent builds and installers with the release key; publish them
  setup              create the first admin if there is no user yet
  version            print the version

Operations (docs/operations.md):
  backup             write the data folder and a database snapshot into one archive (--out), while the server runs
  restore            check such an archive (--in) and restore it into an empty data folder, the server stopped

Run "wacht <command> -h" for a command's flags.
`

func main() {
	if err := run(os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "wacht:", err)
		}
		os.Exit(1)
	}
}

func run(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return flag.ErrHelp
	}
	cmd, rest := args[0], args[1:]
	if (cmd == "token" || cmd == "user" || cmd == "apitoken" || cmd == "audit" || cmd == "actionkey") && len(rest) > 0 {
		cmd, rest = cmd+" "+rest[0], rest[1:]
	}
	switch cmd {
	case "serve":
		return serve(rest, stderr)
	case "migrate":
		return migrateCmd(rest, stdout, stderr)
	case "token create":
		return tokenCreate(rest, stdout, stderr)
	case "token list":
		return tokenList(rest, stdout, stderr)
	case "token revoke":
		return tokenRevoke(rest, stdout, stderr)
	case "user add":
		return userAdd(rest, stdout, stderr)
	case "user disable", "user enable", "user delete":
		return userChange(strings.TrimPrefix(cmd, "user "), rest, stdout, stderr)
	case "apitoken create":
		return apiTokenCreate(rest, stdout, stderr)
	case "setup":
		return setup(rest, stdout, stderr)
	case "actionkey rotate":
		return actionKeyRotate(rest, stdout, stderr)
	case "actionkey status":
		return actionKeyStatus(rest, stdout, stderr)
	case "audit verify":
		return auditVerify(rest, stdout, stderr)
	case "history":
		return historyCmd(rest, stdout, stderr)
	case "server-checks":
		return serverChecksCmd(rest, stdout, stderr)
	case "script":
		return scriptCmd(rest, stdout, stderr)
	case "release":
		return releaseCmd(rest, stdout, stderr)
	case "backup":
		return backupCmd(rest, stdout, stderr)
	case "restore":
		return restoreCmd(rest, stdout, stderr)
	case "version", "--version", "-version":
		fmt.Fprintln(stdout, "wacht", version)
		return nil
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	default:
		fmt.Fprint(stderr, usage)
		return fmt.Errorf("unknown command %q", cmd)
	}
}

func serve(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("wacht serve", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cfg server.Config
	fs.StringVar(&cfg.DataDir, "data", server.DefaultDataDir, "data `folder` (SQLite database, TLS certificate)")
	fs.StringVar(&cfg.Listen, "listen", server.DefaultListen, "`address` to listen on")
	fs.StringVar(&cfg.DBURL, "db", "", "PostgreSQL `URL` (default: SQLite in the data folder)")
	fs.StringVar(&cfg.TLSCert, "tls-cert", "", "TLS certificate `file` (PEM)")
	fs.StringVar(&cfg.TLSKey, "tls-key", "", "TLS key `file` (PEM)")
	fs.StringVar(&cfg.ACMEDomain, "acme-domain", "", "get a certificate for `domain` via ACME (needs port 443)")
	fs.StringVar(&cfg.URL, "url", "", "public `URL` agents connect to (default https://localhost:<port>)")
	fs.StringVar(&cfg.NodeURL, "node-url", "", "with several nodes: `URL` the other nodes reach this one at (default https://<listen host or host name>:<port>)")
	fs.IntVar(&cfg.MaxHandshakes, "max-handshakes", 0, "TLS handshakes computing at once (0 = one per CPU)")
	fs.DurationVar(&cfg.AlertSweep, "alert-sweep", 10*time.Second, "how often to look for offline devices")
	fs.DurationVar(&cfg.AlertRetryMin, "alert-retry-min", 5*time.Second, "first retry delay of an undelivered notification")
	fs.DurationVar(&cfg.AlertRetryMax, "alert-retry-max", time.Hour, "longest retry delay of an undelivered notification")
	fs.DurationVar(&cfg.AlertGiveUp, "alert-give-up", 24*time.Hour, "how long after its creation an undelivered notification is retried before it is given up")
	fs.DurationVar(&cfg.Heartbeat, "heartbeat", 30*time.Second, "heartbeat interval told to agents; a device counts as online for three intervals after its last contact")
	fs.Int64Var(&cfg.MaxUpload, "max-upload", 0, "largest package file an administrator may upload, in `bytes` (0 = 4 GiB)")
	fs.Var((*multiFlag)(&cfg.ReleaseKeys), "release-key", "release public key `file` agent builds may be signed with (repeatable; <data>/release.pub is always trusted)")
	fs.StringVar(&cfg.CodeSign.Cert, "codesign-cert", "", "code-signing certificate `file` to sign published MSIs with (osslsigncode)")
	fs.StringVar(&cfg.CodeSign.Key, "codesign-key", "", "the code-signing certificate's private key `file`")
	metricsToken := fs.String("metrics-token-file", "", "serve Prometheus metrics at /metrics to requests with the bearer token in `file`")
	fs.StringVar(&cfg.MetricsListen, "metrics-listen", "", "serve Prometheus metrics over plain HTTP, without a token, on this private `address`")
	level := fs.String("log-level", "info", "log `level`: debug, info, warn or error")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if (cfg.CodeSign.Cert == "") != (cfg.CodeSign.Key == "") {
		return errors.New("wacht serve: --codesign-cert and --codesign-key go together")
	}
	var err error
	if *metricsToken != "" {
		if cfg.MetricsToken, err = server.ReadMetricsToken(*metricsToken); err != nil {
			return err
		}
	}
	if cfg.Log, err = newLogger(*level, stderr); err != nil {
		return err
	}
	cfg.Log.Info("starting wacht", "version", version)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	return server.Run(ctx, cfg)
}

// newLogger writes text logs at the --log-level level to w.
func newLogger(level string, w io.Writer) (*slog.Logger, error) {
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: lvl})), nil
}

// adminFlags adds --data and --db to an admin command.
type adminFlags struct{ data, db string }

func (a *adminFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&a.data, "data", server.DefaultDataDir, "the server's data `folder`")
	fs.StringVar(&a.db, "db", "", "PostgreSQL `URL`, if the server uses one")
}

// withStore opens the server's store, runs fn with it and closes it.
func (a *adminFlags) withStore(fn func(ctx context.Context, st *store.DB) error) error {
	ctx := context.Background()
	st, err := server.OpenStore(ctx, a.data, a.db)
	if err != nil {
		return err
	}
	defer st.Close()
	return fn(ctx, st)
}

func newFlagSet(name string, stderr io.Writer) (*flag.FlagSet, *adminFlags) {
	fs := flag.NewFlagSet("wacht "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	a := &adminFlags{}
	a.register(fs)
	return fs, a
}

// parse parses flags and wants exactly nargs positional arguments.
func parse(fs *flag.FlagSet, args []string, nargs int) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != nargs {
		return fmt.Errorf("%s: want %d argument(s), got %q", fs.Name(), nargs, fs.Args())
	}
	return nil
}

func tokenCreate(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("token create", stderr)
	var o server.TokenOptions
	fs.StringVar(&o.Client, "client", "", "client (customer) `name`; it must exist unless --create is given")
	fs.StringVar(&o.Site, "site", "", "site `name` within the client; it must exist unless --create is given")
	fs.BoolVar(&o.Create, "create", false, "create the client and the site if they do not exist yet")
	fs.StringVar(&o.Label, "label", "", "a `label` saying what the token is for (e.g. \"Intune rollout\"), shown in lists")
	fs.DurationVar(&o.Expires, "expires", 72*time.Hour, "validity `duration`; 0 = never expires")
	fs.IntVar(&o.MaxUses, "max-uses", 0, "how many devices may enroll with it; 0 = unlimited")
	fs.StringVar(&o.URL, "url", "", "server `URL` for agents (default: the one the server stored)")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	o.DataDir = a.data
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		tok, t, err := server.CreateToken(ctx, st, o, protocol.Now())
		if err != nil {
			return err
		}
		expires := "never"
		if t.ExpiresAt != nil {
			expires = t.ExpiresAt.Local().Format(time.RFC3339)
		}
		label := ""
		if t.Label != "" {
			label = fmt.Sprintf(" (%s)", t.Label)
		}
		fmt.Fprintf(stderr, "Enrollment token %d%s for %s / %s, expires %s, max uses %d (0 = unlimited):\n",
			t.ID, label, t.ClientName, t.SiteName, expires, t.MaxUses)
		fmt.Fprintln(stdout, tok.String())
		return nil
	})
}

func tokenList(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("token list", stderr)
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		return server.ListTokens(ctx, st, stdout, time.Now())
	})
}

func tokenRevoke(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("token revoke", stderr)
	// Accept flags after the ID too: `wacht token revoke 3 --data d`.
	var id string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		id, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if id == "" && fs.NArg() == 1 {
		id = fs.Arg(0)
	} else if fs.NArg() != 0 || id == "" {
		return errors.New("usage: wacht token revoke [--data DIR] ID")
	}
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil {
		return fmt.Errorf("token ID %q is not a number", id)
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		if err := server.RevokeToken(ctx, st, n, protocol.Now()); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Token %d revoked.\n", n)
		return nil
	})
}

func userAdd(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("user add", stderr)
	email := fs.String("email", "", "the user's e-mail `address` (login name)")
	role := fs.String("role", "technician", "`role`: admin, technician or readonly")
	clients := fs.String("clients", "all", "comma-separated client `IDs or names` the user may see, or all")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if !core.ValidRole(*role) {
		return fmt.Errorf("--role %q: must be admin, technician or readonly", *role)
	}
	pw, err := password(stderr)
	if err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		sc, err := server.ResolveClients(ctx, st, *clients)
		if err != nil {
			return err
		}
		u, err := server.AddUserScoped(ctx, st, *email, *role, pw, sc, protocol.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "User %s (%s) added.\n", u.Email, u.Role)
		return nil
	})
}

// userChange disables, enables or deletes a user; deleting needs --yes.
func userChange(change string, args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("user "+change, stderr)
	email := fs.String("email", "", "the user's e-mail `address`")
	var yes *bool
	if change == server.UserDelete {
		yes = fs.Bool("yes", false, "confirm the deletion: it cannot be undone")
	}
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	if yes != nil && !*yes {
		return errors.New("deleting a user cannot be undone: add --yes to confirm")
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		u, err := server.ChangeUser(ctx, st, *email, change, protocol.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "User %s: %sd.\n", u.Email, change)
		return nil
	})
}

// password comes from WACHT_PASSWORD or is asked for twice without echo.
func password(stderr io.Writer) (string, error) {
	if pw, ok := os.LookupEnv("WACHT_PASSWORD"); ok {
		return pw, nil
	}
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no terminal to ask for the password: set WACHT_PASSWORD")
	}
	fmt.Fprint(stderr, "Password: ")
	p1, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	fmt.Fprint(stderr, "Repeat password: ")
	p2, err := term.ReadPassword(fd)
	fmt.Fprintln(stderr)
	if err != nil {
		return "", fmt.Errorf("reading password: %w", err)
	}
	if string(p1) != string(p2) {
		return "", errors.New("the passwords differ")
	}
	return string(p1), nil
}

func apiTokenCreate(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("apitoken create", stderr)
	user := fs.String("user", "", "e-mail `address` of the user the token acts as")
	name := fs.String("name", "cli", "a `name` to recognise the token by")
	expires := fs.Duration("expires", 0, "validity `duration`; 0 = never expires")
	role := fs.String("role", "", "limit the token to this `role` (at most the user's)")
	clients := fs.String("clients", "", "limit the token to these comma-separated client `IDs or names`")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		secret, t, err := server.CreateNarrowAPIToken(ctx, st, *user, *name, *role, *clients, *expires, protocol.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(stderr, "API token %d (%s) for %s; it is shown only now:\n", t.ID, t.Name, *user)
		fmt.Fprintln(stdout, secret)
		return nil
	})
}

func setup(args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("setup", stderr)
	email := fs.String("email", "admin@localhost", "e-mail `address` of the first admin")
	if err := parse(fs, args, 0); err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		pw, created, err := server.Setup(ctx, st, *email, protocol.Now())
		if err != nil {
			return err
		}
		if !created {
			fmt.Fprintln(stdout, "An admin already exists; nothing to do.")
			return nil
		}
		fmt.Fprintf(stdout, "Created the first admin. Log in with\n  e-mail:   %s\n  password: %s\n(shown only now)\n", *email, pw)
		return nil
	})
}
