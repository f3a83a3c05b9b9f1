#!/bin/bash
# setup.sh: install the Debian packages securechat needs (only those that
# are missing), then configure and build out of tree.  Sourced by demo.sh
# and test.sh; usage: setup.sh [BUILD_DIR [CONFIGURE_ARGS...]]
set -euo pipefail

SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${1:-$SRC/_build}
shift || true

PACKAGES="build-essential autoconf automake pkg-config libssl-dev libevent-dev
libconfig-dev libsqlite3-dev libseccomp-dev libcmocka-dev libedit-dev libncurses-dev libsystemd-dev
systemd openssl
mandoc jq procps util-linux passwd sqlite3 gdb tmux faketime valgrind"

missing=
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed'; then
		missing="$missing $p"
	fi
done
if [ -n "$missing" ]; then
	echo "==> installing Debian packages:$missing"
	if [ "$(id -u)" -ne 0 ]; then
		echo "setup.sh: run as root to install:$missing" >&2
		exit 1
	fi
	apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

cd "$SRC"
# An in-place ./configure (README, Usage) would make every out-of-tree
# configure refuse ("source directory already configured").
if [ -f config.status ] && [ "$(cd "$BUILD" 2>/dev/null && pwd)" != "$SRC" ]; then
	echo "==> the source tree was configured in place: make distclean there," \
	    "then build in $BUILD"
	if [ -f Makefile ]; then
		make -s distclean >/dev/null
	else
		rm -f config.status config.log
	fi
fi
if [ ! -x configure ] || [ configure.ac -nt configure ] || [ ! -f Makefile.in ]; then
	echo "==> autoreconf"
	autoreconf -fi >/dev/null 2>&1 || autoreconf -fi
fi
mkdir -p "$BUILD"
cd "$BUILD"
if [ ! -f Makefile ] || [ "$SRC/configure" -nt Makefile ]; then
	echo "==> configure $*"
	"$SRC/configure" -q "$@"
	# make does not see changed flags: objects of an older
	# configuration are rebuilt.
	make -s clean >/dev/null
fi
echo "==> make"
make -j"$(nproc)" -s >/dev/null
make -j"$(nproc)" -s check TESTS= >/dev/null
