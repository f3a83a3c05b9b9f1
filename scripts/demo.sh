#!/bin/bash
# demo.sh: install what is missing, build, and show securechat at work:
# a daemon on 127.0.0.1 with its built-in defaults and throwaway state,
# and three users chatting: a room, a direct message, an offline delivery.
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# DEMO_BUILD runs the demo on binaries already built there (t-demo does);
# otherwise the demo builds _build first.
if [ -n "${DEMO_BUILD:-}" ]; then
	BUILD=$DEMO_BUILD
else
	BUILD=$SRC/_build
	"$SRC/scripts/setup.sh" "$BUILD"
fi
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
	# t-demo keeps the daemon's log to look for sanitizer reports.
	if [ -n "${DEMO_DAEMON_LOG:-}" ] && [ -f "$DEMO/daemon.log" ]; then
		cp "$DEMO/daemon.log" "$DEMO_DAEMON_LOG" || true
	fi
	rm -rf "$DEMO"
}
trap finish EXIT
# A signal ends the demo through exit, so that finish stops the daemon.
trap 'exit 143' TERM INT HUP

# The built-in default is 127.0.0.1:7443; DEMO_PORT moves the demo when
# another program holds that port.
PORT=${DEMO_PORT:-7443}
if (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; then
	echo "demo.sh: port $PORT on 127.0.0.1 is taken by another program" \
	    "('ss -ltnp sport = :$PORT' shows which)." >&2
	echo "demo.sh: stop it, or run the demo on another port:" \
	    "DEMO_PORT=17443 $0" >&2
	exit 1
fi

if [ "$(id -u)" -eq 0 ] && ! id _securechat >/dev/null 2>&1; then
	echo "==> creating the unprivileged account _securechat"
	useradd --system --no-create-home --home-dir /nonexistent \
	    --shell /usr/sbin/nologin _securechat
fi

# Only the state is moved to a throwaway place; the rest is built in.
# The daemon makes its key and certificate at first start, but only in a
# directory that exists: it takes a missing one for a typo in the path.
mkdir -m 700 "$DEMO/tls"
cat >"$DEMO/demo.conf" <<CONF
state_dir = "$DEMO/state";
runtime_dir = "$DEMO/run";
empty_dir = "$DEMO/empty";
tls = { certificate = "$DEMO/tls/server.crt"; private_key = "$DEMO/tls/server.key"; };
rekey = { min_seconds = 1; max_seconds = 3; };
CONF
if [ "$PORT" != 7443 ]; then
	echo "listen = ( { address = \"127.0.0.1\"; port = $PORT; } );" >>"$DEMO/demo.conf"
fi

echo
echo "==> starting securechatd on 127.0.0.1:$PORT (log: below)"
"$SCD" -d -f "$DEMO/demo.conf" >"$DEMO/daemon.log" 2>&1 &
DPID=$!
for _ in $(seq 1 100); do
	grep -q 'started (pid' "$DEMO/daemon.log" && break
	kill -0 "$DPID" 2>/dev/null || { cat "$DEMO/daemon.log"; exit 1; }
	sleep 0.1
done
sed 's/^/    /' "$DEMO/daemon.log"

CLIENT() { # NAME: a batch client with its own data directory
	"$SC" --server "127.0.0.1:$PORT" --user "$1" --home "$DEMO/$1" --batch
}

# carol joins #lobby and leaves: she will be offline while the others talk.
printf '/join #lobby\n' | CLIENT carol >"$DEMO/carol-1.out" 2>&1

# alice and bob stay connected, reading their lines from fifos.
mkfifo "$DEMO/alice.in" "$DEMO/bob.in"
CLIENT alice <"$DEMO/alice.in" >"$DEMO/alice.out" 2>&1 &
APID=$!
CLIENT bob <"$DEMO/bob.in" >"$DEMO/bob.out" 2>&1 &
BPID=$!
exec 3>"$DEMO/alice.in" 4>"$DEMO/bob.in"
say() { echo "$2" >&"$1"; sleep 0.3; }
say 3 "/join #lobby"
say 4 "/join #lobby"
say 3 "hello bob, carol is away but she will read this"
say 4 "hi alice! the server only relays what we type"
say 4 "/msg @alice psst: a direct message, only you see it"
say 3 "/who #lobby"

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
say 3 /status
exec 3>&- 4>&-
wait "$APID" "$BPID" || true

for who in alice bob; do
	echo
	echo "==> $who's session:"
	sed 's/^/    /' "$DEMO/$who.out"
done

echo
echo "==> carol comes back and gets what she missed (offline delivery):"
printf '/rooms\n' | CLIENT carol >"$DEMO/carol-2.out" 2>&1 || true
sed 's/^/    /' "$DEMO/carol-2.out"

# The demo fails, rather than ending as if all went well, when the chat
# did not happen or the database holds what was said.
ok=1
grep -q "hello bob" "$DEMO/bob.out" || ok=0
grep -q "psst: a direct message" "$DEMO/alice.out" || ok=0
grep -q "carol is away" "$DEMO/carol-2.out" || ok=0

# What the server stored: ciphertext only (end-to-end encryption).
echo
echo "==> what the server's database holds of the last three room messages:"
DB=$(ls "$DEMO"/state/*.db 2>/dev/null | head -n 1)
if [ -z "$DB" ]; then
	echo "    NO DATABASE in $DEMO/state" >&2
	ok=0
else
	if command -v sqlite3 >/dev/null; then
		sqlite3 "file:$DB?mode=ro" "SELECT '    seq ' || seq || ': ' ||
		    length(body) || ' bytes, ' || hex(substr(body, 1, 24)) || '...'
		    FROM room_log WHERE kind = 0 ORDER BY id DESC LIMIT 3" || true
	fi
	if grep -a -q "carol is away" "$DB" "$DB-wal" 2>/dev/null; then
		echo "    PLAINTEXT FOUND: this must never happen" >&2
		ok=0
	else
		echo "    (no plaintext of the conversation in the database or its WAL)"
	fi
fi

echo
echo "==> stopping the daemon (SIGTERM)"
kill -TERM "$DPID"
wait "$DPID" || true
DPID=
tail -n 3 "$DEMO/daemon.log" | sed 's/^/    /'
echo
if [ "$ok" -ne 1 ]; then
	echo "==> the daemon's log:" >&2
	sed 's/^/    /' "$DEMO/daemon.log" >&2
	echo "demo.sh: failed: a message did not arrive, or the database" \
	    "holds plaintext (see above)." >&2
	exit 1
fi
echo "Demo done. Run ./scripts/test.sh for the whole test suite."
