package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/scriptsign"
	"github.com/wacht-rmm/wacht/internal/server"
	"github.com/wacht-rmm/wacht/internal/store"
)

// Lock mode's signing key never touches the server: these commands run on
// an administrator's machine with a key file only they hold.

const scriptUsage = `Usage:
  wacht script keygen KEYFILE                         create a signing key; prints its public key
  wacht script sign FILE --key KEYFILE [--language L]  sign a script body; writes FILE.sig
  wacht script verify FILE --signer PUBKEY [--signature SIG] [--language L]
                                                      check FILE's signature (default: FILE.sig)
  wacht script export DIR [--data D] [--db URL]       write the library's own scripts as files
  wacht script import DIR [--data D] [--db URL]       add or update scripts from such files
The language (` + "bash, sh, zsh, python, pwsh, powershell, cmd" + `) is part of what is signed;
it follows from the extension (.bash .sh .zsh .py .cmd .bat) or --language.
`

func scriptCmd(args []string, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, scriptUsage)
		return flag.ErrHelp
	}
	if args[0] == "export" || args[0] == "import" {
		return scriptFiles(args[0], args[1:], stdout, stderr)
	}
	fs := flag.NewFlagSet("wacht script "+args[0], flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { fmt.Fprint(stderr, scriptUsage) }
	key := fs.String("key", "", "private key `file` (wacht script keygen)")
	signer := fs.String("signer", "", "the signer's public `key` (base64)")
	sig := fs.String("signature", "", "the `signature` (base64; default: the content of FILE.sig)")
	lang := fs.String("language", "", "the script's `language`")
	file, err := parseOneArg(fs, args[1:])
	if err != nil {
		return err
	}
	switch args[0] {
	case "keygen":
		pub, err := scriptsign.GenerateKeyFile(file)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "Created %s. Keep it off the server. Public key for wacht-agent install --require-script-signer:\n%s\n", file, scriptsign.EncodePublic(pub))
		return nil
	case "sign":
		if *key == "" {
			return errors.New("wacht script sign: --key is required")
		}
		k, err := scriptsign.LoadKeyFile(*key)
		if err != nil {
			return err
		}
		language, body, err := readScript(file, *lang)
		if err != nil {
			return err
		}
		s := scriptsign.Sign(k, language, body)
		if err := os.WriteFile(file+".sig", []byte(s+"\n"), 0o644); err != nil {
			return fmt.Errorf("writing the signature: %w", err)
		}
		fmt.Fprintln(stdout, s)
		return nil
	case "verify":
		pub, err := scriptsign.ParsePublic(*signer)
		if err != nil {
			return fmt.Errorf("--signer: %w", err)
		}
		language, body, err := readScript(file, *lang)
		if err != nil {
			return err
		}
		if *sig == "" {
			b, err := os.ReadFile(file + ".sig")
			if err != nil {
				return fmt.Errorf("no --signature and no %s.sig: %w", file, err)
			}
			*sig = string(b)
		}
		if err := scriptsign.Verify(pub, language, body, *sig); err != nil {
			return fmt.Errorf("%s (%s): %w", file, language, err)
		}
		fmt.Fprintf(stdout, "%s: valid signature for %s.\n", file, language)
		return nil
	default:
		fmt.Fprint(stderr, scriptUsage)
		return fmt.Errorf("unknown command \"script %s\"", args[0])
	}
}

// parseOneArg parses flags before and after exactly one positional
// argument (wacht script sign FILE --key K).
func parseOneArg(fs *flag.FlagSet, args []string) (string, error) {
	if err := fs.Parse(args); err != nil {
		return "", err
	}
	if fs.NArg() == 0 {
		return "", fmt.Errorf("%s: want a file", fs.Name())
	}
	arg := fs.Arg(0)
	if err := fs.Parse(fs.Args()[1:]); err != nil {
		return "", err
	}
	if fs.NArg() != 0 {
		return "", fmt.Errorf("%s: want one file, got also %q", fs.Name(), fs.Args())
	}
	return arg, nil
}

// readScript reads a script body and finds its language.
func readScript(file, lang string) (string, string, error) {
	if lang == "" {
		lang = map[string]string{".bash": protocol.LangBash, ".sh": protocol.LangSh, ".zsh": protocol.LangZsh,
			".py": protocol.LangPython, ".cmd": protocol.LangCmd, ".bat": protocol.LangCmd}[strings.ToLower(filepath.Ext(file))]
		if lang == "" {
			return "", "", fmt.Errorf("%s: give its --language (%s)", file, strings.Join(protocol.Languages, ", "))
		}
	}
	if !slices.Contains(protocol.Languages, lang) {
		return "", "", fmt.Errorf("unknown language %q (%s)", lang, strings.Join(protocol.Languages, ", "))
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return "", "", fmt.Errorf("reading the script: %w", err)
	}
	return lang, string(b), nil
}

// scriptFiles exports or imports the library as plain files (a metadata
// file and the body each), for scripts kept in a git repository.
func scriptFiles(cmd string, args []string, stdout, stderr io.Writer) error {
	fs, a := newFlagSet("script "+cmd, stderr)
	dir, err := parseOneArg(fs, args)
	if err != nil {
		return err
	}
	return a.withStore(func(ctx context.Context, st *store.DB) error {
		if cmd == "export" {
			n, err := server.ExportScripts(ctx, st, dir, time.Now())
			if err == nil {
				fmt.Fprintf(stdout, "Exported %d scripts to %s.\n", n, dir)
			}
			return err
		}
		res, err := server.ImportScripts(ctx, st, dir, time.Now())
		fmt.Fprintf(stdout, "Imported from %s: %d new, %d updated (a new version each), %d unchanged.\n", dir, res.Created, res.Updated, res.Unchanged)
		return err
	})
}
