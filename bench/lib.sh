# lib.sh: what the bench scripts share: bounded waits, a free port on
# 127.0.0.1, the configurations of a private securechatd, ngIRCd and
# InspIRCd, starting one, its process tree, stopping it.  Sourced by
# run.sh, compare.sh, profile.sh and abuse.sh; the caller sets BUILD (the
# build tree) before bench_tools.
# shellcheck shell=bash

SC_USER=${SC_USER:-_securechat}	# the user securechatd drops to

# bench_wait_for SECONDS COMMAND...: retry every 0.1 s until it succeeds.
bench_wait_for() {
	local limit=$(($1 * 10)) i=0
	shift
	while [ "$i" -lt "$limit" ]; do
		if "$@" >/dev/null 2>&1; then
			return 0
		fi
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

# bench_build_default HERE: the build tree to use when -B is not given:
# the current directory if it holds one, else the tree HERE (bench/) is in.
bench_build_default() {
	if [ -x ./daemon/securechatd ] && [ -x ./bench/scload ]; then
		pwd
	else
		(cd "$1/.." && pwd)
	fi
}

# bench_wait_exit PID SECONDS: wait (bounded) for PID to exit; 1 if it
# still runs.
bench_wait_exit() {
	local i
	for i in $(seq 1 $(($2 * 10))); do
		kill -0 "$1" 2>/dev/null || return 0
		sleep 0.1
	done
	! kill -0 "$1" 2>/dev/null
}

# bench_port_open PORT: something listens on 127.0.0.1:PORT.
bench_port_open() {
	(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# A port nothing listens on, chosen now, below the ephemeral range (so no
# outgoing connection holds it: binding it would fail).  Bounded: 100 tries.
bench_free_port() {
	local i p lo=32768
	read -r lo _ </proc/sys/net/ipv4/ip_local_port_range || true
	[ "$lo" -gt 11024 ] || lo=32768
	for i in $(seq 1 100); do
		p=$((10000 + RANDOM % (lo - 11000)))
		if ! bench_port_open "$p"; then
			echo "$p"
			return 0
		fi
	done
	echo "bench: no free port" >&2
	return 1
}

# bench_tools: check the build tree has the daemon and the bench tools.
bench_tools() {
	SCD=$BUILD/daemon/securechatd
	SCLOAD=$BUILD/bench/scload
	TREESTAT=$BUILD/bench/treestat
	local f
	for f in "$SCD" "$SCLOAD" "$TREESTAT"; do
		if [ ! -x "$f" ]; then
			echo "bench: no $f: build first (make)" >&2
			return 1
		fi
	done
}

# bench_root_setup: root, the daemon's user, and descriptors for N
# clients on both sides (the daemon forks one worker per client).
bench_root_setup() {
	if [ "$(id -u)" -ne 0 ]; then
		echo "bench: needs root (the daemon drops privileges)" >&2
		return 1
	fi
	if ! id "$SC_USER" >/dev/null 2>&1; then
		useradd --system --no-create-home --home-dir /nonexistent \
		    --shell /usr/sbin/nologin "$SC_USER" || return 1
	fi
	ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
	ulimit -u unlimited 2>/dev/null || true
}

# bench_sc_conf DIR PORT CLIENTS [CERT KEY]: a securechatd configuration in
# DIR for at least CLIENTS clients from 127.0.0.1, rate limits, quotas and
# caps out of the way (the benchmark measures the daemon, not its
# limiter).  Without CERT and KEY, the daemon generates its own (Ed25519)
# in DIR/tls.  BENCH_SC_LIMITS, if set, replaces those limits (abuse.sh
# measures the limiter: the defaults, but what it sets), BENCH_SC_LOG the
# log level (info).
bench_sc_conf() {
	local dir=$1 port=$2 max=$(($3 + 100)) crt=${4:-$1/tls/server.crt}
	local key=${5:-$1/tls/server.key} limits
	[ "$max" -ge 2000 ] || max=2000
	mkdir -p "$dir/tls" || return 1
	limits=${BENCH_SC_LIMITS-"
  max_clients = $max;
  max_clients_per_ip = $max;
  max_clients_per_prefix = $max;
  # Every load client comes from 127.0.0.1: no accept-rate limit.
  accept_rate = 100000;
  accept_burst = 1000000;
  accept_rate_per_prefix = 100000;
  accept_burst_per_prefix = 1000000;
  login_timeout = 600;
  handshake_timeout = 30;
  message_rate = 100000;
  message_burst = 1000000;
  # Nor accounts and rooms per address, requests, bytes or caps.
  request_rate = 100000;
  request_burst = 1000000;
  storage_mib_per_day = 1048576;
  storage_burst_mib = 65536;
  registrations_per_hour = 1000000;
  room_creates_per_hour = 1000000;
  max_members_per_room = 1000000;
"}
	cat >"$dir/sc.conf" <<EOF
listen = ( { address = "127.0.0.1"; port = $port; } );
user = "$SC_USER";
state_dir = "$dir/state";
runtime_dir = "$dir/run";
empty_dir = "$dir/empty";
tls = {
  certificate = "$crt";
  private_key = "$key";
};
log = { level = "${BENCH_SC_LOG:-info}"; };
limits = { $limits };
EOF
}

# bench_certs DIR: one throwaway certificate for the IRC servers, of the
# key type securechatd generates for itself (Ed25519), and DH parameters
# for GnuTLS (an RFC 7919 group: nothing to generate).
bench_certs() {
	chmod 755 "$1" &&
	openssl req -x509 -newkey ed25519 -nodes -days 2 \
	    -subj /CN=localhost -keyout "$1/key.pem" -out "$1/cert.pem" \
	    2>/dev/null &&
	openssl genpkey -genparam -algorithm DH -pkeyopt group:ffdhe2048 \
	    -out "$1/dh.pem" 2>/dev/null &&
	chmod 644 "$1/cert.pem" "$1/key.pem" "$1/dh.pem"
}

# ngIRCd: no DNS, ident or PAM; no connection or penalty limits
# (MaxPenaltyTime 0 turns command throttling off); its per-client send
# queue (32 KiB) is compiled in and cannot be opened.
bench_conf_ngircd() {
	local dir=$1 port=$2
	cat >"$dir/ngircd.conf" <<EOF
[Global]
	Name = irc.bench.local
	Info = securechat bench
	AdminInfo1 = bench
	AdminInfo2 = bench
	AdminEMail = bench@localhost
	Listen = 127.0.0.1
	Ports =
	MotdPhrase = bench
	ServerUID = nobody
[Limits]
	MaxConnections = 0
	MaxConnectionsIP = 0
	MaxJoins = 0
	MaxNickLength = 16
	MaxPenaltyTime = 0
	PingTimeout = 600
	PongTimeout = 600
[Options]
	DNS = no
	Ident = no
	PAM = no
[SSL]
	CertFile = $CERTDIR/cert.pem
	KeyFile = $CERTDIR/key.pem
	DHFile = $CERTDIR/dh.pem
	Ports = $port
EOF
}

# InspIRCd: flood limits opened in the connect class (no fakelag, command
# rate and threshold out of reach, 1 MiB queues), no DNS or ident.
bench_conf_inspircd() {
	local dir=$1 port=$2 n=$3 soft=$(($3 + 256))
	cat >"$dir/inspircd.conf" <<EOF
<server name="irc.bench.local" description="securechat bench" network="bench">
<admin name="bench" nick="bench" email="bench@localhost">
<module name="ssl_gnutls">
<sslprofile name="bench" provider="gnutls" certfile="$CERTDIR/cert.pem" keyfile="$CERTDIR/key.pem" dhfile="$CERTDIR/dh.pem" hash="sha256" requestclientcert="no">
<bind address="127.0.0.1" port="$port" type="clients" sslprofile="bench">
<connect allow="*" timeout="60" threshold="1000000000" commandrate="1000000000" fakelag="no" pingfreq="600" hardsendq="1048576" softsendq="1048576" recvq="1048576" localmax="100000" globalmax="100000" limit="100000" maxchans="20" resolvehostnames="no" useident="no">
<channels users="20" opers="60">
<dns timeout="1">
<pid file="$dir/inspircd.pid">
<log method="file" type="* -USERINPUT -USEROUTPUT" level="default" target="$dir/inspircd.log">
<performance softlimit="$soft" somaxconn="4096" clonesonconnect="no" quietbursts="yes">
<security hideserver="" userstats="Pu" maxtargets="20">
<options prefixquit="Quit: " syntaxhints="no">
<whowas groupsize="10" maxgroups="100" maxkeep="1h">
<limits maxnick="30" maxchan="64" maxmodes="20" maxident="10" maxhost="64" maxquit="255" maxtopic="307" maxkick="255" maxreal="128" maxgecos="128" maxaway="200">
<files motd="$dir/motd">
EOF
	echo bench >"$dir/motd"
}

# bench_server_start NAME N: a fresh server (securechatd, ngircd or
# inspircd) for up to N clients; sets TMP, PORT, SRVNAME and SRVPID, uses
# CERTDIR (bench_certs) for the IRC servers and BENCH_WRAP, if set, as a
# command to start the server under (a profiler).  A port taken meanwhile is tried again (three ports at most).
bench_server_start() {
	local name=$1 n=$2 try
	TMP=$(mktemp -d "/tmp/sc-bench-$name.XXXXXX")
	chmod 755 "$TMP"
	SRVNAME=$name
	for try in 1 2 3; do
		PORT=$(bench_free_port)
		bench_server_exec "$name" "$n"
		SRVPID=$!
		if bench_wait_for 30 bench_port_open "$PORT" &&
		    kill -0 "$SRVPID" 2>/dev/null; then
			sleep 1		# let it settle
			return 0
		fi
		tail -n 20 "$TMP/server.log" >&2
		echo "bench: $name did not listen on $PORT (try $try)" >&2
		bench_stop "$SRVPID" "$name"
		SRVPID=
	done
	return 1
}

# bench_server_exec NAME N: configure and start it in the background.
bench_server_exec() {
	case $1 in
	securechatd)
		rm -rf "$TMP/state" "$TMP/run"
		bench_sc_conf "$TMP" "$PORT" "$2"
		${BENCH_WRAP:+$BENCH_WRAP} "$SCD" -d -f "$TMP/sc.conf" \
		    >>"$TMP/server.log" 2>&1 &
		;;
	ngircd)
		bench_conf_ngircd "$TMP" "$PORT"
		${BENCH_WRAP:+$BENCH_WRAP} ngircd -n -f "$TMP/ngircd.conf" \
		    >>"$TMP/server.log" 2>&1 &
		;;
	inspircd)
		bench_conf_inspircd "$TMP" "$PORT" "$2"
		# It may dump core on SIGTERM; no core files in the tree.
		(ulimit -c 0; exec ${BENCH_WRAP:+$BENCH_WRAP} inspircd \
		    --nofork --runasroot --config="$TMP/inspircd.conf") \
		    >>"$TMP/server.log" 2>&1 &
		;;
	esac
}

# bench_tree ROOT [-a]: ROOT and every process below it, from one ps
# snapshot (for signals; measurements use treestat, which reads /proc
# directly).  With -a each pid is followed by its command line.
bench_tree() {
	ps -e -o pid=,ppid=,args= | awk -v root="$1" -v args="${2:-}" '
	    {
		parent[$1] = $2
		pids[NR] = $1
		cmd[$1] = $0
		sub(/^ *[0-9]+ +[0-9]+ */, "", cmd[$1])
	    }
	    END {
		for (i = 1; i <= NR; i++) {
			p = pids[i]
			for (d = 0; d < 64 && p != "" && p != 0 && p != 1; d++) {
				if (p == root) {
					if (args == "-a")
						print pids[i], cmd[pids[i]]
					else
						print pids[i]
					break
				}
				p = parent[p]
			}
		}
	    }'
}

# bench_stop PID NAME: SIGTERM, at most 30 s, then SIGKILL to the tree.
bench_stop() {
	local pid=$1 name=$2
	[ -n "$pid" ] || return 0
	# A server that dies of a signal (InspIRCd may, of SIGTERM) would be
	# reported by the shell's job control: it is no job of ours now.
	disown "$pid" 2>/dev/null || true
	kill -TERM "$pid" 2>/dev/null || true
	if ! bench_wait_exit "$pid" 30; then
		echo "bench: $name did not stop within 30 s of SIGTERM" >&2
		# shellcheck disable=SC2046 # one word per pid
		kill -KILL $(bench_tree "$pid") 2>/dev/null || true
	fi
	{ wait "$pid"; } 2>/dev/null || true
}

# bench_cleanup: on exit, stop the load (SPID) and the server (SRVPID,
# SRVNAME), remove its directory (TMP) unless keep is 1.
bench_cleanup() {
	if [ -n "${SPID:-}" ]; then
		kill -TERM "$SPID" 2>/dev/null || true
		wait "$SPID" 2>/dev/null || true
		SPID=
	fi
	bench_stop "${SRVPID:-}" "${SRVNAME:-server}"
	SRVPID=
	if [ -n "${TMP:-}" ] && [ "${keep:-0}" -eq 0 ]; then
		rm -rf "$TMP"
	fi
	TMP=
}

# bench_loadavg: the 1, 5 and 15 minute load averages.
bench_loadavg() {
	cut -d ' ' -f 1-3 /proc/loadavg
}
