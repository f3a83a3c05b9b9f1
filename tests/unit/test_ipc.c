/*
 * test_ipc.c: one frame per SOCK_SEQPACKET packet, and the descriptors
 * that ride along (up to IPC_MAX_FDS): kept when asked for, never leaked
 * when not.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "frame.h"
#include "ipc.h"
#include "proto.h"

/* Any bytes as one packet, with a descriptor: what ipc_send would send. */
static void
send_raw(int sock, const char *p, size_t len)
{
	struct frame_buf	 b;

	memset(&b, 0, sizeof(b));
	b.data = (uint8_t *)p;
	b.len = len;
	assert_int_equal(ipc_send(sock, &b, STDIN_FILENO), 0);
}

/* The descriptor open() hands out next: it moves if one leaked. */
static int
lowest_free(void)
{
	int	 fd = open("/dev/null", O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	return fd;
}

static void
test_frame_with_descriptor(void **state)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 buf[256];
	uint32_t		 pid;
	int			 sp[2], fd;

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	frame_begin(&b, IMSG_ATTACH, sizeof(buf));
	frame_put_u32(&b, F_PID, 42);
	assert_int_equal(frame_finish(&b), 0);
	assert_int_equal(ipc_send(sp[0], &b, STDIN_FILENO), 0);
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &f, &fd),
	    (ssize_t)b.len);
	assert_int_equal(f.type, IMSG_ATTACH);
	assert_int_equal(frame_get_u32(&f, F_PID, &pid), 0);
	assert_int_equal(pid, 42);
	assert_true(fd > STDERR_FILENO);
	assert_int_equal(close(fd), 0);
	frame_buf_free(&b);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/*
 * Send len bytes with a descriptor, receive them: ipc_recv returns want,
 * holds no descriptor, and none is left open behind its back.
 */
static void
refused_closes(const char *p, size_t len, ssize_t want)
{
	struct frame	 f;
	uint8_t		 buf[64];
	int		 sp[2], fd, before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	before = lowest_free();
	send_raw(sp[0], p, len);
	errno = 0;
	assert_int_equal(ipc_recv(sp[1], buf, sizeof(buf), &f, &fd), want);
	if (want == -1)
		assert_int_equal(errno, EBADMSG);
	assert_int_equal(fd, -1);
	assert_int_equal(lowest_free(), before);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/*
 * Found by fuzz_ipc (docs/FUZZING.md, bug 1): an empty packet read as the
 * end of the channel, and the descriptors on it stayed open for good.
 */
static void
test_empty_packet_descriptors_closed(void **state)
{
	(void)state;
	refused_closes("", 0, 0);
}

/* A malformed packet's descriptors go too. */
static void
test_bad_packet_descriptors_closed(void **state)
{
	(void)state;
	refused_closes("not a frame", 11, -1);
}

/*
 * Send len bytes with IPC_MAX_FDS descriptors, take up to maxfds of them:
 * ipc_recv_fds returns want and holds keep of them, the others closed.
 */
static void
several(const char *p, size_t len, int maxfds, ssize_t want, int keep)
{
	struct frame_buf	 b;
	struct frame		 f;
	uint8_t			 buf[256];
	int			 sp[2], out[IPC_MAX_FDS], in[IPC_MAX_FDS];
	int			 i, nfds, before;

	assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp), 0);
	before = lowest_free();
	for (i = 0; i < IPC_MAX_FDS; i++)
		out[i] = STDIN_FILENO;
	memset(&b, 0, sizeof(b));
	b.data = (uint8_t *)p;
	b.len = len;
	assert_int_equal(ipc_send_fds(sp[0], &b, out, IPC_MAX_FDS), 0);
	assert_int_equal(ipc_recv_fds(sp[1], buf, sizeof(buf), &f, in, maxfds,
	    &nfds), want);
	assert_int_equal(nfds, keep);
	for (i = 0; i < nfds; i++)
		assert_int_equal(close(in[i]), 0);
	assert_int_equal(lowest_free(), before);
	(void)close(sp[0]);
	(void)close(sp[1]);
}

/* An empty packet's descriptors are closed, all of them. */
static void
test_empty_packet_several_closed(void **state)
{
	(void)state;
	several("", 0, IPC_MAX_FDS, 0, 0);
}

/* A malformed packet's descriptors are closed, all of them. */
static void
test_bad_packet_several_closed(void **state)
{
	(void)state;
	several("not a frame", 11, IPC_MAX_FDS, -1, 0);
}

/* A frame keeps what the caller takes; the extras are closed. */
static void
test_extra_descriptors_closed(void **state)
{
	struct frame_buf	 b;
	uint8_t			 raw[64];

	(void)state;
	frame_begin(&b, IMSG_ATTACH, sizeof(raw));
	frame_put_u32(&b, F_PID, 42);
	assert_int_equal(frame_finish(&b), 0);
	assert_true(b.len <= sizeof(raw));
	memcpy(raw, b.data, b.len);
	several((const char *)raw, b.len, IPC_MAX_FDS, (ssize_t)b.len,
	    IPC_MAX_FDS);
	several((const char *)raw, b.len, 1, (ssize_t)b.len, 1);
	several((const char *)raw, b.len, 0, (ssize_t)b.len, 0);
	frame_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_frame_with_descriptor),
		cmocka_unit_test(test_empty_packet_descriptors_closed),
		cmocka_unit_test(test_bad_packet_descriptors_closed),
		cmocka_unit_test(test_empty_packet_several_closed),
		cmocka_unit_test(test_bad_packet_several_closed),
		cmocka_unit_test(test_extra_descriptors_closed),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
