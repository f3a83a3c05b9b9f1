# fake.sh: tests/integration/scfake.c, a scripted server, for the tests
# that need a server to send what they choose.  Sourced after lib.sh; it
# makes a throwaway certificate and stops the fake server at exit.

FAKE=$top_builddir/tests/integration/scfake
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -subj /CN=localhost -days 2 -keyout "$TMP/fake.key" -out "$TMP/fake.crt" \
    >/dev/null 2>&1 || fail "cannot make a certificate"

# fake_start SCRIPT: the fake server on a free port (PORT), in the background.
fake_start() {
	PORT=$(free_port)
	printf '%s\n' "$1" >"$TMP/script"
	"$FAKE" -p "$PORT" -c "$TMP/fake.crt" -k "$TMP/fake.key" "$TMP/script" \
	    >"$TMP/fake.out" 2>"$TMP/fake.err" &
	FPID=$!
	wait_for 10 grep -q listening "$TMP/fake.out" || fail "scfake did not start: $(cat "$TMP/fake.err")"
}
fake_stop() {
	kill "$FPID" 2>/dev/null || true
	wait "$FPID" 2>/dev/null || true
}
trap 'fake_stop; cleanup' EXIT
