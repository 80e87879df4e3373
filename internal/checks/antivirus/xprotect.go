package antivirus

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"
)

// xprotectBundles are where macOS keeps XProtect's signatures: since macOS
// 15 XProtect updates itself into /private/var/protected/xprotect; macOS
// 10.15-14 use the /Library/Apple tree; 10.14 and older /System.
var xprotectBundles = []string{
	"/private/var/protected/xprotect/XProtect.bundle",
	"/Library/Apple/System/Library/CoreServices/XProtect.bundle",
	"/System/Library/CoreServices/XProtect.bundle",
}

// parsePlistDict reads the top-level dict of an XML property list into
// strings (integers and dates as their text, booleans as "true"/"false").
func parsePlistDict(b []byte) (map[string]string, error) {
	if bytes.HasPrefix(b, []byte("bplist")) {
		return nil, errors.New("binary property lists are not supported")
	}
	d := xml.NewDecoder(bytes.NewReader(b))
	out := map[string]string{}
	depth, key := 0, ""
	for {
		tok, err := d.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("parsing property list: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			switch t.Name.Local {
			case "dict", "array":
				depth++
			case "key":
				if depth == 1 {
					var k string
					if err := d.DecodeElement(&k, &t); err != nil {
						return nil, fmt.Errorf("parsing property list: %w", err)
					}
					key = k
				}
			case "string", "integer", "date", "real":
				if depth == 1 && key != "" {
					var v string
					if err := d.DecodeElement(&v, &t); err != nil {
						return nil, fmt.Errorf("parsing property list: %w", err)
					}
					out[key], key = v, ""
				}
			case "true", "false":
				if depth == 1 && key != "" {
					out[key], key = t.Name.Local, ""
				}
			}
		case xml.EndElement:
			if t.Name.Local == "dict" || t.Name.Local == "array" {
				depth--
				key = ""
			}
		}
	}
	if len(out) == 0 {
		return nil, errors.New("property list has no top-level dict")
	}
	return out, nil
}

// xprotectVersion is the signature version of one XProtect bundle: the
// bundle's CFBundleShortVersionString, else the Version of its
// XProtect.meta.plist (older releases).
func xprotectVersion(info, meta []byte) (int, error) {
	for _, b := range [][]byte{info, meta} {
		if len(b) == 0 {
			continue
		}
		d, err := parsePlistDict(b)
		if err != nil {
			return 0, err
		}
		for _, k := range []string{"CFBundleShortVersionString", "Version"} {
			if v, err := strconv.Atoi(d[k]); err == nil {
				return v, nil
			}
		}
	}
	return 0, errors.New("no XProtect version found")
}

// xprotectFound is one bundle read from disk.
type xprotectFound struct {
	Path     string
	Version  int
	Modified time.Time
}

// fromXProtect picks the newest bundle. XProtect cannot be switched off by
// the user, so it is always active; its age is the bundle's install time.
func fromXProtect(found []xprotectFound, maxAge time.Duration) (product, bool) {
	var best *xprotectFound
	for i := range found {
		if best == nil || found[i].Version > best.Version {
			best = &found[i]
		}
	}
	if best == nil {
		return product{}, false
	}
	return product{
		Name:       "XProtect",
		Active:     true,
		SigVersion: strconv.Itoa(best.Version),
		SigTime:    best.Modified,
		MaxAge:     maxAge,
		Baseline:   true,
	}, true
}

// readXProtect reads the XProtect bundles that exist among bundles; the
// signature time is the newest modification of the bundle's plists and
// rules, which the update installs.
func readXProtect(bundles []string, maxAge time.Duration) (product, bool, error) {
	var found []xprotectFound
	for _, b := range bundles {
		info, errI := os.ReadFile(filepath.Join(b, "Contents", "Info.plist"))
		meta, errM := os.ReadFile(filepath.Join(b, "Contents", "Resources", "XProtect.meta.plist"))
		if errI != nil && errM != nil {
			if !errors.Is(errI, fs.ErrNotExist) {
				return product{}, false, fmt.Errorf("reading XProtect: %w", errI)
			}
			continue
		}
		v, err := xprotectVersion(info, meta)
		if err != nil {
			return product{}, false, fmt.Errorf("reading XProtect in %s: %w", b, err)
		}
		var mod time.Time
		for _, f := range []string{"Contents/Info.plist", "Contents/Resources/XProtect.meta.plist", "Contents/Resources/XProtect.yara"} {
			if st, err := os.Stat(filepath.Join(b, filepath.FromSlash(f))); err == nil && st.ModTime().After(mod) {
				mod = st.ModTime()
			}
		}
		found = append(found, xprotectFound{Path: b, Version: v, Modified: mod})
	}
	p, ok := fromXProtect(found, maxAge)
	return p, ok, nil
}
