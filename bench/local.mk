# bench/local.mk: the load tool and the process-tree reader (not
# installed), and the scripts that run them against a private daemon or
# IRC servers.  See bench/README.md and docs/PERFORMANCE.md.
noinst_PROGRAMS += %D%/scload %D%/treestat
%C%_scload_SOURCES = %D%/scload.c %D%/scload.h %D%/scload-sc.c \
	%D%/scload-irc.c %D%/ptree.c %D%/ptree.h
%C%_scload_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
%C%_treestat_SOURCES = %D%/treestat.c %D%/ptree.c %D%/ptree.h
%C%_treestat_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
EXTRA_DIST += %D%/run.sh %D%/abuse.sh %D%/compare.sh %D%/compare-report.sh \
	%D%/profile.sh \
	%D%/lib.sh \
	%D%/README.md
