package backup

import (
	"regexp"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/checks/internal/evtxtest"
)

var evtxProvider = regexp.MustCompile(`<Provider Name="([^"]+)"`)

// TestRealEventLogs runs the Windows Server Backup and Veeam classifiers
// over every record of the real event logs (../shared/testdata/evtx, none
// of them from a backup product): every record parses, and only records
// of the backup products' providers (counted here from the data) could
// become a job.
func TestRealEventLogs(t *testing.T) {
	xs := evtxtest.Records(t, evtxtest.All...)
	bs := make([][]byte, len(xs))
	backupRecords := 0
	for i, x := range xs {
		bs[i] = []byte(x)
		p := strings.ToLower(evtxProvider.FindStringSubmatch(x)[1])
		if p == "microsoft-windows-backup" || strings.HasPrefix(p, "veeam") {
			backupRecords++
		}
	}
	for name, classify := range map[string]func(event) (job, bool){"wsb": wsbJob, "veeam": veeamJob} {
		jobs, err := jobsFromEvents(bs, classify)
		if err != nil {
			t.Fatalf("%s over %d real records: %v", name, len(xs), err)
		}
		if len(jobs) > backupRecords {
			t.Errorf("%s: %d jobs from %d records of backup providers: %+v", name, len(jobs), backupRecords, jobs)
		}
	}
	t.Logf("%d records, %d from backup providers", len(xs), backupRecords)
}
