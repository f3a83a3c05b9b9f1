# bench/local.mk: the load tool, the process-tree reader, the fan-out
# cost model and the host's process costs (not installed), and the scripts
# that run them against a private daemon or IRC servers.  See
# bench/README.md and docs/PERFORMANCE.md.
noinst_PROGRAMS += %D%/scload %D%/treestat %D%/fanoutcost %D%/hostcost
%C%_scload_SOURCES = %D%/scload.c %D%/scload.h %D%/scload-sc.c \
	%D%/scload-irc.c %D%/ptree.c %D%/ptree.h
%C%_scload_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
%C%_treestat_SOURCES = %D%/treestat.c %D%/ptree.c %D%/ptree.h
%C%_treestat_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
%C%_fanoutcost_SOURCES = %D%/fanoutcost.c
%C%_hostcost_SOURCES = %D%/hostcost.c
%C%_hostcost_CFLAGS = $(AM_CFLAGS) -pthread
%C%_hostcost_LDADD = $(OPENSSL_LIBS)
EXTRA_DIST += %D%/run.sh %D%/abuse.sh %D%/compare.sh %D%/compare-report.sh \
	%D%/profile.sh \
	%D%/lib.sh \
	%D%/README.md
