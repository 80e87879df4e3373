package antivirus

import (
	"errors"
	"strconv"
	"strings"
	"time"
)

// parseMdatpHealth reads `mdatp health` (Microsoft Defender for Endpoint on
// Linux and macOS): "key : value" lines, strings quoted, booleans with an
// optional " [managed]" suffix.
func parseMdatpHealth(out string, now time.Time) (product, error) {
	kv := map[string]string{}
	for _, line := range strings.Split(out, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if i := strings.Index(v, " ["); i > 0 && strings.HasSuffix(v, "]") {
			v = v[:i]
		}
		kv[strings.TrimSpace(k)] = strings.Trim(v, `"`)
	}
	if _, ok := kv["real_time_protection_enabled"]; !ok {
		return product{}, errors.New("unexpected mdatp health output")
	}
	p := product{
		Name:       "Microsoft Defender for Endpoint",
		Version:    kv["app_version"],
		Active:     kv["real_time_protection_enabled"] == "true",
		SigVersion: kv["definitions_version"],
	}
	if !p.Active {
		p.Inactive = "real_time_protection_enabled false"
	}
	if kv["passive_mode_enabled"] == "true" {
		p.Active, p.Inactive = false, "passive mode"
	}
	if m, err := strconv.ParseFloat(kv["definitions_updated_minutes_ago"], 64); err == nil {
		p.SigTime = now.Add(-time.Duration(m * float64(time.Minute)))
	}
	if st := kv["definitions_status"]; st != "" {
		up := st == "up_to_date"
		p.UpToDate = &up
	}
	if kv["healthy"] == "false" {
		p.Warnings = append(p.Warnings, "product reports it is not healthy")
	}
	if kv["licensed"] == "false" {
		p.Warnings = append(p.Warnings, "product is not licensed")
	}
	return p, nil
}
