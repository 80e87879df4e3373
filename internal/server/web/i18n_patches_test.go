package web

import (
	"io/fs"
	"regexp"
	"testing"

	webassets "github.com/wacht-rmm/wacht/web"
)

// TestPatchTemplateKeys: every catalog key the patch templates name
// literally ({{$L.T "…"}}, {{$L.Tf "…"}}) exists in English and German,
// and so do the keys the patch pages build from values (sources,
// classifications, severities, states, approvals, results, reboot modes).
func TestPatchTemplateKeys(t *testing.T) {
	re := regexp.MustCompile(`\.Tf? "([a-zA-Z0-9.]+)"`)
	var keys []string
	for _, name := range []string{"templates/partials-patches.html", "templates/device-updates.html", "templates/patches.html"} {
		b, err := fs.ReadFile(webassets.FS, name)
		if err != nil {
			t.Fatal(err)
		}
		ms := re.FindAllStringSubmatch(string(b), -1)
		if len(ms) < 20 {
			t.Fatalf("%s: only %d keys found; the pattern no longer matches the templates", name, len(ms))
		}
		for _, m := range ms {
			keys = append(keys, m[1])
		}
	}
	for _, s := range append(patchSources, "eol") {
		keys = append(keys, "patch.source."+s)
	}
	for _, v := range []string{"critical", "security", "definition", "rollup", "service-pack", "feature", "driver", "tool", "application", "update", "end-of-life"} {
		keys = append(keys, "patch.class."+v)
	}
	for _, v := range []string{"critical", "important", "moderate", "low", ""} {
		keys = append(keys, "patch.sev."+v)
	}
	for _, v := range []string{"ok", "error", "unsupported", "disabled"} {
		keys = append(keys, "patch.scan."+v)
	}
	for _, v := range []string{"missing", "failed", "stuck"} {
		keys = append(keys, "patch.state."+v)
	}
	for _, v := range []string{"auto", "manual", "declined", "excluded", "none"} {
		keys = append(keys, "patch.approval."+v)
	}
	for _, v := range []string{"installed", "failed", "interrupted", "skipped"} {
		keys = append(keys, "patch.result."+v)
	}
	for _, v := range patchRebootModes {
		keys = append(keys, "pp.reboot."+v)
	}
	for _, v := range []string{"scan", "install", "offline"} {
		keys = append(keys, "upd."+v+".ok")
	}
	for _, v := range []string{"approved", "declined", "cleared"} {
		keys = append(keys, "fp."+v+"Notice")
	}
	for _, k := range keys {
		for _, l := range []string{langEN, langDE} {
			if _, ok := catalog[l][k]; !ok {
				t.Errorf("%s: no %q", l, k)
			}
		}
	}
}
