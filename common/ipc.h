/*
 * ipc.h: frames over the internal channels.  Master and its children use
 * SOCK_SEQPACKET, one frame per packet, optionally with descriptors
 * (SCM_RIGHTS).  Only the master ever sends descriptors.
 */
#ifndef SC_IPC_H
#define SC_IPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "frame.h"

/* At most this many descriptors travel in one packet. */
#define IPC_MAX_FDS	4

/* Send one finished frame, with fd when fd >= 0.  0 or -1 (errno). */
int	ipc_send(int sock, const struct frame_buf *b, int fd);
/* The same with nfds (0..IPC_MAX_FDS) descriptors. */
int	ipc_send_fds(int sock, const struct frame_buf *b, const int *fds,
	    int nfds);
/*
 * Receive one packet into buf (bufsz), decode it into f, and take a passed
 * descriptor into *fd (-1 if none; extra descriptors are closed).  Returns
 * the packet length, 0 on EOF, -1 on error (errno, EBADMSG if malformed).
 */
ssize_t	ipc_recv(int sock, uint8_t *buf, size_t bufsz, struct frame *f, int *fd);
/*
 * The same, taking up to maxfds descriptors into fds (*nfds of them);
 * extras are closed, and so are all of them on EOF or error.
 */
ssize_t	ipc_recv_fds(int sock, uint8_t *buf, size_t bufsz, struct frame *f,
	    int *fds, int maxfds, int *nfds);
/*
 * Answer the master's ping on sock: a frame of type with the ping's F_SEQ.
 * 0, or -1 (errno; EINVAL: the ping has no F_SEQ).
 */
int	ipc_pong(int sock, const struct frame *ping, uint16_t type);
/*
 * The master's ping: a frame of type with seq.  0, or -1 (errno); a full
 * channel (EAGAIN) is a child not reading, which its deadline judges.
 */
int	ipc_ping(int sock, uint16_t type, uint64_t seq);

#endif
