package antivirus

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// cvdHeader is the 512-byte ASCII header of a ClamAV .cvd or .cld file:
//
//	ClamAV-VDB:build time:version:signatures:functionality level:MD5:digital signature:builder:build time (unix)
//
// padded with spaces. The first build time reads "16 Apr 2020 07-58 -0400"
// (hyphen, because ':' separates fields); .cld files written by freshclam
// carry "X" for MD5 and signature.
type cvdHeader struct {
	Built      time.Time
	Version    int
	Signatures int
	FLevel     int
	Builder    string
}

func parseCVDHeader(b []byte) (cvdHeader, error) {
	if len(b) > 512 {
		b = b[:512]
	}
	s := strings.TrimRight(string(b), " \x00\n")
	f := strings.Split(s, ":")
	if len(f) < 4 || f[0] != "ClamAV-VDB" {
		return cvdHeader{}, errors.New("not a ClamAV database header")
	}
	var h cvdHeader
	var err error
	if h.Version, err = strconv.Atoi(f[2]); err != nil {
		return cvdHeader{}, fmt.Errorf("database version %q: %w", f[2], err)
	}
	h.Signatures, _ = strconv.Atoi(f[3])
	if len(f) > 4 {
		h.FLevel, _ = strconv.Atoi(f[4])
	}
	if len(f) > 7 {
		h.Builder = f[7]
	}
	if len(f) > 8 {
		if sec, err := strconv.ParseInt(strings.TrimSpace(f[8]), 10, 64); err == nil && sec > 0 {
			h.Built = time.Unix(sec, 0)
		}
	}
	if h.Built.IsZero() {
		t, err := time.Parse("02 Jan 2006 15-04 -0700", strings.TrimSpace(f[1]))
		if err != nil {
			return cvdHeader{}, fmt.Errorf("database build time %q: %w", f[1], err)
		}
		h.Built = t
	}
	return h, nil
}

// clamDB is one database file found.
type clamDB struct {
	Name string // daily, main, bytecode
	cvdHeader
}

// clamDatabaseDirs are where distributions keep ClamAV's databases.
var clamDatabaseDirs = []string{
	"/var/lib/clamav",              // Debian, Ubuntu, Fedora, Arch
	"/var/db/clamav",               // FreeBSD
	"/opt/homebrew/var/lib/clamav", // Homebrew on Apple silicon
	"/usr/local/var/lib/clamav",    // Homebrew on Intel
	"/usr/local/share/clamav",      // source builds
}

// readClamDBs reads the headers of daily, main and bytecode in dir; where
// several of .cld, .cvd and .cud (unsigned, from private mirrors) exist,
// the newest version wins (freshclam keeps the .cld it patches).
func readClamDBs(dir string) ([]clamDB, error) {
	var out []clamDB
	for _, name := range []string{"daily", "main", "bytecode"} {
		var best *clamDB
		for _, ext := range []string{".cld", ".cvd", ".cud"} {
			h, err := readHeader(filepath.Join(dir, name+ext))
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("reading %s%s: %w", name, ext, err)
			}
			if best == nil || h.Version > best.Version {
				best = &clamDB{Name: name, cvdHeader: h}
			}
		}
		if best != nil {
			out = append(out, *best)
		}
	}
	return out, nil
}

func readHeader(path string) (cvdHeader, error) {
	f, err := os.Open(path)
	if err != nil {
		return cvdHeader{}, err
	}
	defer f.Close()
	b := make([]byte, 512)
	n, err := io.ReadFull(f, b)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) {
		return cvdHeader{}, err
	}
	return parseCVDHeader(b[:n])
}

// processRunning reports whether a process of that name runs.
func processRunning(procs []string, name string) bool {
	for _, p := range procs {
		if p == name {
			return true
		}
	}
	return false
}

// fromClamAV builds the ClamAV product from its databases and the running
// processes. clamd (the scanning daemon; clamonacc feeds it for on-access
// scanning) makes it active; freshclam keeps signatures fresh, and when it
// runs from cron instead of as a daemon the signature age still tells.
func fromClamAV(dbs []clamDB, procs []string) product {
	p := product{Name: "ClamAV", Active: processRunning(procs, "clamd")}
	if !p.Active {
		p.Inactive = "clamd is not running"
	}
	var vers []string
	for _, d := range dbs {
		vers = append(vers, fmt.Sprintf("%s %d", d.Name, d.Version))
	}
	// daily is updated several times a day and decides the age; main and
	// bytecode change rarely and only count when daily is missing.
	for _, d := range dbs {
		if d.Name == "daily" {
			p.SigTime = d.Built
			break
		}
		if d.Built.After(p.SigTime) {
			p.SigTime = d.Built
		}
	}
	p.SigVersion = strings.Join(vers, ", ")
	if !processRunning(procs, "freshclam") {
		p.Warnings = append(p.Warnings, "freshclam is not running")
	}
	return p
}
