package loadsim

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// RunChecks asks one device's agent to run its checks through the REST API
// (POST /api/v1/devices/{id}/run-checks with the bearer API token) and
// returns the round trip: API → server → agent → server → API.
func (s *Sim) RunChecks(ctx context.Context, deviceID int64) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/v1/devices/%d/run-checks", s.server, deviceID), nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "Bearer "+s.o.APIToken)
	start := time.Now()
	resp, err := s.api.Do(req)
	if err != nil {
		return 0, fmt.Errorf("run-checks on device %d: %w", deviceID, err)
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	took := time.Since(start)
	if resp.StatusCode != http.StatusOK {
		return took, fmt.Errorf("run-checks on device %d: HTTP %d: %s", deviceID, resp.StatusCode, body)
	}
	return took, nil
}

// randomAgent picks a connected agent; nil if it finds none quickly.
func (s *Sim) randomAgent() *simAgent {
	for range 8 {
		a := s.agents[rand.N(len(s.agents))]
		if a.online.Load() {
			return a
		}
	}
	return nil
}

// commandLoop sends CommandRate commands per second to random agents,
// each in its own goroutine (at most 64 at once), into CommandRTT.
func (s *Sim) commandLoop(ctx context.Context) {
	t := time.NewTicker(time.Duration(float64(time.Second) / s.o.CommandRate))
	defer t.Stop()
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a := s.randomAgent()
		if a == nil {
			continue
		}
		select {
		case sem <- struct{}{}:
		default:
			s.countError("command_backlog")
			continue
		}
		wg.Go(func() {
			defer func() { <-sem }()
			s.CommandOnce(ctx, a.device.Load())
		})
	}
}

// CommandOnce sends one command, recording its round trip in CommandRTT or
// counting the failure.
func (s *Sim) CommandOnce(ctx context.Context, deviceID int64) error {
	took, err := s.RunChecks(ctx, deviceID)
	if err != nil {
		if ctx.Err() == nil {
			s.cmdFailed.Add(1)
			s.countError("command")
			s.o.Log.Warn("command failed", "err", err)
		}
		return err
	}
	s.cmdOK.Add(1)
	s.CommandRTT.Record(took)
	return nil
}

// CommandSample sends n commands one after another, each to a random
// connected agent: the round trip to one agent while all are connected.
func (s *Sim) CommandSample(ctx context.Context, n int) {
	for range n {
		if a := s.randomAgent(); a != nil {
			s.CommandOnce(ctx, a.device.Load())
		}
		if ctx.Err() != nil {
			return
		}
	}
}

// BroadcastResult is the outcome of one command to every agent.
type BroadcastResult struct {
	Agents, OK, Failed int
	Took               time.Duration // until the last answer
	P50, P99           time.Duration // single round trips
}

// Broadcast sends run-checks to every agent of this process at once (up to
// 256 requests in flight) and waits for all answers.
func (s *Sim) Broadcast(ctx context.Context) BroadcastResult {
	s.BroadcastRTT.Reset()
	var r BroadcastResult
	var mu sync.Mutex
	sem := make(chan struct{}, 256)
	var wg sync.WaitGroup
	start := time.Now()
	for _, a := range s.agents {
		dev := a.device.Load()
		if dev == 0 {
			continue
		}
		r.Agents++
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			took, err := s.RunChecks(ctx, dev)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				r.Failed++
				s.countError("broadcast")
				return
			}
			r.OK++
			s.BroadcastRTT.Record(took)
		})
	}
	wg.Wait()
	r.Took = time.Since(start)
	r.P50, r.P99 = s.BroadcastRTT.Quantile(0.5), s.BroadcastRTT.Quantile(0.99)
	return r
}
