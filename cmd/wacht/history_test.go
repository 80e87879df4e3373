package main

import (
	"context"
	"strings"
	"testing"

	"github.com/wacht-rmm/wacht/internal/store"
)

func TestHistoryCommand(t *testing.T) {
	data := t.TempDir()
	st, err := store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	st.Close()
	out, _, err := runCLI(t, "history", "--data", data)
	if err != nil || out != "raw results: 14 days\nhourly summaries: 400 days\n" {
		t.Fatalf("history: %q, %v", out, err)
	}
	out, _, err = runCLI(t, "history", "--data", data, "--raw-days", "30")
	if err != nil || out != "raw results: 30 days\nhourly summaries: 400 days\n" {
		t.Fatalf("history --raw-days 30: %q, %v", out, err)
	}
	for _, bad := range [][]string{{"--raw-days", "3"}, {"--rollup-days", "20"}, {"--raw-days", "-1"}} {
		if _, _, err := runCLI(t, append([]string{"history", "--data", data}, bad...)...); err == nil ||
			!strings.Contains(err.Error(), "raw ≥ 8") {
			t.Errorf("history %v: %v, want the limits explained", bad, err)
		}
	}
	st, err = store.Open(context.Background(), "", data)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if r, err := st.HistoryRetention(context.Background()); err != nil || r.RawDays != 30 || r.RollupDays != 400 {
		t.Errorf("stored retention = %+v, %v", r, err)
	}
	es, err := st.ListAudit(context.Background(), 10)
	if err != nil || len(es) != 1 || es[0].Action != "settings.history-retention" || es[0].Detail != "raw_days=30 rollup_days=400" {
		t.Errorf("audit = %+v, %v; want one settings.history-retention entry", es, err)
	}
}
