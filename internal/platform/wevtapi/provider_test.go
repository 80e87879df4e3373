package wevtapi

import "testing"

func TestProviderName(t *testing.T) {
	for x, want := range map[string]string{
		`<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'><System><Provider Name='Microsoft-Windows-Security-Auditing' Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/>`: "Microsoft-Windows-Security-Auditing",
		`<Event><System><Provider Name="disk"/>`: "disk",
		`<Event><System><EventID>1</EventID>`:    "",
	} {
		if got := providerName(x); got != want {
			t.Errorf("providerName(%q) = %q, want %q", x, got, want)
		}
	}
}
