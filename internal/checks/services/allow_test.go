package services

import (
	"os"

	"github.com/wacht-rmm/wacht/internal/check/checktest"
)

// The tests start init scripts they write to temporary folders.
func init() { checktest.Allow([]string{os.TempDir()}, nil) }
