bin_PROGRAMS += %D%/securechat
%C%_securechat_CFLAGS = $(AM_CFLAGS) $(LIBEDIT_CFLAGS)
%C%_securechat_SOURCES = \
	%D%/client.h \
	%D%/securechat.c \
	%D%/conn.c \
	%D%/commands.c \
	%D%/output.c \
	%D%/known.c
%C%_securechat_LDADD = common/libcommon.a $(LIBEDIT_LIBS) $(LIBEVENT_LIBS) $(OPENSSL_LIBS)
