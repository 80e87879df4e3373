package snmptrap_test

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/wacht-rmm/wacht/internal/check"
	"github.com/wacht-rmm/wacht/internal/snmptrap"
)

// The agent's probe role starts the receiver from its policy like this.
func Example() {
	cfg, err := snmptrap.ParseConfig([]byte(`{
		"listen": "127.0.0.1:0",
		"communities": ["public"],
		"known_sources": ["192.168.10.0/24"],
		"rules": [{"name": "core switch uplink down", "source": "192.168.10.2",
		           "trap_oid": "1.3.6.1.6.3.1.1.5.3", "varbinds": {"1.3.6.1.2.1.2.2.1.1": "49"}}]
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	l, err := snmptrap.New(cfg, func(r check.Result) { fmt.Println(r.Key, r.Status) }, slog.Default())
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- l.Run(ctx) }()
	<-l.Ready()
	cancel()
	fmt.Println(<-done)
	// Output: <nil>
}
