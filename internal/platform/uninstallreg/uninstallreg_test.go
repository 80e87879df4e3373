package uninstallreg

import "testing"

func TestFromValues(t *testing.T) {
	got := FromValues(View32, "", "{02E43EC2-6B1C-45B5-9E48-941C3E1B204A}_is1", map[string]any{
		"DisplayName":     " System.Data.SQLite v1.0.94.0 (Release) ",
		"DisplayVersion":  "1.0.94.0",
		"Publisher":       "System.Data.SQLite Team",
		"InstallDate":     "20141209",
		"EstimatedSize":   uint64(0xf60),
		"SystemComponent": uint64(0),
		"NoModify":        uint64(1),
	})
	want := Entry{Key: "{02E43EC2-6B1C-45B5-9E48-941C3E1B204A}_is1", View: View32, DisplayName: "System.Data.SQLite v1.0.94.0 (Release)",
		DisplayVersion: "1.0.94.0", Publisher: "System.Data.SQLite Team", InstallDate: "20141209", EstimatedSizeKiB: 3936}
	if got != want {
		t.Errorf("got %+v\nwant %+v", got, want)
	}
	// What installers get wrong: numbers as strings, a date as a DWORD,
	// a size that is not a number.
	got = FromValues(ViewUser, "S-1-5-21-1", "x", map[string]any{
		"DisplayName": "x", "SystemComponent": "1", "InstallDate": uint64(20230801), "EstimatedSize": "big", "ParentKeyName": "Office16.PROPLUS",
	})
	if !got.SystemComponent || got.InstallDate != "20230801" || got.EstimatedSizeKiB != 0 || got.ParentKeyName != "Office16.PROPLUS" || got.SID != "S-1-5-21-1" {
		t.Errorf("odd types: %+v", got)
	}
	if got := FromValues(View64, "", "y", map[string]any{"SystemComponent": uint64(2)}); got.SystemComponent {
		t.Error("SystemComponent=2 hid the entry; Windows hides only 1")
	}
	// An unpaired surrogate as Go's registry decoding gives it (WTF-8).
	if got := FromValues(ViewUser, "", "k\xed\xa0\x80", map[string]any{"DisplayName": "Tool \xed\xa0\x80X"}); got.DisplayName != "Tool \uFFFDX" || got.Key != "k\uFFFD" {
		t.Errorf("WTF-8: %q %q", got.DisplayName, got.Key)
	}
}
