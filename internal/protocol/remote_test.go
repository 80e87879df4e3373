package protocol

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

func TestTermFrames(t *testing.T) {
	keys := bytes.Repeat([]byte("Grüße @ \\ | "), 10000) // longer than one frame
	b := AppendTermInput(nil, []byte("ls\r"))
	b = AppendTermResize(b, 40, 132)
	b = AppendTermInput(b, keys)
	r := bytes.NewReader(b)
	var got []byte
	var resized bool
	for {
		f, err := ReadTermFrame(r)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		switch f.Kind {
		case TermInput:
			got = append(got, f.Data...)
		case TermResize:
			resized = f.Rows == 40 && f.Cols == 132 && string(got) == "ls\r"
		}
	}
	if !resized || !bytes.Equal(got, append([]byte("ls\r"), keys...)) {
		t.Errorf("resize in order %v, %d bytes of input", resized, len(got))
	}
	for name, bad := range map[string][]byte{
		"unknown kind": {'x', 0, 0},
		"short resize": {TermResize, 0, 2, 0, 1},
		"zero size":    {TermResize, 0, 4, 0, 0, 0, 80},
		"cut payload":  {TermInput, 0, 5, 'a'},
		"cut header":   {TermInput, 0},
	} {
		if _, err := ReadTermFrame(bytes.NewReader(bad)); err == nil || err == io.EOF {
			t.Errorf("%s: %v", name, err)
		} else if name != "cut payload" && name != "cut header" && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: %v, want ErrMalformed", name, err)
		}
	}
}

func FuzzReadTermFrame(f *testing.F) {
	f.Add(AppendTermResize(AppendTermInput(nil, []byte("echo ü\r")), 24, 80))
	f.Fuzz(func(t *testing.T, b []byte) {
		r := bytes.NewReader(b)
		for {
			if _, err := ReadTermFrame(r); err != nil {
				return
			}
		}
	})
}
