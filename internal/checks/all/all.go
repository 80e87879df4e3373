// Package all links every agent check into a binary; importing it for its
// side effects registers them all with package check.
package all

import (
	_ "github.com/wacht-rmm/wacht/internal/checks/antivirus"
	_ "github.com/wacht-rmm/wacht/internal/checks/backup"
	_ "github.com/wacht-rmm/wacht/internal/checks/cpu"
	_ "github.com/wacht-rmm/wacht/internal/checks/disk"
	_ "github.com/wacht-rmm/wacht/internal/checks/eventlog"
	_ "github.com/wacht-rmm/wacht/internal/checks/growth"
	_ "github.com/wacht-rmm/wacht/internal/checks/logins"
	_ "github.com/wacht-rmm/wacht/internal/checks/memory"
	_ "github.com/wacht-rmm/wacht/internal/checks/ping"
	_ "github.com/wacht-rmm/wacht/internal/checks/program"
	_ "github.com/wacht-rmm/wacht/internal/checks/services"
	_ "github.com/wacht-rmm/wacht/internal/checks/smart"
	_ "github.com/wacht-rmm/wacht/internal/checks/snmp"
	_ "github.com/wacht-rmm/wacht/internal/checks/snmptrapcheck"
	_ "github.com/wacht-rmm/wacht/internal/checks/website"
)
