package protocol

import (
	"errors"
	"testing"
)

func TestGoodbyeRoundTrip(t *testing.T) {
	b, err := Encode(TypeGoodbye, "", Goodbye{Reason: GoodbyeReboot})
	if err != nil {
		t.Fatal(err)
	}
	env, err := Decode(b)
	if err != nil {
		t.Fatal(err)
	}
	var g Goodbye
	if err := DecodeData(env, &g); err != nil || g.Validate() != nil || g.Reason != GoodbyeReboot {
		t.Fatalf("decoded %+v, %v", g, err)
	}
	if err := (Goodbye{Reason: "nap"}).Validate(); !errors.Is(err, ErrMalformed) {
		t.Fatalf("unknown reason: %v", err)
	}
}

func TestCheckParamsAndAlertAfter(t *testing.T) {
	for _, tc := range []struct {
		in, out string
		after   int
	}{
		{`{"warn":80,"fail":90,"alert_after":3}`, `{"fail":90,"warn":80}`, 3},
		{`{"warn":80}`, `{"warn":80}`, 1},
		{`{"alert_after":0}`, `{}`, 1},
		{`{"alert_after":"x"}`, `{}`, 1},
		{``, ``, 1},
		{`[1]`, `[1]`, 1},
	} {
		if got := string(CheckParams([]byte(tc.in))); got != tc.out {
			t.Errorf("CheckParams(%s) = %s, want %s", tc.in, got, tc.out)
		}
		if got := AlertAfter([]byte(tc.in)); got != tc.after {
			t.Errorf("AlertAfter(%s) = %d, want %d", tc.in, got, tc.after)
		}
	}
}
