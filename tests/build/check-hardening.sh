#!/bin/bash
# check-hardening.sh: the installed programs are built as Debian builds
# packages: PIE, full RELRO (read-only relocations, bound at load),
# a non-executable stack, the stack protector and _FORTIFY_SOURCE.
# Reads the ELF headers with readelf; configure's --disable-hardening
# skips it, and the sanitizer build checks all but fortification.
set -eu
: "${top_builddir:=.}"
if [ "${SC_HARDENED:-yes}" != yes ]; then
	echo "SKIP: configured with --disable-hardening"
	exit 77
fi
fails=0
bad() {
	echo "FAIL: $1: $2"
	fails=$((fails + 1))
}
for p in daemon/securechatd daemon/securechatctl client/securechat; do
	f=$top_builddir/$p
	[ -x "$f" ] || { bad "$p" "not built"; continue; }
	readelf -h "$f" | grep -q 'Type:.*DYN' || bad "$p" "not PIE"
	dyn=$(readelf -d "$f")
	echo "$dyn" | grep -q 'FLAGS_1.*PIE' || bad "$p" "no PIE flag"
	echo "$dyn" | grep -Eq '\(FLAGS\).*BIND_NOW|FLAGS_1.*NOW' ||
	    bad "$p" "no BIND_NOW (-z now)"
	seg=$(readelf -lW "$f")
	echo "$seg" | grep -q 'GNU_RELRO' || bad "$p" "no RELRO segment"
	echo "$seg" | grep 'GNU_STACK' | grep -q 'RWE' &&
	    bad "$p" "executable stack"
	syms=$(readelf -W --dyn-syms "$f")
	echo "$syms" | grep -q '__stack_chk_fail' ||
	    bad "$p" "no stack protector (__stack_chk_fail)"
	if [ "${SC_SANITIZERS:-no}" != yes ]; then
		echo "$syms" | grep -Eq ' __[a-z0-9_]+_chk(@|$)' ||
		    bad "$p" "not fortified (no __*_chk function)"
	fi
	[ "$fails" -eq 0 ] && echo "ok: $p"
done
[ "$fails" -eq 0 ]
