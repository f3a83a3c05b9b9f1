#!/bin/bash
# demo.sh: install what is missing, build, and show securechat at work:
# a daemon on 127.0.0.1 with its built-in defaults and throwaway state,
# and clients connecting and showing their secure sessions.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=$SRC/_build
"$SRC/scripts/setup.sh" "$BUILD"
SCD=$BUILD/daemon/securechatd
SC=$BUILD/client/securechat

DEMO=$(mktemp -d /tmp/securechat-demo.XXXXXX)
chmod 755 "$DEMO"
DPID=
finish() {
	if [ -n "$DPID" ] && kill -0 "$DPID" 2>/dev/null; then
		kill -TERM "$DPID"
		for _ in $(seq 1 100); do
			kill -0 "$DPID" 2>/dev/null || break
			sleep 0.1
		done
	fi
	rm -rf "$DEMO"
}
trap finish EXIT

if [ "$(id -u)" -eq 0 ] && ! id _securechat >/dev/null 2>&1; then
	echo "==> creating the unprivileged account _securechat"
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin _securechat
fi

# Only the state is moved to a throwaway place; the rest is built in.
cat >"$DEMO/demo.conf" <<CONF
state_dir = "$DEMO/state";
runtime_dir = "$DEMO/run";
empty_dir = "$DEMO/empty";
tls = { certificate = "$DEMO/tls/server.crt"; private_key = "$DEMO/tls/server.key"; };
rekey = { min_seconds = 1; max_seconds = 3; };
CONF

echo
echo "==> starting securechatd on 127.0.0.1:7443 (log: below)"
"$SCD" -d -f "$DEMO/demo.conf" >"$DEMO/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do
	grep -q 'started (pid' "$DEMO/daemon.log" && break
	kill -0 "$DPID" 2>/dev/null || { cat "$DEMO/daemon.log"; exit 1; }
	sleep 0.1
done
sed 's/^/    /' "$DEMO/daemon.log"

# Two clients, each with its own data directory, both kept connected.
mkfifo "$DEMO/alice.in" "$DEMO/bob.in"
"$SC" --server 127.0.0.1 --user alice --home "$DEMO/alice" --batch \
    <"$DEMO/alice.in" >"$DEMO/alice.out" 2>&1 &
APID=$!
"$SC" --server 127.0.0.1 --user bob --home "$DEMO/bob" --batch \
    <"$DEMO/bob.in" >"$DEMO/bob.out" 2>&1 &
BPID=$!
exec 3>"$DEMO/alice.in" 4>"$DEMO/bob.in"
sleep 1

echo
echo "==> each client is served by its own sandboxed worker process:"
for p in $(pgrep -P "$DPID"); do
	role=$(tr '\0' ' ' <"/proc/$p/cmdline" | awk '{print $3}')
	st=/proc/$p/status
	printf '    pid %-7s %-7s user %-12s Seccomp %s  NoNewPrivs %s  root %s\n' \
	    "$p" "$role" "$(ps -o user= -p "$p")" \
	    "$(awk '/^Seccomp:/{print $2}' "$st")" \
	    "$(awk '/^NoNewPrivs:/{print $2}' "$st")" "$(readlink "/proc/$p/root")"
done

echo
echo "==> waiting 4 s so the workers rekey TLS (every 1-3 s in this demo)"
sleep 4
echo /status >&3
echo /status >&4
sleep 1
exec 3>&- 4>&-
wait "$APID" "$BPID" || true

for who in alice bob; do
	echo
	echo "==> $who's session (securechat --batch, /status):"
	sed 's/^/    /' "$DEMO/$who.out"
done

echo
echo "==> stopping the daemon (SIGTERM)"
kill -TERM "$DPID"
wait "$DPID" || true
DPID=
tail -n 3 "$DEMO/daemon.log" | sed 's/^/    /'
echo
echo "Demo done. Accounts, rooms and messages come with the next version;"
echo "run ./scripts/test.sh for the whole test suite."
