/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A token bucket: `rate` tokens a second, at most `burst` saved up; each request takes one. The
 * metadata endpoint gives each task one (40/s steady, burst 60, as the ECS agent's). Not locked:
 * the caller holds the lock of whatever owns the bucket.
 */
#ifndef TP_RATELIMIT_H
#define TP_RATELIMIT_H

#include <stdbool.h>
#include <stdint.h>

#define RATELIMIT_DEFAULT_RATE	40
#define RATELIMIT_DEFAULT_BURST 60

struct ratelimit_opts {
	unsigned int rate;  /* tokens a second; 0 turns limiting off */
	unsigned int burst; /* bucket size, >= 1 */
};

struct ratelimit {
	uint64_t tokens_milli; /* thousandths of a token */
	uint64_t last_usec;
	bool started;
};

/* Take a token at time now (monotonic µs): true if the request may go on. */
bool ratelimit_take(struct ratelimit *rl, const struct ratelimit_opts *o, uint64_t now);
/* Parse "RATE" or "RATE:BURST" (burst defaults to 1.5 × rate, at least 1); "0" is off. */
int ratelimit_opts_parse(const char *s, struct ratelimit_opts *ret);

#endif
