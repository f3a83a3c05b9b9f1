noinst_LIBRARIES += %D%/libcommon.a
%C%_libcommon_a_SOURCES = \
	%D%/log.c %D%/log.h %D%/logsum.c %D%/logsum.h \
	%D%/xmalloc.c %D%/xmalloc.h \
	%D%/util.c %D%/util.h \
	%D%/hash.c %D%/hash.h \
	%D%/frame.c %D%/frame.h %D%/frame-evbuffer.c \
	%D%/proto.c %D%/proto.h \
	%D%/ipc.c %D%/ipc.h \
	%D%/tls.c %D%/tls.h \
	%D%/crypto.c %D%/crypto.h \
	%D%/e2e-envelope.c %D%/e2e-group.c %D%/e2e.h %D%/e2e-local.h \
	%D%/e2e-replay.c %D%/e2e-order.c %D%/e2e-roster.c %D%/e2e-roster.h \
	%D%/e2e-state.c %D%/e2e-state.h \
	%D%/e2e-prekey.c %D%/e2e-prekey.h
