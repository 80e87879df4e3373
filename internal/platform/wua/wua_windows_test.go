//go:build windows

package wua

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"
)

// TestSearchReal asks the real Windows Update Agent (Wine's wuapi.dll in
// the Windows lane, test/e2e/wine_test.go). Whatever it answers must be
// honest: updates each with a key and title, or an error carrying the
// HRESULT of the call that failed. Set WACHT_TEST_WUA=1 to run it (a real
// search contacts Microsoft Update or the WSUS, and can take minutes).
func TestSearchReal(t *testing.T) {
	if os.Getenv("WACHT_TEST_WUA") != "1" {
		t.Skip("WACHT_TEST_WUA=1 runs the real Windows Update search")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	us, err := Search(ctx)
	if err != nil {
		hr, ok := HResultOf(err)
		if !ok && !errors.Is(err, ErrNoProperty) {
			t.Fatalf("the search failed without an HRESULT: %v", err)
		}
		if ok && int32(hr) >= 0 {
			t.Fatalf("the search failed with a success code 0x%08X: %v", hr, err)
		}
		t.Logf("search: error (honest): %v", err)
		return
	}
	for _, u := range us {
		if u.Key == "" || u.Title == "" || u.ID == "" || u.Classification == "" {
			t.Errorf("an update without key, ID, title or classification: %+v", u)
		}
	}
	t.Logf("search: %d missing updates", len(us))
	srv, err := Server()
	t.Logf("WSUS from policy: %q, %v", srv, err)
}
