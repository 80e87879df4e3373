//go:build linux

package main

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wacht-rmm/wacht/internal/loadsim"
)

// FanOut is the figures of one script run on every held agent at once
// (issue 16), timed from the API request that queues it.
type FanOut struct {
	Runs            int
	Queued          time.Duration // until the API answered with the job
	Dispatched      time.Duration // until no run was queued any more
	Done            time.Duration // until every run's outcome was stored
	StartedP50      time.Duration // the runs' median claim, from the job's creation (server clock)
	FinishedP50     time.Duration // the runs' median stored outcome, likewise
	Lost            int           // runs not done with exit 0 and their own run ID on stdout
	ServerCPUSec    float64       // the server's CPU seconds from the request to the last result
	ServerPeakRSSMB float64       // the server's largest VmRSS meanwhile (sampled every 50 ms)
	Polls           int           // state counts read from the database meanwhile
}

// fanOut adds a script through the API, runs it on the simulated agents'
// client and polls the database (read-only, next to the server) for the
// runs' states until every run has an outcome.
func fanOut(ctx context.Context, srv *server, sim *loadsim.Sim) (FanOut, error) {
	var f FanOut
	script, err := sim.AddScript(ctx, "Fan-out")
	if err != nil {
		return f, err
	}
	client, err := sim.ClientID(ctx)
	if err != nil {
		return f, err
	}
	db, err := openReadOnly(srv)
	if err != nil {
		return f, err
	}
	defer db.Close()

	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			rss, _ := rssMB(srv.pid())
			f.ServerPeakRSSMB = max(f.ServerPeakRSSMB, rss)
			select {
			case <-stop:
				return
			case <-t.C:
			}
		}
	})
	cpu0, t0 := cpuTicks(srv.pid()), time.Now()
	job, runs, err := sim.RunScriptOnClient(ctx, script, client)
	f.Queued, f.Runs = time.Since(t0), runs
	if err == nil {
		err = waitRuns(db, job, runs, t0, &f)
	}
	f.ServerCPUSec = float64(cpuTicks(srv.pid())-cpu0) / clkTck
	close(stop)
	wg.Wait()
	if err != nil {
		return f, err
	}
	var ok int
	// Each run's own ID on stdout: no run answered with another's result.
	if err := db.QueryRow(`SELECT COUNT(*) FROM script_runs WHERE job_id = $1 AND state = 'done' AND exit_code = 0
		AND stdout LIKE '%' || id || '%'`, job).Scan(&ok); err != nil {
		return f, err
	}
	f.Lost = runs - ok
	f.StartedP50, f.FinishedP50, err = medians(db, job)
	return f, err
}

// medians returns the median of the job's runs' start and finish times,
// from the job's creation.
func medians(db *sql.DB, job int64) (started, finished time.Duration, err error) {
	rows, err := db.Query(`SELECT r.started_at - j.created_at, r.finished_at - j.created_at FROM script_runs r
		JOIN script_jobs j ON j.id = r.job_id WHERE r.job_id = $1 AND r.finished_at IS NOT NULL`, job)
	if err != nil {
		return 0, 0, err
	}
	defer rows.Close()
	var s, f []int64
	for rows.Next() {
		var a, b int64
		if err := rows.Scan(&a, &b); err != nil {
			return 0, 0, err
		}
		s, f = append(s, a), append(f, b)
	}
	if err := rows.Err(); err != nil || len(s) == 0 {
		return 0, 0, err
	}
	slices.Sort(s)
	slices.Sort(f)
	return time.Duration(s[len(s)/2]) * time.Millisecond, time.Duration(f[len(f)/2]) * time.Millisecond, nil
}

// waitRuns polls the job's run states until none is queued (Dispatched)
// and none queued or running (Done), for at most 10 minutes.
func waitRuns(db *sql.DB, job int64, runs int, t0 time.Time, f *FanOut) error {
	for time.Since(t0) < 10*time.Minute {
		rows, err := db.Query(`SELECT state, COUNT(*) FROM script_runs WHERE job_id = $1 GROUP BY state`, job)
		if err != nil {
			return err
		}
		open, total := 0, 0
		queued := false
		for rows.Next() {
			var state string
			var n int
			if err := rows.Scan(&state, &n); err != nil {
				rows.Close()
				return err
			}
			total += n
			switch state {
			case "queued":
				queued, open = true, open+n
			case "running":
				open += n
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		f.Polls++
		if total != runs {
			return fmt.Errorf("job %d has %d runs in the database, the API queued %d", job, total, runs)
		}
		if !queued && f.Dispatched == 0 {
			f.Dispatched = time.Since(t0)
		}
		if open == 0 {
			f.Done = time.Since(t0)
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("job %d: runs still open after 10 minutes", job)
}

// openReadOnly opens the server's database beside it: PostgreSQL through
// its URL, SQLite read-only (WAL lets it read while the server writes).
func openReadOnly(srv *server) (*sql.DB, error) {
	if srv.db != "" {
		return sql.Open("pgx", srv.db)
	}
	path := filepath.Join(srv.data, "wacht.db")
	if _, err := os.Stat(path); err != nil {
		return nil, err
	}
	return sql.Open("sqlite", "file:"+path+"?mode=ro&_pragma=busy_timeout(10000)")
}
