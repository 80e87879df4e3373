#!/bin/sh
# wacht-agent package: before removing (deb: prerm remove; rpm: %preun
# with 0 = erase). On an upgrade (deb: upgrade; rpm: 1) the service keeps
# running: the new package's postinstall restarts it.
case "$1" in
remove | 0)
	if [ -d /run/systemd/system ]; then
		systemctl disable --now wacht-agent.service || true
	fi
	;;
esac
exit 0
