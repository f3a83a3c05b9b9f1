#!/bin/bash
# t-accounts.sh: registration on first use, login after; a wrong key, a
# closed registration, invites (required, unknown, used) each get their own
# clear error and a non-zero exit; failed logins are slowed and counted.
. "$(dirname "$0")/lib.sh"
ensure_user
CTL=$top_builddir/daemon/securechatctl
write_config 'registration = "invite";'
start_daemon

# The identity file is created 0600 and refused when others can read it.
rc=0; client_once noinv "$TMP/h-alice" --user alice || rc=$?
[ "$rc" -ne 0 ] || fail "registration without an invite succeeded"
client_has_jq noinv '.code=="INVITE_REQUIRED"' || fail "no INVITE_REQUIRED: $(cat "$TMP/noinv.out")"
rc=0; client_once badinv "$TMP/h-alice" --user alice --invite 0123456789abcdef0123 || rc=$?
[ "$rc" -ne 0 ] || fail "a made-up invite was accepted"
client_has_jq badinv '.code=="INVITE_INVALID"' || fail "no INVITE_INVALID"
pass "invite mode: INVITE_REQUIRED, INVITE_INVALID"

code=$("$CTL" -s "$TMP/run/securechat.sock" invite) || fail "securechatctl invite"
echo "$code" | grep -q -E '^[0-9a-f]{20}$' || fail "invite code: $code"
client_once inv "$TMP/h-alice" --user alice --invite "$code" || fail "registration with an invite failed"
client_has_jq inv '.event=="logged_in" and .registered==true' || fail "not registered"
rc=0; client_once reuse "$TMP/h-bob" --user bob --invite "$code" || rc=$?
[ "$rc" -ne 0 ] || fail "a used invite was accepted"
client_has_jq reuse '.code=="INVITE_USED"' || fail "no INVITE_USED"
pass "an invite from securechatctl registers once; a used one is refused"

[ "$(stat -c %a "$TMP/h-alice/alice.key")" = 600 ] || fail "key file is not 0600"
chmod 644 "$TMP/h-alice/alice.key"
rc=0; client_once perm "$TMP/h-alice" --user alice || rc=$?
[ "$rc" -ne 0 ] || fail "a world-readable key was used"
grep -q "chmod 600" "$TMP/perm.err" || fail "no fix given: $(cat "$TMP/perm.err")"
chmod 600 "$TMP/h-alice/alice.key"
client_once again "$TMP/h-alice" --user alice || fail "second login failed"
client_has_jq again '.event=="logged_in" and .registered==false' || fail "second connection did not log in"
pass "key file 0600 enforced; the second connection logs in"

# A passphrase-protected key: sealed on disk, opened only with the passphrase.
code=$("$CTL" -s "$TMP/run/securechat.sock" invite) || fail "securechatctl invite"
printf 'correct horse\n' >"$TMP/pass"; chmod 600 "$TMP/pass"
printf 'wrong horse\n' >"$TMP/badpass"; chmod 600 "$TMP/badpass"
client_once pp1 "$TMP/h-dora" --user dora --invite "$code" --passphrase-file "$TMP/pass" ||
    fail "registration with a passphrase-protected key failed: $(cat "$TMP/pp1.err")"
head -1 "$TMP/h-dora/dora.key" | grep -q '^securechat-identity v1 scrypt' || fail "key not sealed"
grep -q -i '^sign ' "$TMP/h-dora/dora.key" && fail "private key in the clear"
client_once pp2 "$TMP/h-dora" --user dora --passphrase-file "$TMP/pass" || fail "login with the passphrase failed"
rc=0; client_once pp3 "$TMP/h-dora" --user dora --passphrase-file "$TMP/badpass" || rc=$?
[ "$rc" -ne 0 ] || fail "a wrong passphrase opened the key"
grep -q "wrong passphrase" "$TMP/pp3.err" || fail "wrong passphrase message: $(cat "$TMP/pp3.err")"
rc=0; client_once pp4 "$TMP/h-dora" --user dora || rc=$?
[ "$rc" -ne 0 ] || fail "a sealed key was used without its passphrase"
pass "passphrase-protected key: sealed, opened with the passphrase only"

# Someone else's key for alice: BAD_SIGNATURE, slowed down, counted.
start=$(date +%s%N)
for i in 1 2 3; do
	rc=0; client_once wrong$i "$TMP/h-mallory" --user alice || rc=$?
	[ "$rc" -ne 0 ] || fail "a wrong key logged in"
	client_has_jq wrong$i '.code=="BAD_SIGNATURE"' || fail "no BAD_SIGNATURE: $(cat "$TMP/wrong$i.out")"
done
elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
[ "$elapsed" -ge 1700 ] || fail "three failed logins took only $elapsed ms: not slowed"
log_has "failed login for 'alice' from 127.0.0.1: BAD_SIGNATURE (3 failures from this address)" ||
    fail "failures not counted per address"
pass "wrong key refused, slowed ($elapsed ms for 3) and counted"

"$CTL" -s "$TMP/run/securechat.sock" stats | grep -q '^failed_logins 3$' || fail "stats: failed_logins"
rc=0; "$CTL" -s "$TMP/run/securechat.sock" bogus >/dev/null 2>&1 || rc=$?
[ "$rc" -ne 0 ] || fail "securechatctl accepted an unknown command"
pass "securechatctl stats counts the failures"

# Closed registration: existing users log in, new ones are refused.
sed -i 's/registration = "invite"/registration = "closed"/' "$TMP/sc.conf"
kill -HUP "$DPID"
wait_for 5 log_has "settings updated" || fail "broker did not get the reload"
rc=0; client_once closed "$TMP/h-carol" --user carol || rc=$?
[ "$rc" -ne 0 ] || fail "registration while closed"
client_has_jq closed '.code=="REGISTRATION_CLOSED"' || fail "no REGISTRATION_CLOSED"
client_once stillok "$TMP/h-alice" --user alice || fail "alice cannot log in while registration is closed"
pass "closed registration refuses new users only"
stop_daemon
