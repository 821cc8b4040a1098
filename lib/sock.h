/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Servers' sockets: a socket bound (and listening) on "ADDR:PORT", and the loop that accepts
 * what waits on it while there is room, refusing the rest or leaving it in the backlog.
 */
#ifndef TP_SOCK_H
#define TP_SOCK_H

#include <stdbool.h>
#include <sys/socket.h>

struct sock_listen_opts {
	int type;      /* SOCK_STREAM (0 too): listens; SOCK_DGRAM: bound only */
	int backlog;   /* of a stream socket; 0: 128 */
	bool freebind; /* IP_FREEBIND: the address need not be up yet */
};

/* What an accept loop does with each connection. */
struct sock_accept_ops {
	/* Whether one more connection fits (NULL: always). */
	bool (*room)(void *data);
	/* Take a connection (non-blocking, close-on-exec); a negative return closes it. */
	int (*take)(int fd, const struct sockaddr_storage *peer, void *data);
	/* Answer a connection there is no room for, then it is closed; NULL: leave the waiting
	 * ones in the backlog until there is room. */
	void (*refuse)(int fd, void *data);
};

/*
 * A non-blocking, close-on-exec socket with SO_REUSEADDR bound to address ("ADDR:PORT",
 * "[ADDR6]:PORT"; port 0 picks one), listening if it is a stream socket. ret_bound (may be
 * NULL) gets "ADDR:PORT" as bound, in a buffer of size bytes.
 */
int sock_listen(const char *address, const struct sock_listen_opts *opts, int *ret_fd,
		char *ret_bound, size_t size);
/*
 * Accept every connection waiting on the non-blocking listening socket lfd, as ops says.
 * Returns how many were taken, or -errno when accept() failed otherwise than for want of one
 * (the connections taken before stay taken).
 */
int sock_accept_all(int lfd, const struct sock_accept_ops *ops, void *data);

#endif
