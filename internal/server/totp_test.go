package server

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/protocol"
	"github.com/wacht-rmm/wacht/internal/service"
	"github.com/wacht-rmm/wacht/internal/store/storetest"
)

// TestAPITokenCLIUnderMandatory2FA: `wacht apitoken create` refuses a user
// without a second factor while 2FA is mandatory, plain or narrowed.
func TestAPITokenCLIUnderMandatory2FA(t *testing.T) {
	st := storetest.NewSQLite(t)
	ctx := context.Background()
	now := protocol.Now()
	u, err := AddUser(ctx, st, "alice@example.com", core.RoleTechnician, "long enough", now)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.SetSetting(ctx, service.SettingRequire2FA, "true"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CreateAPIToken(ctx, st, u.Email, "", 0, now); err == nil || !strings.Contains(err.Error(), "two-factor") {
		t.Errorf("CreateAPIToken without 2FA: %v", err)
	}
	if _, _, err := CreateNarrowAPIToken(ctx, st, u.Email, "", core.RoleReadOnly, "", 0, now); err == nil || !strings.Contains(err.Error(), "two-factor") {
		t.Errorf("CreateNarrowAPIToken without 2FA: %v", err)
	}
	if ts, _ := st.ListAPITokens(ctx, 0); len(ts) != 0 {
		t.Errorf("%d tokens created", len(ts))
	}
	if err := st.SetTOTP(ctx, u.ID, "JBSWY3DPEHPK3PXP", true); err != nil {
		t.Fatal(err)
	}
	if _, _, err := CreateAPIToken(ctx, st, u.Email, "", 0, now); err != nil {
		t.Errorf("CreateAPIToken with 2FA: %v", err)
	}
}
