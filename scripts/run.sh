#!/usr/bin/env bash
# `make run`: a server with embedded SQLite in ./wacht-data, the first admin,
# and a local agent enrolled with it, so you see your own machine in the
# dashboard. Ctrl-C stops both. Running it again reuses the data.
set -euo pipefail
cd "$(dirname "$0")/.."
DATA=${WACHT_DATA:-./wacht-data}
PORT=${WACHT_PORT:-8443}
URL="https://localhost:$PORT"
mkdir -p "$DATA"

pids=()
cleanup() { kill "${pids[@]}" 2>/dev/null || true; wait 2>/dev/null || true; }
trap cleanup EXIT
# Ctrl-C is how you stop it, not a failure: exit 0 (the EXIT trap stops
# server and agent; `wacht serve` shuts down gracefully and exits 0), so
# make does not report "Error 130".
trap 'exit 0' INT TERM

bin/wacht serve --data "$DATA" --listen ":$PORT" --url "$URL" 2>>"$DATA/server.log" &
pids+=($!)
echo "Starting the server (log: $DATA/server.log) ..."
for _ in $(seq 60); do
	if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then break; fi
	kill -0 "${pids[0]}" 2>/dev/null || { echo "the server did not start:"; tail -n 20 "$DATA/server.log"; exit 1; }
	sleep 0.5
done

bin/wacht setup --data "$DATA" --email admin@localhost

if [ ! -f "$DATA/agent/agent.json" ]; then
	token=$(bin/wacht token create --create --data "$DATA" --client "My company" --site "Office" --max-uses 1 --expires 1h)
	bin/wacht-agent enroll --data "$DATA/agent" --token "$token"
fi
bin/wacht-agent run --data "$DATA/agent" 2>>"$DATA/agent.log" &
pids+=($!)

cat <<MSG

Wacht is running. Open $URL and log in (the certificate is self-signed;
its fingerprint is in $DATA/server.log). Your machine appears within a minute.
Logs: $DATA/server.log, $DATA/agent.log. Press Ctrl-C to stop.
MSG
wait -n "${pids[@]}"
