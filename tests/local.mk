if ENABLE_TESTS
TEST_CFLAGS = $(AM_CFLAGS) $(CMOCKA_CFLAGS) $(LIBCONFIG_CFLAGS) $(SQLITE_CFLAGS) $(SECCOMP_CFLAGS)
TEST_LIBS = $(DAEMON_LIBS) $(CMOCKA_LIBS)

check_PROGRAMS += %D%/unit/test_frame %D%/unit/test_conf %D%/unit/test_sandbox
%C%_unit_test_frame_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_frame_SOURCES = %D%/unit/test_frame.c
%C%_unit_test_frame_LDADD = common/libcommon.a $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_conf_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_conf_SOURCES = %D%/unit/test_conf.c daemon/conf.c
%C%_unit_test_conf_LDADD = common/libcommon.a $(LIBCONFIG_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)
%C%_unit_test_sandbox_CFLAGS = $(TEST_CFLAGS)
%C%_unit_test_sandbox_SOURCES = %D%/unit/test_sandbox.c daemon/sandbox.c daemon/privdrop.c
%C%_unit_test_sandbox_LDADD = common/libcommon.a $(SECCOMP_LIBS) $(OPENSSL_LIBS) $(CMOCKA_LIBS)

# A raw TLS peer for the integration tests: sends exact bytes, floods.
check_PROGRAMS += %D%/integration/scprobe
%C%_integration_scprobe_SOURCES = %D%/integration/scprobe.c
%C%_integration_scprobe_LDADD = common/libcommon.a $(LIBEVENT_LIBS) $(OPENSSL_LIBS)

TESTS += %D%/unit/test_frame %D%/unit/test_conf %D%/unit/test_sandbox
TESTS += $(INTEGRATION_TESTS)
endif

INTEGRATION_TESTS = \
	%D%/integration/t-sandbox.sh \
	%D%/integration/t-tls.sh \
	%D%/integration/t-isolation.sh \
	%D%/integration/t-abuse.sh \
	%D%/integration/t-lifecycle.sh \
	%D%/integration/t-unprivileged.sh \
	%D%/integration/t-config.sh
EXTRA_DIST += %D%/integration/lib.sh $(INTEGRATION_TESTS) %D%/fuzz
AM_TESTS_ENVIRONMENT = top_srcdir='$(abs_top_srcdir)'; top_builddir='$(abs_top_builddir)'; \
	export top_srcdir top_builddir;
