package tray

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/wacht-rmm/wacht/internal/core"
	"github.com/wacht-rmm/wacht/internal/trayipc"
)

func TestSeen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "wacht-tray", "seen.json")
	s := OpenSeen(path)
	if len(s.IDs()) != 0 {
		t.Fatal("seen before anything was marked")
	}
	reqs := []trayipc.UserRequest{{Replies: []core.SupportReply{{ID: 4}, {ID: 9}}}, {}}
	if err := s.MarkAll(reqs); err != nil {
		t.Fatal(err)
	}
	if got := OpenSeen(path).IDs(); !reflect.DeepEqual(got, map[int64]bool{4: true, 9: true}) {
		t.Errorf("read back %v", got)
	}
	if err := s.MarkAll(reqs[1:]); err != nil {
		t.Fatal(err)
	}
	if got := OpenSeen(path).IDs(); len(got) != 0 {
		t.Errorf("replies no longer listed are kept: %v", got)
	}
}

func TestSeenInMemory(t *testing.T) {
	t.Chdir(t.TempDir())
	s := OpenSeen("")
	if err := s.MarkAll([]trayipc.UserRequest{{Replies: []core.SupportReply{{ID: 1}}}}); err != nil || !s.IDs()[1] {
		t.Fatalf("%v %v", err, s.IDs())
	}
	if entries, _ := os.ReadDir("."); len(entries) != 0 {
		t.Errorf("wrote %v", entries)
	}
}
