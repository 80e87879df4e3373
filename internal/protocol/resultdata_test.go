package protocol

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/wacht-rmm/wacht/internal/core"
)

var berlin = func() *time.Location {
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		panic(err)
	}
	return loc
}()

func TestEventsRoundTripKeepsZone(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 0, 1, 0, berlin)
	raw, err := EncodeEvents(Events{Total: 3, Events: []Event{
		{Time: at, Log: "System", Source: "Service Control Manager", ID: "7000", Level: Level(3), Text: "Der Dienst\r\n\t\"Veeam\"  startete nicht."},
	}})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `"time":"2026-11-27T05:00:01+01:00"`) || !strings.Contains(string(raw), `"kind":"events","v":1`) {
		t.Errorf("encoded %s", raw)
	}
	d, ok := ReadEvents(raw)
	if !ok {
		t.Fatalf("ReadEvents(%s) not ok", raw)
	}
	e := d.Events[0]
	if d.Total != 3 || !d.Truncated || len(d.Events) != 1 || !e.Time.Equal(at) || e.Level != "error" ||
		e.Text != `Der Dienst "Veeam" startete nicht.` || e.TextTruncated {
		t.Errorf("read %+v", d)
	}
	if _, off := e.Time.Zone(); off != 3600 {
		t.Errorf("zone offset %d, want the agent's +01:00", off)
	}
}

func TestReadDataRefusesOtherKindsAndVersions(t *testing.T) {
	for _, raw := range []string{
		``, `null`, `{}`, `[]`, `"events"`,
		`{"kind":"logins","v":1,"logins":[]}`,
		`{"kind":"events","v":2,"events":[]}`,
		`{"kind":"events","v":1,"events":"no list"}`,
	} {
		if d, ok := ReadEvents(json.RawMessage(raw)); ok {
			t.Errorf("ReadEvents(%s) = %+v, want not ok", raw, d)
		}
	}
	if _, ok := ReadLogins(json.RawMessage(`{"kind":"events","v":1,"events":[]}`)); ok {
		t.Error("ReadLogins read events")
	}
}

func TestEventsCaps(t *testing.T) {
	var evs []Event
	for i := range MaxItems + 30 {
		evs = append(evs, Event{Time: time.Unix(int64(i), 0).UTC(), Source: strings.Repeat("s", 1000), Level: "bogus",
			Text: fmt.Sprintf("%d %s", i, strings.Repeat("𝄞", 2*MaxText))}) // 4 bytes a rune: 50 do not fit
	}
	raw, err := EncodeEvents(Events{Total: len(evs), Events: evs})
	if err != nil {
		t.Fatal(err)
	}
	if len(raw) > MaxDataBytes {
		t.Fatalf("encoded %d bytes, over MaxDataBytes", len(raw))
	}
	d, ok := ReadEvents(raw)
	if !ok {
		t.Fatal("not ok")
	}
	// The newest are kept, as many as fit; the count stays the real one.
	if len(d.Events) == 0 || len(d.Events) >= MaxItems || !d.Truncated || d.Total != MaxItems+30 {
		t.Fatalf("kept %d events, truncated %v, total %d", len(d.Events), d.Truncated, d.Total)
	}
	last := d.Events[len(d.Events)-1]
	if !strings.HasPrefix(last.Text, fmt.Sprint(MaxItems+29, " ")) {
		t.Errorf("last event %.20q, want the newest", last.Text)
	}
	for _, e := range d.Events {
		if n := utf8.RuneCountInString(e.Text); n != MaxText || !strings.HasSuffix(e.Text, "…") || !e.TextTruncated {
			t.Fatalf("text of %d runes, truncated %v", n, e.TextTruncated)
		}
		if n := utf8.RuneCountInString(e.Source); n > MaxName || e.Level != "" {
			t.Fatalf("source of %d runes, level %q", n, e.Level)
		}
	}

	// A reader bounds what a careless producer sent.
	long := fmt.Sprintf(`{"kind":"events","v":1,"total":1,"events":[{"source":"x","text":%q}]}`, strings.Repeat("x", 3*MaxText))
	if d, ok := ReadEvents(json.RawMessage(long)); !ok || utf8.RuneCountInString(d.Events[0].Text) != MaxText {
		t.Errorf("read %v %+v", ok, d)
	}
}

func TestLoginsCaps(t *testing.T) {
	at := time.Date(2026, 11, 27, 5, 0, 0, 0, time.UTC)
	var ls []Login
	for i := range MaxItems + 5 {
		ls = append(ls, Login{Account: strings.Repeat("a", 300), Address: fmt.Sprintf("192.0.2.%d", i), Count: 100 - i, First: at, Last: at})
	}
	raw, err := EncodeLogins(Logins{WindowSeconds: 900, Total: 5000, Logins: ls})
	if err != nil {
		t.Fatal(err)
	}
	d, ok := ReadLogins(raw)
	if !ok || len(d.Logins) != MaxItems || !d.Truncated || d.Total != 5000 || d.WindowSeconds != 900 {
		t.Fatalf("read %v: %d logins, %+v", ok, len(d.Logins), d.DataHead)
	}
	if l := d.Logins[0]; l.Count != 100 || utf8.RuneCountInString(l.Account) != MaxName || l.Address != "192.0.2.0" {
		t.Errorf("first %+v", l)
	}
}

func TestValidateData(t *testing.T) {
	ok, _ := EncodeEvents(Events{})
	good := Results{Results: []core.Result{{ID: "r1", Check: "eventlog", At: Now(), Data: ok}}}
	if err := good.Validate(); err != nil {
		t.Errorf("valid data: %v", err)
	}
	// An unknown kind or version is stored: a newer agent's data is kept
	// for a newer server, and readers ignore it.
	good.Results[0].Data = json.RawMessage(`{"kind":"future","v":7}`)
	if err := good.Validate(); err != nil {
		t.Errorf("future kind: %v", err)
	}
	for _, raw := range []string{`null`, `{}`, `{"kind":"events"}`, `[1]`, `{"kind":"x","v":1,"pad":"` + strings.Repeat("x", MaxDataBytes) + `"}`} {
		bad := Results{Results: []core.Result{{ID: "r1", Check: "eventlog", At: Now(), Data: json.RawMessage(raw)}}}
		if err := bad.Validate(); !errors.Is(err, ErrMalformed) {
			t.Errorf("data %.40s: %v, want ErrMalformed", raw, err)
		}
	}
}

// An older server's view: a batch with data decodes into a result without
// the field, which it ignores.
func TestOlderServerIgnoresData(t *testing.T) {
	raw, _ := EncodeEvents(Events{Total: 1, Events: []Event{{Time: Now(), Source: "disk", Text: "bad block"}}})
	b, err := Encode(TypeResults, "b1", Results{Results: []core.Result{{ID: "r1", Check: "eventlog", At: Now(), Data: raw}}})
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var old struct {
		Results []struct {
			ID    string `json:"id"`
			Check string `json:"check"`
		} `json:"results"`
	}
	if err := DecodeData(env, &old); err != nil || len(old.Results) != 1 || old.Results[0].ID != "r1" {
		t.Fatalf("older decoder: %v %+v", err, old)
	}
}

// FuzzResultData: the readers never panic, and what they return obeys
// the bounds whatever an agent sent.
func FuzzResultData(f *testing.F) {
	for _, s := range []string{
		`{"kind":"events","v":1,"total":2,"events":[{"time":"2026-01-01T01:00:00+01:00","source":"disk","id":"7","level":"error","text":"bad\nblock"}]}`,
		`{"kind":"logins","v":1,"window_seconds":900,"total":3,"logins":[{"account":"root","address":"192.0.2.1","count":3}]}`,
		`{"kind":"events","v":1,"total":-5,"events":null}`,
		`{"kind":"logins","v":1,"logins":[{"count":-1}]}`,
		`{"kind":"events","v":1,"events":[{"text":"\u0000\u2028x"}]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if d, ok := ReadEvents(b); ok {
			if len(d.Events) > MaxItems || d.Total < len(d.Events) || d.Total > len(d.Events) && !d.Truncated {
				t.Fatalf("events out of bounds: %d listed, total %d", len(d.Events), d.Total)
			}
			for _, e := range d.Events {
				if utf8.RuneCountInString(e.Text) > MaxText || utf8.RuneCountInString(e.Source) > MaxName || strings.ContainsAny(e.Text, "\n\r\x00") {
					t.Fatalf("event out of bounds: %+v", e)
				}
			}
			if _, err := EncodeEvents(d); err != nil {
				t.Fatalf("read events do not encode: %v", err)
			}
		}
		if d, ok := ReadLogins(b); ok {
			if len(d.Logins) > MaxItems || d.Total < 0 || d.WindowSeconds < 0 {
				t.Fatalf("%d logins, total %d, window %d", len(d.Logins), d.Total, d.WindowSeconds)
			}
			for _, l := range d.Logins {
				if utf8.RuneCountInString(l.Account) > MaxName || utf8.RuneCountInString(l.Address) > MaxName || l.Count < 0 {
					t.Fatalf("login out of bounds: %+v", l)
				}
			}
		}
		_ = ValidateData(b)
	})
}
