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
