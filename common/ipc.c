/*
 * ipc.c: one frame per SOCK_SEQPACKET packet between the master and its
 * children, with at most IPC_MAX_FDS descriptors riding along (SCM_RIGHTS).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "ipc.h"

int
ipc_send_fds(int sock, const struct frame_buf *b, const int *fds, int nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	if (nfds < 0 || nfds > IPC_MAX_FDS) {
		errno = EINVAL;
		return -1;
	}
	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = b->data;
	iov.iov_len = b->len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (nfds > 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = CMSG_SPACE((size_t)nfds * sizeof(int));
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN((size_t)nfds * sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), fds, (size_t)nfds * sizeof(int));
	}
	do {
		n = sendmsg(sock, &msg, MSG_NOSIGNAL);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	if ((size_t)n != b->len) {
		errno = EMSGSIZE;
		return -1;
	}
	return 0;
}

int
ipc_send(int sock, const struct frame_buf *b, int fd)
{
	return ipc_send_fds(sock, b, &fd, fd >= 0 ? 1 : 0);
}

static void
close_all(int *fds, int *nfds)
{
	int	 i;

	for (i = 0; i < *nfds; i++)
		(void)close(fds[i]);
	*nfds = 0;
}

ssize_t
ipc_recv_fds(int sock, uint8_t *buf, size_t bufsz, struct frame *f, int *fds,
    int maxfds, int *nfds)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(IPC_MAX_FDS * sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 flen, i, got;
	int		 in[IPC_MAX_FDS];

	*nfds = 0;
	memset(&msg, 0, sizeof(msg));
	iov.iov_base = buf;
	iov.iov_len = bufsz;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = cmsgbuf.buf;
	msg.msg_controllen = sizeof(cmsgbuf.buf);
	do {
		n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	} while (n == -1 && errno == EINTR);
	if (n == -1)
		return -1;
	/* Descriptors may ride on any packet, an empty one too. */
	for (cmsg = CMSG_FIRSTHDR(&msg); cmsg != NULL;
	    cmsg = CMSG_NXTHDR(&msg, cmsg)) {
		if (cmsg->cmsg_level != SOL_SOCKET ||
		    cmsg->cmsg_type != SCM_RIGHTS)
			continue;
		got = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (got > IPC_MAX_FDS)
			got = IPC_MAX_FDS;
		memcpy(in, CMSG_DATA(cmsg), got * sizeof(int));
		/* Keep what the caller takes; never let extras leak. */
		for (i = 0; i < got; i++) {
			if (*nfds < maxfds)
				fds[(*nfds)++] = in[i];
			else
				(void)close(in[i]);
		}
	}
	if (n == 0) {
		/* The end, or an empty packet: nothing to decode or keep. */
		close_all(fds, nfds);
		return 0;
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    frame_peek(buf, (size_t)n, bufsz, &flen) != FRAME_OK ||
	    flen != (size_t)n || frame_decode(buf, (size_t)n, f) != FRAME_OK) {
		close_all(fds, nfds);
		errno = EBADMSG;
		return -1;
	}
	return n;
}

ssize_t
ipc_recv(int sock, uint8_t *buf, size_t bufsz, struct frame *f, int *fd)
{
	ssize_t	 n;
	int	 nfds;

	*fd = -1;
	n = ipc_recv_fds(sock, buf, bufsz, f, fd, 1, &nfds);
	if (nfds == 0)
		*fd = -1;
	return n;
}

int
ipc_ping(int sock, uint16_t type, uint64_t seq)
{
	struct frame_buf	 b;
	int			 rv;

	frame_begin(&b, type, FRAME_MAX_DEFAULT);
	frame_put_u64(&b, F_SEQ, seq);
	errno = EMSGSIZE;
	rv = frame_finish(&b) == -1 ? -1 : ipc_send(sock, &b, -1);
	frame_buf_free(&b);
	return rv;
}

/* The answer is a ping of its own type with the ping's number. */
int
ipc_pong(int sock, const struct frame *ping, uint16_t type)
{
	uint64_t	 seq;

	if (frame_get_u64(ping, F_SEQ, &seq) == -1) {
		errno = EINVAL;
		return -1;
	}
	return ipc_ping(sock, type, seq);
}
