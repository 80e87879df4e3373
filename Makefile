# Wacht build. `make run` starts a local server and agent, `make test` runs
# gofmt, vet, staticcheck and every test (what CI runs, with `make race`),
# `make short` the fast local loop, `make dist` cross-builds release binaries
# (`make dist RELEASE_KEY=FILE` also signs the agent's files: docs/releases.md).
GO      ?= go
# Versions order (agents refuse downgrades; packages need a leading digit):
# a tag's name, else 0.<commits>.0+g<hash>.
VERSION ?= $(shell git describe --tags --dirty 2>/dev/null || echo 0.$$(git rev-list --count HEAD 2>/dev/null || echo 0).0+g$$(git rev-parse --short HEAD 2>/dev/null || echo dev))
LDFLAGS := -s -w -X main.version=$(VERSION)
BUILD   := CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS)"

AGENT_TARGETS  := windows/amd64 windows/arm64 darwin/amd64 darwin/arm64 linux/amd64 linux/arm64
# The tray app beside the agent (a GUI program on Windows: no console
# window); its macOS build needs cgo (fyne.io/systray uses Cocoa), so it is
# built on a Mac, not here.
TRAY_TARGETS   := windows/amd64 windows/arm64 linux/amd64 linux/arm64
SERVER_TARGETS := linux/amd64 linux/arm64
VET_TARGETS    := windows/amd64 darwin/arm64
LINT_TARGETS   := linux/amd64 $(VET_TARGETS)

.PHONY: all build run test fmt vet lint unit short race fuzz wine systemd update bench bench-blob dist deps web-assets clean

all: build

# Front-end libraries come from npm (pinned in web/package-lock.json) and are
# embedded into the server binary.
web-assets: web/static/vendor/.stamp
web/static/vendor/.stamp: web/package.json web/package-lock.json web/build.sh $(wildcard web/editor/*.js)
	./web/build.sh
	touch $@

build: web-assets
	$(BUILD) -o bin/ ./cmd/wacht ./cmd/wacht-agent ./cmd/wacht-tray ./cmd/wacht-loadsim

run: build
	./scripts/run.sh

test: fmt vet lint unit

# Fails listing the files gofmt would change.
fmt:
	@files=$$(gofmt -l cmd internal test); \
	if [ -n "$$files" ]; then echo "not gofmt-ed (run gofmt -w):"; echo "$$files"; exit 1; fi

vet: web-assets
	$(GO) vet ./...
	@for t in $(VET_TARGETS); do \
		echo "go vet GOOS=$${t%/*} GOARCH=$${t#*/}"; \
		CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} $(GO) vet ./... || exit 1; \
	done

# staticcheck, pinned by the tool directive in go.mod, once per target OS;
# -merge then reports code as unused only when no OS uses it. Its default
# checks all run; a finding that is wrong is silenced where it stands with
# //lint:ignore and the reason.
lint: web-assets
	$(GO) build -o bin/staticcheck honnef.co/go/tools/cmd/staticcheck
	@rm -f bin/staticcheck-*.bin
	@for t in $(LINT_TARGETS); do \
		echo "staticcheck GOOS=$${t%/*} GOARCH=$${t#*/}"; \
		CGO_ENABLED=0 GOOS=$${t%/*} GOARCH=$${t#*/} bin/staticcheck -f binary ./... >bin/staticcheck-$${t%/*}-$${t#*/}.bin || exit 1; \
	done
	bin/staticcheck -merge bin/staticcheck-*.bin

# The end-to-end package is named first: `go test` starts packages in the
# order given, and that one takes longest (it mostly waits on real agents),
# so it runs from the start beside the others instead of last and alone.
unit: web-assets
	$(GO) test -count=1 -timeout 30m ./test/e2e/ ./...

# The fast local loop: no e2e, load, browser or real-tool tests
# (testing.Short(); CONTRIBUTING.md).
short: web-assets
	$(GO) test -short -count=1 -timeout 10m ./...

# The -short set under the race detector (which needs cgo); CI runs it
# after `make test`. test/e2e is left out: under -short it runs nothing, and
# building it for the race detector is time for nothing.
race: web-assets
	CGO_ENABLED=1 $(GO) test -race -short -count=1 -timeout 30m $$($(GO) list ./... | grep -v '/test/e2e$$')

# Every fuzz target for a short bounded time (FUZZTIME=10s each); CI runs it
# after `make test`, which already replays each target's seed corpus.
fuzz: web-assets
	GO=$(GO) ./scripts/fuzz.sh

# The Windows lane alone: the Windows agent and tray app under Wine against
# a real server (test/e2e/wine_test.go and wine_tray_linux_test.go, also
# part of `unit`; docs/windows.md). It skips without Wine unless
# WACHT_REQUIRE_WINE=1.
wine:
	$(GO) test -count=1 -timeout 15m -v -run '^(TestWindows(Agent|Tray)UnderWine|TestAgentMSIUnderWine)$$' ./test/e2e/

# The systemd lane alone: the service manager's D-Bus code, the agent's
# service actions, the .deb (test/e2e/deb_linux_test.go) and the agent's
# self-update as a systemd service (test/e2e/sysupdate_linux_test.go)
# against a real systemd that the tests boot in a container themselves
# (internal/platform/systemdtest: as root, with systemd-container
# and debootstrap, and boot-systemd-container.sh in a shared/tools folder
# above the checkout or named by SYSTEMD_BOOT). `unit` runs them too; there
# they skip without root or those tools unless WACHT_REQUIRE_SYSTEMD=1
# (.ci/run) or CI is set.
systemd:
	WACHT_REQUIRE_SYSTEMD=1 $(GO) test -count=1 -v -run '^(TestSystemdReal|TestServicesSystemdReal|TestDebInSystemdContainer|TestSelfUpdateUnderSystemd)$$' ./internal/platform/svcmgr ./internal/agent ./test/e2e

# The agent self-update lane alone (issue 21, docs/agent-update.md): real
# `wacht serve` and wacht-agent processes on loopback; the test builds agent
# 1.0.0 and 1.1.0, a build that crashes at start and a tampered one, and
# rolls them out: update, watchdog rollback, refused tampering, downgrade
# refused and allowed (test/e2e/update_test.go, also part of `unit`).
update:
	$(GO) test -count=1 -timeout 20m -v -run '^TestAgentUpdateEndToEnd' ./test/e2e/

# Go micro-benchmarks, then the load benchmarks of docs/benchmarks.md:
# a real server on loopback held by simulated agents (SQLite, and PostgreSQL
# when WACHT_TEST_POSTGRES is set), and the real agent for 10 minutes.
# BENCHFLAGS="--agents 1000 --agent-window 1m" for a shorter run.
bench: build
	$(GO) test -run '^$$' -bench . -benchmem -timeout 60m ./...  # Terminals100 holds 10,000 agents
	$(GO) run ./internal/loadsim/bench --bin bin --out bin/bench-results.json $(BENCHFLAGS)

# The package file series alone (issue 17): one 500 MB file to 200
# simulated agents at once and to 200 curl processes (docs/benchmarks.md).
bench-blob: build
	$(GO) run ./internal/loadsim/bench --bin bin --out bin/bench-blob.json --agents= --agent-window 0 $(BENCHFLAGS)

dist: web-assets
	@for t in $(AGENT_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; [ $$os = windows ] && ext=.exe; \
		echo "wacht-agent $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(BUILD) -o dist/wacht-agent-$$os-$$arch$$ext ./cmd/wacht-agent || exit 1; \
	done
	@for t in $(TRAY_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; ext=; gui=; [ $$os = windows ] && ext=.exe && gui=-H=windowsgui; \
		echo "wacht-tray $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch CGO_ENABLED=0 $(GO) build -trimpath -ldflags "$(LDFLAGS) $$gui" -o dist/wacht-tray-$$os-$$arch$$ext ./cmd/wacht-tray || exit 1; \
	done
	@for t in $(SERVER_TARGETS); do \
		os=$${t%/*}; arch=$${t#*/}; \
		echo "wacht $$os/$$arch"; \
		GOOS=$$os GOARCH=$$arch $(BUILD) -o dist/wacht-$$os-$$arch ./cmd/wacht || exit 1; \
	done
	$(GO) run ./internal/installer/build --dist dist --version $(VERSION)
	@if [ -n "$(RELEASE_KEY)" ]; then \
		echo "signing dist/wacht-agent* with $(RELEASE_KEY)"; \
		$(GO) run ./cmd/wacht release sign --key $(RELEASE_KEY) --version $(VERSION) dist/wacht-agent* || exit 1; \
	fi

# Rewrite the committed module lists of the binaries (deps/*.txt) after a
# dependency change; deps/deps_test.go fails while they are stale.
deps:
	$(GO) generate ./deps

clean:
	rm -rf bin dist web/static/vendor
