#!/bin/sh
# Removes the Wacht agent from this Mac: stops and deletes its launchd job
# and its programs. With --purge it also deletes the enrollment and data
# (/Library/Application Support/Wacht), /etc/wacht-agent and the logs.
#
#   sudo ./uninstall.sh [--purge]
set -eu
BIN=/usr/local/bin/wacht-agent
DATA="/Library/Application Support/Wacht"
PLIST=/Library/LaunchDaemons/wacht-agent.plist
purge=
case "${1:-}" in
"") ;;
--purge) purge=1 ;;
*)
	echo "usage: $0 [--purge]" >&2
	exit 2
	;;
esac
[ "$(uname -s)" = Darwin ] || {
	echo "uninstall.sh: this is for macOS" >&2
	exit 1
}
[ "$(id -u)" = 0 ] || {
	echo "uninstall.sh: run it as root: sudo $0" >&2
	exit 1
}
if [ -f "$PLIST" ]; then
	launchctl unload "$PLIST" 2>/dev/null || true
	rm -f "$PLIST"
fi
# The tray's log-on item, if `wacht-agent install` registered one.
if [ -x "$BIN" ]; then
	"$BIN" uninstall --data "$DATA" >/dev/null 2>&1 || true
fi
rm -f "$BIN" /usr/local/bin/wacht-tray
if [ -n "$purge" ]; then
	rm -rf "$DATA" /etc/wacht-agent /var/log/wacht-agent.out.log /var/log/wacht-agent.err.log
fi
echo "Removed the Wacht agent."
