/*
 * securechatctl.c: the operator's tool.  Sends one command line to the
 * broker over the root-only control socket and prints the answer.
 */
#include "config.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "proto.h"
#include "util.h"

#define DEFAULT_SOCKET	RUNSTATEDIR "/securechat/securechat.sock"
#define REPLY_MAX	(1024 * 1024)
#define TIMEOUT_MS	10000

static void
usage(void)
{
	fprintf(stderr, "usage: securechatctl [-s socket] command\n"
	    "commands: invite, reset-key USER, stats, who, rooms\n");
	exit(2);
}

static int
connect_to(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, path, sizeof(sun.sun_path)) == -1) {
		fprintf(stderr, "securechatctl: %s: path too long\n", path);
		exit(1);
	}
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		fprintf(stderr, "securechatctl: %s: %s (is securechatd "
		    "running, and are you root?)\n", path, strerror(errno));
		exit(1);
	}
	return fd;
}

/* Read one whole reply frame, bounded in size and time. */
static uint8_t *
read_reply(int fd, size_t *len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	uint8_t		*buf;
	size_t		 have = 0, flen = 0;
	ssize_t		 n;
	int		 rv;

	if ((buf = malloc(REPLY_MAX)) == NULL) {
		perror("securechatctl: malloc");
		exit(1);
	}
	for (;;) {
		if (have >= FRAME_HDR_LEN) {
			rv = frame_peek(buf, have, REPLY_MAX, &flen);
			if (rv == FRAME_OK)
				break;
			if (rv != FRAME_NEED_MORE) {
				fprintf(stderr, "securechatctl: bad reply\n");
				exit(1);
			}
		}
		if (poll(&pfd, 1, TIMEOUT_MS) != 1) {
			fprintf(stderr, "securechatctl: no reply\n");
			exit(1);
		}
		if ((n = read(fd, buf + have, REPLY_MAX - have)) <= 0) {
			fprintf(stderr, "securechatctl: connection closed "
			    "(the daemon refused this user?)\n");
			exit(1);
		}
		have += (size_t)n;
	}
	*len = flen;
	return buf;
}

int
main(int argc, char *argv[])
{
	struct frame_buf	 b;
	struct frame		 f;
	const char		*path = DEFAULT_SOCKET;
	const uint8_t		*text;
	uint8_t			*reply;
	size_t			 len, tlen;
	uint16_t		 code;
	char			 line[512];
	int			 ch, fd;

	while ((ch = getopt(argc, argv, "s:")) != -1) {
		switch (ch) {
		case 's':
			path = optarg;
			break;
		default:
			usage();
		}
	}
	/* A command and at most one argument, sent as one line. */
	if (optind + 1 != argc && optind + 2 != argc)
		usage();
	if (optind + 2 == argc)
		(void)snprintf(line, sizeof(line), "%s %s", argv[optind],
		    argv[optind + 1]);
	else
		(void)snprintf(line, sizeof(line), "%s", argv[optind]);
	fd = connect_to(path);
	frame_begin(&b, CTL_REQUEST, 4096);
	frame_put_str(&b, F_TEXT, line);
	if (frame_finish(&b) == -1 || write(fd, b.data, b.len) != (ssize_t)b.len) {
		fprintf(stderr, "securechatctl: cannot send the command\n");
		return 1;
	}
	frame_buf_free(&b);
	reply = read_reply(fd, &len);
	if (frame_decode(reply, len, &f) != FRAME_OK ||
	    frame_validate(&f, proto_ctl_spec(f.type)) != FRAME_OK ||
	    f.type != CTL_REPLY || frame_get_u16(&f, F_CODE, &code) == -1 ||
	    frame_get_bytes(&f, F_LIST, &text, &tlen) == -1) {
		fprintf(stderr, "securechatctl: malformed reply\n");
		return 1;
	}
	if (fwrite(text, 1, tlen, code ? stderr : stdout) != tlen)
		return 1;
	free(reply);
	close(fd);
	return code ? 1 : 0;
}
