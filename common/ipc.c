/*
 * ipc.c: one frame per SOCK_SEQPACKET packet between the master and its
 * children, with at most one descriptor riding along (SCM_RIGHTS).
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "ipc.h"

int
ipc_send(int sock, const struct frame_buf *b, int fd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	ssize_t		 n;

	memset(&msg, 0, sizeof(msg));
	memset(&cmsgbuf, 0, sizeof(cmsgbuf));
	iov.iov_base = b->data;
	iov.iov_len = b->len;
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	if (fd >= 0) {
		msg.msg_control = cmsgbuf.buf;
		msg.msg_controllen = sizeof(cmsgbuf.buf);
		cmsg = CMSG_FIRSTHDR(&msg);
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
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

ssize_t
ipc_recv(int sock, uint8_t *buf, size_t bufsz, struct frame *f, int *fd)
{
	struct msghdr	 msg;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(4 * sizeof(int))];
	} cmsgbuf;
	struct cmsghdr	*cmsg;
	ssize_t		 n;
	size_t		 flen, i, nfds;
	int		 fds[4];

	*fd = -1;
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
		nfds = (cmsg->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		if (nfds > 4)
			nfds = 4;
		memcpy(fds, CMSG_DATA(cmsg), nfds * sizeof(int));
		/* Keep the first descriptor; never let extras leak. */
		for (i = 0; i < nfds; i++) {
			if (*fd == -1)
				*fd = fds[i];
			else
				(void)close(fds[i]);
		}
	}
	if (n == 0) {
		/* The end, or an empty packet: nothing to decode or keep. */
		if (*fd != -1)
			(void)close(*fd);
		*fd = -1;
		return 0;
	}
	if ((msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) ||
	    frame_peek(buf, (size_t)n, bufsz, &flen) != FRAME_OK ||
	    flen != (size_t)n || frame_decode(buf, (size_t)n, f) != FRAME_OK) {
		if (*fd != -1) {
			(void)close(*fd);
			*fd = -1;
		}
		errno = EBADMSG;
		return -1;
	}
	return n;
}
