#!/bin/sh
# wacht-agent package: after removing. deb: `remove` keeps the enrollment
# (/var/lib/wacht-agent) and /etc/wacht-agent, `purge` deletes them. rpm
# has no purge: erasing the package (%postun with 0) deletes them too.
case "$1" in
purge | 0)
	rm -rf /var/lib/wacht-agent /etc/wacht-agent
	;;
esac
case "$1" in
remove | purge | 0)
	# The agent's self-update keeps the previous build beside the binary
	# (docs/agent-update.md); the package manager does not know these.
	rm -f /usr/bin/wacht-agent.prev /usr/bin/wacht-agent.new /usr/bin/wacht-agent.rb
	if [ -d /run/systemd/system ]; then
		systemctl daemon-reload || true
	fi
	;;
esac
exit 0
