# libFuzzer harnesses, one per decoder a peer reaches (tests/fuzz/README.md).
# Built only by ./configure --enable-fuzz (clang): `make fuzz` runs each
# for FUZZ_SECONDS, `make fuzz-corpus` remakes the seeds in the source tree.
FUZZ_TARGETS = fuzz_frame fuzz_ipc fuzz_conf fuzz_e2e_envelope fuzz_e2e_group \
	fuzz_e2e_state fuzz_broker fuzz_worker fuzz_client fuzz_e2e_client \
	fuzz_log_relay fuzz_e2e_roster fuzz_keyproc

if ENABLE_FUZZ
FUZZ_CC_FLAGS = $(AM_CFLAGS) $(LIBCONFIG_CFLAGS) $(SQLITE_CFLAGS) $(SECCOMP_CFLAGS) $(LIBSYSTEMD_CFLAGS)
FUZZ_CPP_FLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client -I$(top_srcdir)/%D%
FUZZ_LINK_FLAGS = $(AM_LDFLAGS) -fsanitize=fuzzer
FUZZ_COMMON = %D%/fuzz.c %D%/fuzz.h
FUZZ_CLIENT_COMMON = $(FUZZ_COMMON) %D%/fuzz-client.c %D%/fuzz-client.h
FUZZ_COMMON_LIBS = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)

# The client, main() renamed, for the harnesses that drive its parts.
noinst_LIBRARIES += %D%/libfuzzclient.a
%C%_libfuzzclient_a_CPPFLAGS = $(AM_CPPFLAGS) -Dmain=securechat_main
%C%_libfuzzclient_a_CFLAGS = $(AM_CFLAGS) $(LIBEDIT_CFLAGS) $(NCURSES_CFLAGS) $(SQLITE_CFLAGS) \
	-Wno-missing-prototypes
%C%_libfuzzclient_a_SOURCES = $(client_securechat_SOURCES)
FUZZ_CLIENT_LIBS = %D%/libfuzzclient.a $(FUZZ_COMMON_LIBS) $(LIBEDIT_LIBS) $(NCURSES_LIBS) \
	$(SQLITE_LIBS)
FUZZ_DAEMON_LIBS = $(DAEMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_frame
%C%_fuzz_frame_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_frame_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_frame_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_frame_SOURCES = %D%/fuzz_frame.c 
%C%_fuzz_frame_LDADD = $(FUZZ_COMMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_ipc
%C%_fuzz_ipc_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_ipc_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_ipc_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_ipc_SOURCES = %D%/fuzz_ipc.c $(FUZZ_COMMON)
%C%_fuzz_ipc_LDADD = $(FUZZ_COMMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_conf
%C%_fuzz_conf_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_conf_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_conf_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_conf_SOURCES = %D%/fuzz_conf.c $(FUZZ_COMMON)
%C%_fuzz_conf_LDADD = $(FUZZ_DAEMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_e2e_envelope
%C%_fuzz_e2e_envelope_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_e2e_envelope_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_e2e_envelope_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_e2e_envelope_SOURCES = %D%/fuzz_e2e_envelope.c $(FUZZ_COMMON)
%C%_fuzz_e2e_envelope_LDADD = $(FUZZ_COMMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_e2e_group
%C%_fuzz_e2e_group_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_e2e_group_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_e2e_group_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_e2e_group_SOURCES = %D%/fuzz_e2e_group.c $(FUZZ_COMMON)
%C%_fuzz_e2e_group_LDADD = $(FUZZ_COMMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_e2e_state
%C%_fuzz_e2e_state_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_e2e_state_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_e2e_state_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_e2e_state_SOURCES = %D%/fuzz_e2e_state.c $(FUZZ_COMMON)
%C%_fuzz_e2e_state_LDADD = $(FUZZ_CLIENT_LIBS)

noinst_PROGRAMS += %D%/fuzz_broker
%C%_fuzz_broker_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_broker_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_broker_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_broker_SOURCES = %D%/fuzz_broker.c $(FUZZ_COMMON)
%C%_fuzz_broker_LDADD = $(FUZZ_DAEMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_worker
%C%_fuzz_worker_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_worker_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_worker_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_worker_SOURCES = %D%/fuzz_worker.c $(FUZZ_COMMON)
%C%_fuzz_worker_LDADD = $(FUZZ_DAEMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_client
%C%_fuzz_client_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_client_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_client_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_client_SOURCES = %D%/fuzz_client.c $(FUZZ_CLIENT_COMMON)
%C%_fuzz_client_LDADD = $(FUZZ_CLIENT_LIBS)

noinst_PROGRAMS += %D%/fuzz_e2e_client
%C%_fuzz_e2e_client_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_e2e_client_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_e2e_client_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_e2e_client_SOURCES = %D%/fuzz_e2e_client.c $(FUZZ_CLIENT_COMMON)
%C%_fuzz_e2e_client_LDADD = $(FUZZ_CLIENT_LIBS)

noinst_PROGRAMS += %D%/fuzz_log_relay
%C%_fuzz_log_relay_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_log_relay_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_log_relay_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_log_relay_SOURCES = %D%/fuzz_log_relay.c $(FUZZ_COMMON)
%C%_fuzz_log_relay_LDADD = $(FUZZ_DAEMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_e2e_roster
%C%_fuzz_e2e_roster_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_e2e_roster_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_e2e_roster_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_e2e_roster_SOURCES = %D%/fuzz_e2e_roster.c $(FUZZ_COMMON)
%C%_fuzz_e2e_roster_LDADD = $(FUZZ_COMMON_LIBS)

noinst_PROGRAMS += %D%/fuzz_keyproc
%C%_fuzz_keyproc_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_fuzz_keyproc_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_fuzz_keyproc_LDFLAGS = $(FUZZ_LINK_FLAGS)
%C%_fuzz_keyproc_SOURCES = %D%/fuzz_keyproc.c $(FUZZ_COMMON)
%C%_fuzz_keyproc_LDADD = $(FUZZ_DAEMON_LIBS)

# The seed generator; `make fuzz-corpus` rewrites tests/fuzz/corpus.
noinst_PROGRAMS += %D%/gen_corpus
%C%_gen_corpus_CFLAGS = $(FUZZ_CC_FLAGS)
%C%_gen_corpus_CPPFLAGS = $(FUZZ_CPP_FLAGS)
%C%_gen_corpus_SOURCES = %D%/gen_corpus.c %D%/gen-daemon.c %D%/gen-client.c \
	%D%/gen.h $(FUZZ_CLIENT_COMMON)
%C%_gen_corpus_LDADD = $(FUZZ_CLIENT_LIBS)

fuzz-corpus: %D%/gen_corpus
	%D%/gen_corpus '$(top_srcdir)' '$(top_srcdir)/%D%/corpus'

fuzz: $(FUZZ_TARGETS:%=%D%/%)
	FUZZ_SECONDS='$(FUZZ_SECONDS)' $(SHELL) $(top_srcdir)/%D%/run.sh \
	    '$(top_srcdir)/%D%/corpus' '$(abs_top_builddir)/%D%' $(FUZZ_TARGETS)
else
fuzz fuzz-corpus:
	@echo "make $@: configure with --enable-fuzz CC=clang first" >&2; exit 1
endif
FUZZ_SECONDS = 60
.PHONY: fuzz fuzz-corpus

# What make fuzz found: corpora, logs, crash files.
clean-local:
	rm -rf %D%/fuzz-out
