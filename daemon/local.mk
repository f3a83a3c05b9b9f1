# Everything but main() lives in a library so the unit tests link it.
noinst_LIBRARIES += %D%/libdaemon.a
%C%_libdaemon_a_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(SQLITE_CFLAGS) $(SECCOMP_CFLAGS) \
	$(LIBSYSTEMD_CFLAGS)
%C%_libdaemon_a_SOURCES = \
	%D%/securechatd.h \
	%D%/conf.c %D%/conf.h \
	%D%/sandbox.c %D%/sandbox.h \
	%D%/privdrop.c \
	%D%/certgen.c \
	%D%/master.c %D%/master.h \
	%D%/master-gate.c \
	%D%/master-keyproc.c \
	%D%/master-template.c \
	%D%/master-log.c \
	%D%/notify.c \
	%D%/setup.c \
	%D%/ops.h \
	%D%/template.c \
	%D%/keyproc.c %D%/keyproc.h \
	%D%/keysign.c %D%/keysign.h \
	%D%/worker.c \
	%D%/broker.c %D%/broker.h \
	%D%/broker-auth.c \
	%D%/broker-tx.c \
	%D%/broker-chat.c %D%/broker-ring.c \
	%D%/broker-rate.c \
	%D%/broker-ctl.c \
	%D%/broker-admin.c \
	%D%/ctl-out.c %D%/ctl-out.h \
	%D%/broker-keys.c \
	%D%/broker-roster.c \
	%D%/store.c %D%/store-admin.c %D%/store.h

DAEMON_LIBS = %D%/libdaemon.a common/libcommon.a \
	$(LIBCONFIG_LIBS) $(SQLITE_LIBS) $(SECCOMP_LIBS) $(LIBSYSTEMD_LIBS) $(LIBEVENT_LIBS) \
	$(OPENSSL_LIBS)

sbin_PROGRAMS += %D%/securechatd
%C%_securechatd_SOURCES = %D%/securechatd.c
%C%_securechatd_LDADD = $(DAEMON_LIBS)

sbin_PROGRAMS += %D%/securechatctl
%C%_securechatctl_CFLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(SQLITE_CFLAGS)
%C%_securechatctl_SOURCES = %D%/securechatctl.c %D%/conf.c
%C%_securechatctl_LDADD = common/libcommon.a $(LIBCONFIG_LIBS) $(SQLITE_LIBS) $(OPENSSL_LIBS)
