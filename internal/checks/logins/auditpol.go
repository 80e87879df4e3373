package logins

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

// logonGUID is the audit subcategory "Logon" ("Anmelden"), which covers
// event 4625.
const logonGUID = "{0CCE9215-69AE-11D9-BED3-505054503030}"

// parseAuditpol reads `auditpol /get /subcategory:{GUID} /r` (CSV) and
// reports whether failures are audited. Newer Windows adds a numeric
// "Setting Value" column (bit 2 = failure); older ones only have the
// localised inclusion setting ("Success and Failure", "Erfolg und Fehler").
func parseAuditpol(out []byte) (bool, error) {
	out = bytes.TrimPrefix(out, []byte("\xef\xbb\xbf"))
	r := csv.NewReader(bytes.NewReader(out))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		return false, fmt.Errorf("parsing auditpol output: %w", err)
	}
	for _, rec := range recs {
		if len(rec) < 5 || !strings.EqualFold(strings.TrimSpace(rec[3]), logonGUID) {
			continue
		}
		if len(rec) >= 7 {
			if v, err := strconv.Atoi(strings.TrimSpace(rec[6])); err == nil {
				return v&2 != 0, nil
			}
		}
		s := strings.ToLower(rec[4])
		return strings.Contains(s, "failure") || strings.Contains(s, "fehler"), nil
	}
	return false, fmt.Errorf("auditpol output has no row for the Logon subcategory")
}
