#!/bin/bash
# t-keyproc.sh: no worker holds the TLS private key.  For each key type a
# server may have (Ed25519 as tls.generate makes it, ECDSA P-256 and RSA
# 2048 as made by openssl, Ed448 and RSA-PSS), handshakes complete with
# the signature made by the key process; the key's secret bytes are found
# in the key process's memory (so the search works) and in no worker's.
. "$(dirname "$0")/lib.sh"
need_root
ensure_user
MEMSCAN=$top_builddir/tests/integration/memscan

# key_hex LABEL KEYFILE: the hex digits printed after LABEL by openssl
# pkey -text, up to the next label, without a leading sign byte.
key_hex() {
	openssl pkey -in "$2" -noout -text 2>/dev/null | awk -v label="$1" '
	    $0 ~ "^" label ":" { on = 1; next }
	    on && /^[^ ]/ { exit }
	    on { gsub(/[ :]/, ""); printf "%s", $0 }' | sed 's/^00//'
}

# The same bytes in reverse order: how a BIGNUM holds them on x86_64.
reverse_hex() {
	echo "$1" | fold -w2 | tac | tr -d '\n'
}

# The strings that must not be in a worker: secret bytes both ways round,
# and the first line of the key file's base64.
secrets() {
	local label h
	for label in priv privateExponent prime1; do
		h=$(key_hex "$label" "$1")
		[ -n "$h" ] || continue
		echo "$h"
		reverse_hex "$h"
		echo
	done
	sed -n 2p "$1" | tr -d '\n' | od -An -tx1 | tr -d ' \n'
	echo
}

one_type() { # NAME [openssl req -newkey ARGS...]
	local name=$1 w kp rc
	shift
	rm -rf "$TMP/tls" "$TMP/state" "$TMP/home-$name"
	mkdir -p "$TMP/tls"
	if [ $# -gt 0 ]; then
		openssl req -x509 -nodes -days 2 -subj "/CN=localhost" \
		    -keyout "$TMP/tls/server.key" -out "$TMP/tls/server.crt" \
		    "$@" >/dev/null 2>&1 || fail "$name: openssl req $*"
		chmod 600 "$TMP/tls/server.key"
	fi
	start_daemon
	client_start "$name"
	client_wait "$name" '"event":"connected"' 30
	wait_for 10 log_has "signed its CertificateVerify" ||
	    fail "$name: the key process did not sign the handshake"
	openssl pkey -in "$TMP/tls/server.key" -noout -text 2>/dev/null |
	    head -n 1 | grep -q . || fail "$name: key unreadable"
	pass "$name: handshake signed by the key process"

	wait_for 5 workers_are 1 || fail "$name: expected 1 worker"
	w=$(worker_pids)
	kp=$(keyproc_pid)
	[ -n "$kp" ] || fail "$name: no key process"
	if grep -aq AddressSanitizer "$SCD"; then
		# Terabytes of shadow mappings: the normal build does the search.
		echo "sanitizer build: no memory search (the normal build does it)"
		client_end "$name" || fail "$name: client exit status $?"
		stop_daemon
		return 0
	fi
	# shellcheck disable=SC2046 # one pattern per word
	set -- $(secrets "$TMP/tls/server.key")
	[ $# -ge 2 ] || fail "$name: could not extract the key's secret bytes"
	rc=0
	"$MEMSCAN" "$kp" "$@" >"$TMP/scan-kp" || rc=$?
	[ "$rc" -eq 1 ] || fail "$name: the key is not found in the key" \
	    "process (memscan exit $rc): the search does not work"
	rc=0
	"$MEMSCAN" "$w" "$@" >"$TMP/scan-w" || rc=$?
	[ "$rc" -eq 0 ] || fail "$name: worker $w holds the key" \
	    "(memscan exit $rc: $(cat "$TMP/scan-w"))"
	pass "$name: key bytes in the key process, none in worker $w"

	client_end "$name" || fail "$name: client exit status $?"
	stop_daemon
}

write_config
one_type ed25519
one_type ecdsa_p256 -newkey ec -pkeyopt ec_paramgen_curve:P-256
one_type rsa_2048 -newkey rsa:2048
one_type ed448 -newkey ed448
one_type rsa_pss -newkey rsa-pss -pkeyopt rsa_keygen_bits:2048
