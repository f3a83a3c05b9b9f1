# bench/local.mk: the load tool, the process-tree reader and the fan-out
# cost model (not installed), and the scripts that run them against a
# private daemon or IRC servers.  See bench/README.md and docs/PERFORMANCE.md.
noinst_PROGRAMS += %D%/scload %D%/treestat %D%/fanoutcost
%C%_scload_SOURCES = %D%/scload.c %D%/scload.h %D%/scload-sc.c \
	%D%/scload-irc.c %D%/ptree.c %D%/ptree.h
%C%_scload_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
%C%_treestat_SOURCES = %D%/treestat.c %D%/ptree.c %D%/ptree.h
%C%_treestat_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
%C%_fanoutcost_SOURCES = %D%/fanoutcost.c
EXTRA_DIST += %D%/run.sh %D%/abuse.sh %D%/compare.sh %D%/compare-report.sh \
	%D%/profile.sh \
	%D%/lib.sh \
	%D%/README.md
