package main

import (
	"fmt"
	"log/slog"
	"reflect"
	"testing"
)

type fakeSvcLog struct{ lines []string }

func (f *fakeSvcLog) log(level string, v ...any) error {
	f.lines = append(f.lines, level+": "+fmt.Sprint(v...))
	return nil
}
func (f *fakeSvcLog) Error(v ...any) error              { return f.log("E", v...) }
func (f *fakeSvcLog) Warning(v ...any) error            { return f.log("W", v...) }
func (f *fakeSvcLog) Info(v ...any) error               { return f.log("I", v...) }
func (f *fakeSvcLog) Errorf(s string, a ...any) error   { return f.log("E", fmt.Sprintf(s, a...)) }
func (f *fakeSvcLog) Warningf(s string, a ...any) error { return f.log("W", fmt.Sprintf(s, a...)) }
func (f *fakeSvcLog) Infof(s string, a ...any) error    { return f.log("I", fmt.Sprintf(s, a...)) }

func TestServiceHandler(t *testing.T) {
	f := &fakeSvcLog{}
	l := slog.New(&serviceHandler{l: f}).With("device", 7)
	l.Debug("hidden")
	l.Info("connected", "server", "https://x")
	l.Warn("session ended", "err", "eof")
	l.Error("cannot spool")
	want := []string{
		"I: connected device=7 server=https://x",
		"W: session ended device=7 err=eof",
		"E: cannot spool device=7",
	}
	if !reflect.DeepEqual(f.lines, want) {
		t.Errorf("got %q", f.lines)
	}
}

func TestServiceConfig(t *testing.T) {
	c := serviceConfig("/var/lib/wacht-agent")
	if c.Name != "wacht-agent" || !reflect.DeepEqual(c.Arguments, []string{"run", "--data", "/var/lib/wacht-agent"}) {
		t.Errorf("config %+v", c)
	}
	if c.Option["Restart"] != "always" || c.Option["OnFailure"] != "restart" || c.Option["KeepAlive"] != true {
		t.Errorf("service is not restarted on failure: %v", c.Option)
	}
}
