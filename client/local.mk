bin_PROGRAMS += %D%/securechat
%C%_securechat_CFLAGS = $(AM_CFLAGS) $(LIBEDIT_CFLAGS) $(NCURSES_CFLAGS) $(SQLITE_CFLAGS)
%C%_securechat_SOURCES = \
	%D%/client.h \
	%D%/securechat.c \
	%D%/conn.c \
	%D%/session.c \
	%D%/chat.c \
	%D%/outbox.c \
	%D%/seen.c \
	%D%/commands.c \
	%D%/complete.c \
	%D%/output.h \
	%D%/output.c \
	%D%/output-chat.c \
	%D%/text.h \
	%D%/text.c \
	%D%/known.c \
	%D%/identity.h \
	%D%/identity.c \
	%D%/e2e-client.h \
	%D%/e2e-client.c \
	%D%/e2e-session.c \
	%D%/roster.c \
	%D%/localfile.h \
	%D%/localfile.c \
	%D%/prekeys.h \
	%D%/prekeys.c \
	%D%/trust.h \
	%D%/trust.c \
	%D%/keepalive.c \
	%D%/settings.h \
	%D%/settings.c \
	%D%/history.h \
	%D%/history.c \
	%D%/view.c \
	%D%/tui.h \
	%D%/tui.c \
	%D%/tui-input.c
%C%_securechat_LDADD = common/libcommon.a $(LIBEDIT_LIBS) $(NCURSES_LIBS) $(SQLITE_LIBS) \
	$(LIBEVENT_LIBS) $(OPENSSL_LIBS)
