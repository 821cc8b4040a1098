// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what netd reads from its control socket: bytes arrive in chunks through
 * the bounded line reader (a pipe stands in for the socket), each line is parsed as a request
 * the way ctl-server does it, and the reply to it is serialised.
 *
 * Input: byte 0 picks the chunk size (1..256 bytes per write), the rest is the stream. The
 * reader's limit is small (512 bytes) so that oversized lines and discarding are reached.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "ctl-proto.h"
#include "log.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void answer(const char *line, size_t len)
{
	_cleanup_ctl_error_ struct ctl_error err = {};
	struct ctl_request req = {};
	char *reply;
	size_t n;

	if (ctl_request_parse(line, len, &req, &err) < 0) {
		reply = ctl_reply_error(NULL, &err, &n);
	} else {
		if (!req.method || !*req.method)
			abort(); /* a parsed request always names its method */
		if (req.params && !json_is_object(req.params))
			abort();
		ctl_error_set(&err, CTL_ERR_METHOD_NOT_FOUND, NULL, "Method '%s' not found",
			      req.method);
		reply = ctl_reply_error(req.id, &err, &n);
	}
	if (!reply || n == 0 || reply[n - 1] != '\n' || memchr(reply, '\n', n - 1))
		abort(); /* every reply is exactly one line */
	free(reply);
	ctl_request_done(&req);
}

static void drain(struct ctl_linebuf *lb)
{
	char *line;
	size_t len;
	int r;

	while ((r = ctl_linebuf_next(lb, &line, &len)) != 0) {
		if (r == -EMSGSIZE)
			continue;
		if (r < 0 || memchr(line, '\n', len) || line[len] != '\0')
			abort();
		answer(line, len);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ctl_linebuf lb;
	size_t chunk, off;
	int p[2];

	if (size < 1 || size > 60000)
		return 0;
	chunk = (size_t)data[0] + 1;
	data++;
	size--;
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) < 0)
		abort();
	ctl_linebuf_init(&lb, 512);
	for (off = 0; off < size; off += chunk) {
		size_t n = MIN(chunk, size - off);
		int r;

		if (write(p[1], data + off, n) != (ssize_t)n)
			abort();
		while ((r = ctl_linebuf_fill(&lb, p[0])) > 0)
			drain(&lb);
		if (r != -EAGAIN)
			abort();
	}
	close(p[1]);
	/* EOF: what is left without a newline is never handed out */
	if (ctl_linebuf_fill(&lb, p[0]) != 0)
		abort();
	drain(&lb);
	close(p[0]);
	ctl_linebuf_done(&lb);
	return 0;
}
