#!/bin/sh
# Lint every man page with mandoc.
set -e
for m in "$top_srcdir"/man/*.[158]; do mandoc -Tlint -Wwarning "$m"; done
