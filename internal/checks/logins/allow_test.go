package logins

import (
	"os"

	"github.com/wacht-rmm/wacht/internal/check/checktest"
)

// The tests read log files they write to temporary folders.
func init() { checktest.Allow(nil, []string{os.TempDir()}) }
