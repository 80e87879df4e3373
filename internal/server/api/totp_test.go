package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/service"
)

// TestMandatory2FACoversAPITokens: while two-factor sign-in is mandatory,
// API tokens of users without a second factor are refused with 403 and a
// reason in English and German (existing tokens too: they work again once
// their user has enrolled), and no such user can mint a token.
func TestMandatory2FACoversAPITokens(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	tech, err := f.st.GetUserByEmail(ctx, "tech@example.com")
	if err != nil {
		t.Fatal(err)
	}
	if code := f.do(t, "GET", "/api/v1/devices", "tech", nil); code != http.StatusOK {
		t.Fatalf("2FA optional: %d", code)
	}
	if err := f.st.SetSetting(ctx, service.SettingRequire2FA, "true"); err != nil {
		t.Fatal(err)
	}
	for _, c := range [][3]string{{"GET", "/api/v1/devices", ""}, {"POST", "/api/v1/tokens", `{"name":"more"}`}} {
		code, body := f.send(t, c[0], c[1], f.tokens["tech"], c[2], nil)
		var resp struct {
			Code    string    `json:"code"`
			Message core.Text `json:"message"`
		}
		_ = json.Unmarshal([]byte(body), &resp)
		if code != http.StatusForbidden || resp.Code != "2fa_required" || resp.Message.EN == "" || resp.Message.DE == "" {
			t.Errorf("%s %s without 2FA: %d %s", c[0], c[1], code, body)
		}
	}
	// The dashboard and the CLI reach the Service directly.
	if _, err := service.New(service.Deps{Store: f.st}).CreateAPIToken(ctx, tech, service.NewToken{Name: "x"}); !errors.Is(err, service.ErrTOTPRequired) {
		t.Errorf("Service.CreateAPIToken without 2FA: %v", err)
	}
	if err := f.st.SetTOTP(ctx, tech.ID, "JBSWY3DPEHPK3PXP", true); err != nil {
		t.Fatal(err)
	}
	if code := f.do(t, "GET", "/api/v1/devices", "tech", nil); code != http.StatusOK {
		t.Errorf("after enrolling 2FA: %d", code)
	}
	if code, body := f.send(t, "POST", "/api/v1/tokens", f.tokens["tech"], `{"name":"more"}`, nil); code != http.StatusCreated {
		t.Errorf("minting after enrolling 2FA: %d %s", code, body)
	}
}
