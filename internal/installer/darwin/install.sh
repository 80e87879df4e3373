#!/bin/sh
# Installs the Wacht agent on macOS from this folder (the unpacked
# wacht-agent-<version>-darwin-<arch>.tar.gz), or upgrades it in place:
#
#   sudo WACHT_TOKEN=wacht1_… ./install.sh
#
# The token comes from $WACHT_TOKEN or the file /etc/wacht-agent/token (an
# MDM can drop that file first; it is deleted after a successful
# enrollment). A machine that is enrolled already keeps its enrollment and
# needs no token. The agent goes to /usr/local/bin, its launchd job to
# /Library/LaunchDaemons/wacht-agent.plist (the same job that
# `wacht-agent install` writes), its data to /Library/Application Support/Wacht.
# A failed enrollment stops the script with the agent's reason and exit
# status 1, before the job is loaded.
set -eu
ARCH=@ARCH@
BIN=/usr/local/bin/wacht-agent
TRAY=/usr/local/bin/wacht-tray
DATA="/Library/Application Support/Wacht"
PLIST=/Library/LaunchDaemons/wacht-agent.plist
TOKEN_FILE=/etc/wacht-agent/token
here=$(cd "$(dirname "$0")" && pwd)

fail() {
	echo "install.sh: $*" >&2
	exit 1
}

[ "$(uname -s)" = Darwin ] || fail "this installer is for macOS; on Linux install the .deb or .rpm package"
[ "$(id -u)" = 0 ] || fail "run it as root: sudo $0"
case "$(uname -m)" in
x86_64) machine=amd64 ;;
arm64) machine=arm64 ;;
*) machine=$(uname -m) ;;
esac
[ "$machine" = "$ARCH" ] || fail "this package is for $ARCH Macs, this Mac is $machine: take wacht-agent-…-darwin-$machine.tar.gz"

enrolled=
[ -f "$DATA/agent.json" ] && enrolled=1
token=${WACHT_TOKEN:-}
from_file=
if [ -z "$token" ] && [ -f "$TOKEN_FILE" ]; then
	token=$(tr -d ' \t\r\n' <"$TOKEN_FILE")
	from_file=1
fi
[ -n "$enrolled" ] || [ -n "$token" ] || fail "no enrollment token: set WACHT_TOKEN or write it to $TOKEN_FILE"

# An upgrade: stop the running agent before replacing it.
if [ -f "$PLIST" ]; then
	launchctl unload "$PLIST" 2>/dev/null || true
fi
mkdir -p /usr/local/bin
cp "$here/wacht-agent" "$BIN.new"
chmod 755 "$BIN.new"
mv -f "$BIN.new" "$BIN"
if [ -f "$here/wacht-tray" ]; then
	cp "$here/wacht-tray" "$TRAY.new"
	chmod 755 "$TRAY.new"
	mv -f "$TRAY.new" "$TRAY"
fi
mkdir -p "$DATA"
chmod 700 "$DATA"

if [ -n "$enrolled" ]; then
	echo "This Mac is enrolled already; keeping its enrollment."
else
	"$BIN" enroll --data "$DATA" --token "$token" || fail "ENROLLMENT FAILED (the reason is above); the agent is copied but not started. Run this script again with a new token."
	if [ -n "$from_file" ]; then
		rm -f "$TOKEN_FILE"
	fi
fi

cp "$here/wacht-agent.plist" "$PLIST"
chown root:wheel "$PLIST"
chmod 644 "$PLIST"
launchctl load -w "$PLIST"
echo "Installed and started the wacht-agent launchd job ($PLIST)."
