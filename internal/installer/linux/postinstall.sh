#!/bin/sh
# wacht-agent package: after installing or upgrading (deb: postinst
# configure; rpm: %post with 1 = install, 2 = upgrade).
#
# A machine that is enrolled already (upgrade, reinstall) keeps its
# enrollment and its service is restarted. Otherwise the agent enrolls with
# the token from $WACHT_TOKEN or /etc/wacht-agent/token (the file is deleted
# after a successful enrollment) and the service is enabled and started.
# A failed enrollment (an expired or used-up token, an unreachable server)
# prints the agent's reason and leaves the package installed with the
# service disabled: the script still succeeds so that the package manager's
# state stays clean; enroll later with
#   wacht-agent install --token …
set -e
DATA=/var/lib/wacht-agent
ETC=/etc/wacht-agent
TOKEN_FILE=$ETC/token
BIN=/usr/bin/wacht-agent
UNIT=wacht-agent.service

case "$1" in
configure | 1 | 2) ;;
*) exit 0 ;;
esac

mkdir -p "$DATA" "$ETC"
chmod 700 "$DATA" "$ETC"

systemd_runs() { [ -d /run/systemd/system ]; }
if systemd_runs; then
	systemctl daemon-reload || true
fi

if [ -f "$DATA/agent.json" ]; then
	echo "wacht-agent: this machine is enrolled already; keeping its enrollment."
	if systemd_runs; then
		systemctl enable "$UNIT"
		systemctl restart "$UNIT"
	fi
	exit 0
fi

token=${WACHT_TOKEN:-}
from_file=
if [ -z "$token" ] && [ -f "$TOKEN_FILE" ]; then
	token=$(tr -d ' \t\r\n' <"$TOKEN_FILE")
	from_file=1
fi
if [ -z "$token" ]; then
	echo "wacht-agent: installed, NOT enrolled: no token in WACHT_TOKEN or $TOKEN_FILE." >&2
	echo "wacht-agent: enroll with: wacht-agent install --token <token>" >&2
	exit 0
fi

if ! "$BIN" enroll --data "$DATA" --token "$token"; then
	echo "wacht-agent: ENROLLMENT FAILED (the reason is above). The package is installed; the service is not enabled." >&2
	echo "wacht-agent: enroll with a new token: wacht-agent install --token <token>" >&2
	exit 0
fi
if [ -n "$from_file" ]; then
	rm -f "$TOKEN_FILE"
fi
if systemd_runs; then
	systemctl enable --now "$UNIT"
else
	echo "wacht-agent: enrolled; systemd is not running here, so start the agent yourself: $BIN run" >&2
fi
