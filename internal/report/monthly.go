package report

import (
	"context"
	"errors"
	"time"

	"github.com/wacht-rmm/wacht/internal/core"
)

// The monthly customer report (issue 22): availability per server from
// the offline outages, outages with durations, the checks that failed
// most, antivirus and backup status, patch compliance, an inventory
// summary and failed log-ins over one calendar month, rendered as PDF in
// German or English with the MSP's logo, and mailed on the first of the
// next month.

// SettingLogo is the setting that holds the MSP's logo for the monthly
// report: the image's bytes (PNG or JPEG), base64.
const SettingLogo = "report.logo"

// MaxLogoBytes bounds the logo.
const MaxLogoBytes = 512 << 10

var errMonthlyTODO = errors.New("monthly report: not implemented yet")

// MonthlyPDF reads client c's data for the calendar month that starts at
// month (midnight of its first day in env.Location) and renders the
// report as PDF in lang with logo (PNG or JPEG bytes; nil: none).
func MonthlyPDF(ctx context.Context, st Store, env Env, c core.Client, month time.Time, lang string, logo []byte) ([]byte, error) {
	return nil, errMonthlyTODO
}
