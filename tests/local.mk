if ENABLE_TESTS
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBCONFIG_CFLAGS) $(SQLITE_CFLAGS) $(SECCOMP_CFLAGS)
TEST_LIBS = $(DAEMON_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += %D%/unit/test_frame %D%/unit/test_conf %D%/unit/test_sandbox %D%/unit/test_store \
	%D%/unit/test_broker_ipc %D%/unit/test_client_queue
%C%_unit_test_frame_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_frame_SOURCES = %D%/unit/test_frame.c
%C%_unit_test_frame_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_conf_SOURCES = %D%/unit/test_conf.c daemon/conf.c
%C%_unit_test_conf_LDADD = common/libcommon.a $(LIBCONFIG_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_sandbox_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_sandbox_SOURCES = %D%/unit/test_sandbox.c daemon/sandbox.c daemon/privdrop.c
%C%_unit_test_sandbox_LDADD = common/libcommon.a $(SECCOMP_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

%C%_unit_test_store_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_store_SOURCES = %D%/unit/test_store.c daemon/store.c
%C%_unit_test_store_LDADD = common/libcommon.a $(SQLITE_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

%C%_unit_test_broker_ipc_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon $(LIBEVENT_CFLAGS)
%C%_unit_test_broker_ipc_SOURCES = %D%/unit/test_broker_ipc.c
%C%_unit_test_broker_ipc_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)

# The client's outbox and .seen file, compiled from the client's sources.
%C%_unit_test_client_queue_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/client
%C%_unit_test_client_queue_SOURCES = %D%/unit/test_client_queue.c client/outbox.c client/seen.c \
	client/localfile.c
%C%_unit_test_client_queue_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += %D%/unit/test_crypto %D%/unit/test_identity
%C%_unit_test_crypto_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_crypto_SOURCES = %D%/unit/test_crypto.c
%C%_unit_test_crypto_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_identity_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_identity_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_identity_SOURCES = %D%/unit/test_identity.c client/identity.c \
	client/localfile.c
%C%_unit_test_identity_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_crypto %D%/unit/test_identity

# End-to-end encryption core: envelopes and sender keys.
check_PROGRAMS += %D%/unit/test_e2e
%C%_unit_test_e2e_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_e2e_SOURCES = %D%/unit/test_e2e.c
%C%_unit_test_e2e_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_e2e

# The client's E2E state at rest: receivers and the seen-set as bytes.
check_PROGRAMS += %D%/unit/test_e2e_state
%C%_unit_test_e2e_state_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_e2e_state_SOURCES = %D%/unit/test_e2e_state.c
%C%_unit_test_e2e_state_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_e2e_state

# Signed, hash-chained room rosters.
check_PROGRAMS += %D%/unit/test_e2e_roster
%C%_unit_test_e2e_roster_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_e2e_roster_SOURCES = %D%/unit/test_e2e_roster.c
%C%_unit_test_e2e_roster_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_e2e_roster

# The client's key files: signed prekeys, sealed local files, known_users.
check_PROGRAMS += %D%/unit/test_keys
%C%_unit_test_keys_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_keys_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_keys_SOURCES = %D%/unit/test_keys.c client/prekeys.c \
	client/localfile.c client/trust.c client/identity.c
%C%_unit_test_keys_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_keys

# One frame per internal packet, and the descriptors riding along.
check_PROGRAMS += %D%/unit/test_ipc
%C%_unit_test_ipc_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_ipc_SOURCES = %D%/unit/test_ipc.c
%C%_unit_test_ipc_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_ipc

# The key process's signing policy, in process and against a live one.
check_PROGRAMS += %D%/unit/test_keyproc
%C%_unit_test_keyproc_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_keyproc_SOURCES = %D%/unit/test_keyproc.c
%C%_unit_test_keyproc_LDADD = $(TEST_LIBS)
TESTS += %D%/unit/test_keyproc

# What the client lets through to a terminal.
check_PROGRAMS += %D%/unit/test_text
%C%_unit_test_text_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_text_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_text_SOURCES = %D%/unit/test_text.c client/text.c
%C%_unit_test_text_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_text

# Shared helpers: log texts, fatal() in children, address prefixes.
check_PROGRAMS += %D%/unit/test_util
%C%_unit_test_util_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_util_SOURCES = %D%/unit/test_util.c
%C%_unit_test_util_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_util

# The broker's hash table and its SipHash.
check_PROGRAMS += %D%/unit/test_hash
%C%_unit_test_hash_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_hash_SOURCES = %D%/unit/test_hash.c
%C%_unit_test_hash_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_hash

# The worker takes a fan-out batch in one wake (issue 13).
check_PROGRAMS += %D%/unit/test_worker_read
%C%_unit_test_worker_read_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon
%C%_unit_test_worker_read_SOURCES = %D%/unit/test_worker_read.c
%C%_unit_test_worker_read_LDADD = $(TEST_LIBS)
TESTS += %D%/unit/test_worker_read

# A turn's writes and what the broker says of them stand or fall together.
check_PROGRAMS += %D%/unit/test_broker_tx
%C%_unit_test_broker_tx_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/daemon $(LIBEVENT_CFLAGS)
%C%_unit_test_broker_tx_SOURCES = %D%/unit/test_broker_tx.c
%C%_unit_test_broker_tx_LDADD = $(TEST_LIBS)
TESTS += %D%/unit/test_broker_tx

check_PROGRAMS += %D%/unit/test_ring
%C%_unit_test_ring_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_ring_SOURCES = %D%/unit/test_ring.c daemon/broker-ring.c
%C%_unit_test_ring_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_ring

# The bench's process-tree reader (PSS and CPU over a server's tree).
check_PROGRAMS += %D%/unit/test_ptree
%C%_unit_test_ptree_CFLAGS = $(TEST_CFLAGS) -I$(top_srcdir)/bench
%C%_unit_test_ptree_SOURCES = %D%/unit/test_ptree.c bench/ptree.c
%C%_unit_test_ptree_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_ptree
# A scripted hostile server for the integration tests (issue 10).
check_PROGRAMS += %D%/integration/scfake
%C%_integration_scfake_SOURCES = %D%/integration/scfake.c %D%/integration/probe.c \
	%D%/integration/probe.h
%C%_integration_scfake_LDADD = common/libcommon.a $(OPENSSL_LIBS)

# What systemd does for the unit (sockets, notify, journal), for t-systemd.
check_PROGRAMS += %D%/integration/scsystemd
%C%_integration_scsystemd_SOURCES = %D%/integration/scsystemd.c

# The documents against the code: protodump prints the protocol tables,
# check-docs.pl compares them and the documented constants with docs/.
check_PROGRAMS += %D%/docs/protodump
%C%_docs_protodump_SOURCES = %D%/docs/protodump.c
%C%_docs_protodump_LDADD = common/libcommon.a
TESTS += %D%/docs/check-docs.pl
EXTRA_DIST += %D%/docs/check-docs.pl

# The programs are hardened as Debian's packages are (readelf).
TESTS += %D%/build/check-hardening.sh
EXTRA_DIST += %D%/build/check-hardening.sh

# Searches a live process's memory (t-keyproc: no worker holds the key).
check_PROGRAMS += %D%/integration/memscan
%C%_integration_memscan_SOURCES = %D%/integration/memscan.c
%C%_integration_memscan_LDADD = common/libcommon.a $(OPENSSL_LIBS)

# A raw TLS peer for the integration tests: sends exact bytes, floods.
check_PROGRAMS += %D%/integration/scprobe
%C%_integration_scprobe_SOURCES = %D%/integration/scprobe.c %D%/integration/probe.c \
	%D%/integration/probe.h
%C%_integration_scprobe_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)

# A hostile client that logs in and then abuses the service (bench/abuse.sh too).
check_PROGRAMS += %D%/integration/schostile
%C%_integration_schostile_SOURCES = %D%/integration/schostile.c %D%/integration/probe.c \
	%D%/integration/probe.h
%C%_integration_schostile_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)

# The client's configuration file and local history store.
check_PROGRAMS += %D%/unit/test_settings %D%/unit/test_history
%C%_unit_test_settings_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_settings_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_settings_SOURCES = %D%/unit/test_settings.c client/settings.c
%C%_unit_test_settings_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_history_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_history_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_history_SOURCES = %D%/unit/test_history.c client/history.c \
	client/localfile.c
%C%_unit_test_history_LDADD = common/libcommon.a $(SQLITE_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_settings %D%/unit/test_history

# The client's tab completion (libedit's readline interface).
check_PROGRAMS += %D%/unit/test_complete
%C%_unit_test_complete_CPPFLAGS = $(AM_CPPFLAGS) -I$(top_srcdir)/client
%C%_unit_test_complete_CFLAGS = $(TEST_CFLAGS) $(LIBEDIT_CFLAGS)
%C%_unit_test_complete_SOURCES = %D%/unit/test_complete.c client/complete.c
%C%_unit_test_complete_LDADD = common/libcommon.a $(LIBEDIT_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
TESTS += %D%/unit/test_complete

TESTS += %D%/unit/test_frame %D%/unit/test_conf %D%/unit/test_sandbox %D%/unit/test_store \
	%D%/unit/test_broker_ipc %D%/unit/test_client_queue
TESTS += $(INTEGRATION_TESTS)
endif

INTEGRATION_TESTS = \
	%D%/integration/t-amplify.sh \
	%D%/integration/t-quota.sh \
	%D%/integration/t-lastwords.sh \
	%D%/integration/t-bye.sh \
	%D%/integration/t-lists.sh \
	%D%/integration/t-roster-limits.sh \
	%D%/integration/t-sandbox.sh \
	%D%/integration/t-keyproc.sh \
	%D%/integration/t-template.sh \
	%D%/integration/t-e2e.sh \
	%D%/integration/t-chain-rekey.sh \
	%D%/integration/t-tls.sh \
	%D%/integration/t-isolation.sh \
	%D%/integration/t-abuse.sh \
	%D%/integration/t-preauth.sh \
	%D%/integration/t-lifecycle.sh \
	%D%/integration/t-broker-health.sh \
	%D%/integration/t-storage.sh \
	%D%/integration/t-diskfull.sh \
	%D%/integration/t-corrupt.sh \
	%D%/integration/t-unprivileged.sh \
	%D%/integration/t-config.sh \
	%D%/integration/t-chat.sh \
	%D%/integration/t-demo.sh \
	%D%/integration/t-offline.sh \
	%D%/integration/t-prekey-offline.sh \
	%D%/integration/t-accounts.sh \
	%D%/integration/t-ratelimit.sh \
	%D%/integration/t-chaos.sh \
	%D%/integration/t-slowreader.sh \
	%D%/integration/t-catchup.sh \
	%D%/integration/t-interactive.sh \
	%D%/integration/t-bench.sh \
	%D%/integration/t-hostile-trust.sh \
	%D%/integration/t-hostile-fake.sh \
	%D%/integration/t-hostile-future.sh \
	%D%/integration/t-hostile-skip.sh \
	%D%/integration/t-delivered.sh \
	%D%/integration/t-hostile-client.sh \
	%D%/integration/t-hostile-replay.sh \
	%D%/integration/t-hostile-order.sh \
	%D%/integration/t-hostile-roster.sh \
	%D%/integration/t-tui.sh \
	%D%/integration/t-keepalive.sh \
	%D%/integration/t-scripting.sh \
	%D%/integration/t-systemd.sh \
	%D%/integration/t-docs.sh
EXTRA_DIST += %D%/integration/lib.sh %D%/integration/hostile.sh \
	%D%/integration/fake.sh $(INTEGRATION_TESTS) %D%/fuzz
AM_TESTS_ENVIRONMENT = top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	SC_HARDENED='$(SC_HARDENED)'; SC_SANITIZERS='$(SC_SANITIZERS)'; \
	export top_srcdir top_builddir SC_HARDENED SC_SANITIZERS;
