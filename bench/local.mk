# bench/local.mk: the load tool (not installed) and the script that runs
# it against a private daemon.  See bench/README.md and
# docs/PERFORMANCE.md.
noinst_PROGRAMS += %D%/scload
%C%_scload_SOURCES = %D%/scload.c
%C%_scload_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
EXTRA_DIST += %D%/run.sh %D%/abuse.sh %D%/lib.sh %D%/README.md
