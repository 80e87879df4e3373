package report

import "testing"

// TestCounted: counted phrases agree with their number in both languages,
// and checks go by their display names with the instance after them.
func TestCounted(t *testing.T) {
	de, en := newL("de", nil), newL("en", nil)
	for _, tc := range []struct{ got, want string }{
		{de.Summary(Summary{Devices: 1, OK: 1}), "1 Gerät: 1 in Ordnung, 0 gestört, 0 offline"},
		{en.Summary(Summary{Devices: 1, OK: 1}), "1 device: 1 OK, 0 failing, 0 offline"},
		{en.Summary(Summary{Devices: 2, OK: 1, Offline: 1}), "2 devices: 1 OK, 0 failing, 1 offline"},
		{de.N("outageCount", 1), "1 Störung"},
		{de.N("eventCount", 3), "3 kritische Ereignisse"},
		{de.Check("disk", "/"), "Speicherplatz /"},
		{en.Check("disk", "C:"), "Disk space C:"},
		{de.Check("antivirus", "antivirus"), "Virenschutz"},
		{de.Check("cpu", ""), "CPU-Last"},
		{de.Check("custom-thing", "x"), "custom-thing x"}, // unknown type: its technical name
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
