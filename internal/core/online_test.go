package core

import (
	"testing"
	"time"
)

func TestOnlineWindow(t *testing.T) {
	if got := OnlineWindow(0); got != 90*time.Second {
		t.Errorf("OnlineWindow(default) = %v, want 90s", got)
	}
	if got := OnlineWindow(30 * time.Second); got != 90*time.Second {
		t.Errorf("OnlineWindow(30s) = %v, want 90s", got)
	}
	if got := OnlineWindow(5 * time.Minute); got != 15*time.Minute {
		t.Errorf("OnlineWindow(5m) = %v, want three heartbeats", got)
	}
	// Short heartbeats: a small window, but a live device's heartbeat and
	// the flush that writes it must fit with room to spare.
	hb := 2 * time.Second
	got := OnlineWindow(hb)
	if got >= 10*time.Second {
		t.Errorf("OnlineWindow(2s) = %v, want well under the default", got)
	}
	if floor := hb + SeenFlush(hb); got < floor+time.Second {
		t.Errorf("OnlineWindow(2s) = %v, too close to heartbeat + flush %v", got, floor)
	}
	for _, hb := range []time.Duration{time.Millisecond, 100 * time.Millisecond, time.Second, 2 * time.Second, 20 * time.Second, time.Hour} {
		if w := OnlineWindow(hb); w < hb+SeenFlush(hb)+time.Second || w < 3*hb {
			t.Errorf("OnlineWindow(%v) = %v, below a heartbeat plus its flush delay or three heartbeats", hb, w)
		}
	}
}

func TestSeenFlush(t *testing.T) {
	if got := SeenFlush(time.Second); got != time.Second/3 {
		t.Errorf("SeenFlush(1s) = %v, want a third", got)
	}
	if got := SeenFlush(30 * time.Second); got != MaxSeenFlush {
		t.Errorf("SeenFlush(30s) = %v, want MaxSeenFlush", got)
	}
}

func TestDeviceOnline(t *testing.T) {
	now := time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)
	d := Device{State: DeviceActive, LastSeen: now.Add(-10 * time.Second)}
	if !d.Online(now, OnlineWindow(0)) {
		t.Error("heard from 10 s ago: offline with the default heartbeat")
	}
	if d.Online(now, OnlineWindow(2*time.Second)) {
		t.Error("heard from 10 s ago: online with 2 s heartbeats")
	}
	q := DeviceListQuery{Now: now}
	if got := q.OnlineSince(); !got.Equal(now.Add(-90 * time.Second)) {
		t.Errorf("OnlineSince without a window = %v, want 90 s before now", got)
	}
	q.OnlineWindow = 7 * time.Second
	if got := q.OnlineSince(); !got.Equal(now.Add(-7 * time.Second)) {
		t.Errorf("OnlineSince with 7 s = %v", got)
	}
}
