/*
 * fuzz_ipc.c: libFuzzer harness for the internal channels' receiving side:
 * one SOCK_SEQPACKET packet, with or without descriptors (up to 7, more
 * than IPC_MAX_FDS), through ipc_recv or ipc_recv_fds taking 0 to
 * IPC_MAX_FDS of them, then every internal table.  No descriptor may leak:
 * the receiver holds at most what it asked for, and none after an empty or
 * a refused packet.
 */
#include "config.h"

#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "fuzz.h"
#include "ipc.h"
#include "proto.h"

#define MAX_PACKET	(64 * 1024)

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static int	 sp[2] = { -1, -1 };

/* Send one packet with nfds copies of a descriptor, as a sender could. */
static void
send_packet(const uint8_t *p, size_t len, int nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(8 * sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	int		 fds[8], i;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = (void *)p;
	iov.iov_len = len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		for (i = 0; i < nfds; i++)
			fds[i] = STDIN_FILENO;
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, nfds * sizeof(int));
	}
	if (sendmsg(sp[0], &msg, 0) != (ssize_t)len)
		abort();
}

static void
tables(const struct frame *f)
{
	(void)frame_validate(f, proto_worker_spec(f->type));
	(void)frame_validate(f, proto_broker_spec(f->type));
	(void)frame_validate(f, proto_ctl_spec(f->type));
	(void)proto_msg_name(f->type);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct frame	 f;
	uint8_t		*buf;
	size_t		 bufsz;
	ssize_t		 n;
	uint8_t		 flags;
	int		 fds[IPC_MAX_FDS], fd, i, maxfds, nfds, lowest_free;

	if (sp[0] == -1) {
		fuzz_setup();
		if (socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sp) == -1)
			abort();
	}
	if (size < 1 || size - 1 > MAX_PACKET)
		return 0;
	/* The descriptor open() gives as long as none leaks. */
	if ((lowest_free = open("/dev/null", O_RDONLY)) == -1 ||
	    close(lowest_free) == -1)
		abort();
	/*
	 * flags: bits 0-2 descriptors sent, bit 4 a small buffer, bits 5-7
	 * the receiver: 0 ipc_recv, else ipc_recv_fds taking one less than
	 * that (up to IPC_MAX_FDS).
	 */
	flags = data[0];
	/* Receivers size their buffers differently; so do we. */
	bufsz = (flags & 0x10) ? (size - 1) / 2 + 1 : MAX_PACKET;
	buf = malloc(bufsz);
	send_packet(data + 1, size - 1, flags & 0x7);
	if ((flags >> 5) != 0) {
		maxfds = ((flags >> 5) - 1) % (IPC_MAX_FDS + 1);
		n = ipc_recv_fds(sp[1], buf, bufsz, &f, fds, maxfds, &nfds);
	} else {
		maxfds = 1;
		n = ipc_recv(sp[1], buf, bufsz, &f, &fd);
		nfds = fd != -1;
		fds[0] = fd;
	}
	if (nfds < 0 || nfds > maxfds)
		abort();
	if (n > 0) {
		if ((size_t)n != size - 1 || f.nfields > FRAME_MAX_FIELDS)
			abort();
		tables(&f);
	} else if (nfds != 0)
		abort();
	else if (n == -1 && errno != EBADMSG && errno != EAGAIN)
		abort();
	for (i = 0; i < nfds; i++)
		if (close(fds[i]) == -1)
			abort();
	free(buf);
	/* Nothing kept open behind our back, and nothing left queued. */
	if ((fd = open("/dev/null", O_RDONLY)) != lowest_free)
		abort();
	(void)close(fd);
	while (recv(sp[1], NULL, 0, MSG_DONTWAIT) >= 0)
		;
	return 0;
}
