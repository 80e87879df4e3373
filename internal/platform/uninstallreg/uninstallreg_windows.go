package uninstallreg

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/windows/registry"
)

// Machine reads HKLM's uninstall entries in the 64-bit and the 32-bit
// registry view (WOW6432Node). An absent key is no entries.
func Machine(ctx context.Context) ([]Entry, error) {
	var out []Entry
	for _, v := range []struct {
		view   string
		access uint32
	}{{View64, registry.WOW64_64KEY}, {View32, registry.WOW64_32KEY}} {
		es, err := read(ctx, registry.LOCAL_MACHINE, `HKLM\`, Key, v.access, v.view, "")
		if err != nil {
			return out, err
		}
		out = append(out, es...)
	}
	return out, nil
}

// Users reads the uninstall entries of every loaded user hive
// (HKEY_USERS\<SID>, and its WOW6432Node where an installer wrote one).
// The *_Classes hives and .DEFAULT (LocalSystem's hive, also loaded as
// S-1-5-18) are skipped. It returns what it could read and the hives it
// could not, joined.
func Users(ctx context.Context) ([]Entry, error) {
	names, err := registry.USERS.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing HKEY_USERS: %w", err)
	}
	var out []Entry
	var errs []error
	for _, sid := range names {
		if strings.HasSuffix(sid, "_Classes") || strings.EqualFold(sid, ".DEFAULT") {
			continue
		}
		for _, key := range []string{Key, userKey32} {
			es, err := read(ctx, registry.USERS, `HKEY_USERS\`, sid+`\`+key, registry.WOW64_64KEY, ViewUser, sid)
			errs = append(errs, err)
			out = append(out, es...)
		}
	}
	return out, errors.Join(errs...)
}

// read lists the entries under root\path.
func read(ctx context.Context, root registry.Key, rootName, path string, access uint32, view, sid string) ([]Entry, error) {
	k, err := registry.OpenKey(root, path, registry.ENUMERATE_SUB_KEYS|access)
	if errors.Is(err, registry.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("opening %s%s (%s): %w", rootName, path, view, err)
	}
	defer k.Close()
	names, err := k.ReadSubKeyNames(-1)
	if err != nil {
		return nil, fmt.Errorf("listing %s%s (%s): %w", rootName, path, view, err)
	}
	out := make([]Entry, 0, len(names))
	for _, n := range names {
		if err := ctx.Err(); err != nil {
			return out, fmt.Errorf("reading %s%s (%s): %w", rootName, path, view, err)
		}
		sk, err := registry.OpenKey(k, n, registry.QUERY_VALUE|access)
		if err != nil {
			continue // removed meanwhile, or not readable: not an installed product
		}
		out = append(out, FromValues(view, sid, n, values(sk)))
		sk.Close()
	}
	return out, nil
}

// values reads the values FromValues uses, as their registry type gives.
func values(k registry.Key) map[string]any {
	vs := make(map[string]any, len(valueNames))
	for _, name := range valueNames {
		_, typ, err := k.GetValue(name, nil)
		if err != nil {
			continue // absent
		}
		switch typ {
		case registry.SZ, registry.EXPAND_SZ:
			if s, _, err := k.GetStringValue(name); err == nil {
				vs[name] = s
			}
		case registry.DWORD, registry.QWORD:
			if n, _, err := k.GetIntegerValue(name); err == nil {
				vs[name] = n
			}
		}
	}
	return vs
}
