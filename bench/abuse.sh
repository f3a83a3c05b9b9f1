#!/bin/bash
# abuse.sh: what one hostile user costs everyone else.  Starts a private
# securechatd with default limits (except those that would stop the set-up
# itself: rooms per user, room creations, and a request burst that the
# joins use up; and the master's accept rates, which would count everyone
# on 127.0.0.1 as one network), then, with schostile:
#
#   amplify  one user joins ROOMS rooms (default 3000) and sends 10,000
#            ROOMS requests it never reads; the broker's memory (VmRSS,
#            peak of samples every 0.2 s) and another user's login time
#            (10 logins, each until CAUGHT_UP) are measured meanwhile.
#   rooms    one user in BIG rooms (default 12,000): its own login time,
#            then another user's login time while four loops log the big
#            user in and out.
#
# usage: bench/abuse.sh [-B builddir] [-k] [-r ROOMS] [-b BIG] [amplify|rooms ...]
# Needs root (the daemon drops to the user _securechat).  Prints one
# key=value line per scenario.  Every wait is bounded.

set -eu

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=bench/lib.sh
. "$here/lib.sh"
if [ -x ./daemon/securechatd ] && [ -x ./tests/integration/schostile ]; then
	BUILD=$(pwd)
else
	BUILD=$(cd "$here/.." && pwd)
fi
keep=0
ROOMS=3000
BIG=12000
while getopts B:kr:b: opt; do
	case $opt in
	B) BUILD=$(cd "$OPTARG" && pwd) ;;
	k) keep=1 ;;
	r) ROOMS=$OPTARG ;;
	b) BIG=$OPTARG ;;
	*) echo "usage: $0 [-B builddir] [-k] [-r rooms] [-b big] [amplify|rooms ...]" >&2
	   exit 2 ;;
	esac
done
shift $((OPTIND - 1))
SCENARIOS=${*:-amplify rooms}

SCD=$BUILD/daemon/securechatd
HOSTILE=$BUILD/tests/integration/schostile
[ -x "$SCD" ] || { echo "abuse.sh: no $SCD: build first" >&2; exit 1; }
[ -x "$HOSTILE" ] || { echo "abuse.sh: no $HOSTILE: make check TESTS=" >&2; exit 1; }
command -v jq >/dev/null || { echo "abuse.sh: needs jq" >&2; exit 1; }
bench_root_setup || exit 1

TMP=
SRVPID=
BGPIDS=
# The daemon of bench_server_start: default limits, but those set_up_limits
# raises; warnings only, as a flood of refusals is what is measured.
BENCH_SC_LOG=warn
BENCH_SC_LIMITS=

broker_pid() {
	local p
	for p in $(pgrep -P "$SRVPID"); do
		if { tr '\0' ' ' <"/proc/$p/cmdline"; } 2>/dev/null | grep -q -- '-x broker'; then
			echo "$p"
		fi
	done
}

rss() {
	awk '/^VmRSS:/ { print $2 }' "/proc/$(broker_pid)/status" 2>/dev/null || echo 0
}

stop_all() {
	local p
	for p in $BGPIDS; do
		kill -TERM "$p" 2>/dev/null || true
		wait "$p" 2>/dev/null || true
	done
	BGPIDS=
	bench_stop "$SRVPID" securechatd
	SRVPID=
}

cleanup() {
	stop_all
	bench_cleanup
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# known SETTINGS: SETTINGS if this daemon knows every key in them (an older
# build refuses keys it does not know, and then needs nothing raised).
known() {
	local conf ok=1
	conf=$(mktemp /tmp/sc-abuse-conf.XXXXXX)
	echo "limits = { $1 };" >"$conf"
	"$SCD" -n -f "$conf" >/dev/null 2>&1 || ok=0
	rm -f "$conf"
	[ "$ok" -eq 0 ] || echo "$1"
}

# The set-up needs many rooms from one address; the joins use up the
# request burst, so that the attack then meets the default rate.  The
# master's limits on connections per address are not what is measured:
# the attacker and the others all come from 127.0.0.1 here, where they
# would come from different networks.
set_up_limits() {
	local big=$1
	known "max_rooms_per_user = $big; room_creates_per_hour = $big;
  request_burst = $big;"
	known "accept_rate = 100000;
  accept_burst = 1000000; accept_rate_per_prefix = 100000;
  accept_burst_per_prefix = 1000000;"
}

broker_up() {
	[ -n "$(broker_pid)" ]
}

start() {
	BENCH_SC_LIMITS=$(set_up_limits "$1")
	bench_server_start securechatd 100 || return 1
	bench_wait_for 10 broker_up
}

# login_times USER N: N logins of USER in a row; "median max" in ms.
login_times() {
	"$HOSTILE" -t 600 -u "$1" 127.0.0.1 "$PORT" relogin "$2" |
	    jq -r '"\(.median_ms) \(.max_ms)"'
}

amplify() {
	local before peak r i med max out
	start "$ROOMS"
	"$HOSTILE" -t 600 -u other 127.0.0.1 "$PORT" login >/dev/null
	read -r med max < <(login_times other 10)
	echo "idle: other's login median ${med} ms, max ${max} ms" >&2
	out=$("$HOSTILE" -t 600 -u attacker 127.0.0.1 "$PORT" join "$ROOMS" a)
	echo "join: $out" >&2
	sleep 2
	before=$(rss)
	"$HOSTILE" -t 600 -u attacker 127.0.0.1 "$PORT" amplify rooms 10000 40 \
	    >"$TMP/amplify.json" 2>"$TMP/amplify.err" &
	BGPIDS="$!"
	peak=$before
	# Another user logs in 10 times, 2 s into the flood; the broker's
	# memory is sampled until the attacker lets go (40 s of holding).
	(sleep 2; login_times other 10 >"$TMP/other") &
	BGPIDS="$BGPIDS $!"
	for i in $(seq 1 600); do
		r=$(rss)
		[ "$r" -gt "$peak" ] && peak=$r
		kill -0 "${BGPIDS%% *}" 2>/dev/null || break
		sleep 0.2
	done
	for i in $BGPIDS; do wait "$i" || true; done
	BGPIDS=
	read -r med max <"$TMP/other" || { med=failed; max=failed; }
	echo "amplify rooms=$ROOMS requests=10000 rss_before_kib=$before" \
	    "rss_peak_kib=$peak growth_kib=$((peak - before))" \
	    "other_login_median_ms=$med other_login_max_ms=$max" \
	    "attacker=$(jq -c . "$TMP/amplify.json" 2>/dev/null || echo none)" \
	    "broker_alive=$([ -n "$(broker_pid)" ] && echo yes || echo no)"
	stop_all
	cleanup
}

rooms() {
	local out med max own_med own_max i
	start "$BIG"
	"$HOSTILE" -t 600 -u other 127.0.0.1 "$PORT" login >/dev/null
	out=$("$HOSTILE" -t 1200 -u big 127.0.0.1 "$PORT" join "$BIG" r)
	echo "join: $out" >&2
	read -r own_med own_max < <(login_times big 5)
	for i in 1 2 3 4; do
		"$HOSTILE" -t 600 -u big 127.0.0.1 "$PORT" relogin 1000 \
		    >/dev/null 2>&1 &
		BGPIDS="$BGPIDS $!"
	done
	sleep 3
	read -r med max < <(login_times other 10)
	echo "rooms big_rooms=$BIG big_login_median_ms=$own_med" \
	    "big_login_max_ms=$own_max other_login_median_ms=$med" \
	    "other_login_max_ms=$max (with 4 login loops of big)"
	stop_all
	cleanup
}

for s in $SCENARIOS; do
	case $s in
	amplify) amplify ;;
	rooms) rooms ;;
	*) echo "abuse.sh: unknown scenario $s" >&2; exit 2 ;;
	esac
done
