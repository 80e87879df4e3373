//go:build windows

package wua

import (
	"context"
	"errors"
	"os"
	"testing"
	"time"

	"golang.org/x/sys/windows/registry"
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

// TestServerReal writes the WSUS policy values into the real registry
// (as group policy does) and reads them back through Server: the WSUS
// with UseWUServer 1, Microsoft Update ("") with 0 or without the AU key.
// It leaves a machine that already has the policy alone.
func TestServerReal(t *testing.T) {
	const key = `SOFTWARE\Policies\Microsoft\Windows\WindowsUpdate`
	if k, err := registry.OpenKey(registry.LOCAL_MACHINE, key, registry.QUERY_VALUE); err == nil {
		k.Close()
		t.Skip("this machine has a Windows Update policy; the test does not touch it")
	}
	k, _, err := registry.CreateKey(registry.LOCAL_MACHINE, key, registry.ALL_ACCESS)
	if err != nil {
		t.Fatalf("creating the policy key: %v", err)
	}
	defer func() {
		registry.DeleteKey(registry.LOCAL_MACHINE, key+`\AU`)
		registry.DeleteKey(registry.LOCAL_MACHINE, key)
	}()
	if err := k.SetStringValue("WUServer", "http://wsus.example.lan:8530"); err != nil {
		t.Fatal(err)
	}
	k.Close()
	if s, err := Server(); err != nil || s != "" {
		t.Errorf("WUServer without UseWUServer: %q %v", s, err)
	}
	au, _, err := registry.CreateKey(registry.LOCAL_MACHINE, key+`\AU`, registry.ALL_ACCESS)
	if err != nil {
		t.Fatal(err)
	}
	defer au.Close()
	if err := au.SetDWordValue("UseWUServer", 1); err != nil {
		t.Fatal(err)
	}
	if s, err := Server(); err != nil || s != "http://wsus.example.lan:8530" {
		t.Errorf("UseWUServer 1: %q %v", s, err)
	}
	if err := au.SetDWordValue("UseWUServer", 0); err != nil {
		t.Fatal(err)
	}
	if s, err := Server(); err != nil || s != "" {
		t.Errorf("UseWUServer 0: %q %v", s, err)
	}
}
