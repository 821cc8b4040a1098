// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>

#include "ratelimit.h"
#include "util.h"

bool ratelimit_take(struct ratelimit *rl, const struct ratelimit_opts *o, uint64_t now)
{
	uint64_t cap = (uint64_t)o->burst * 1000;

	if (o->rate == 0)
		return true;
	if (!rl->started) {
		rl->started = true;
		rl->tokens_milli = cap;
		rl->last_usec = now;
	} else if (now > rl->last_usec) {
		/* rate tokens/s = rate milli-tokens/ms; refill with µs precision */
		uint64_t add = (now - rl->last_usec) * o->rate / 1000;

		if (add > 0) {
			rl->tokens_milli = MIN(cap, rl->tokens_milli + add);
			/* keep the remainder of the µs that did not make a milli-token */
			rl->last_usec = now - ((now - rl->last_usec) * o->rate % 1000) / o->rate;
		}
	}
	if (rl->tokens_milli < 1000)
		return false;
	rl->tokens_milli -= 1000;
	return true;
}

int ratelimit_opts_parse(const char *s, struct ratelimit_opts *ret)
{
	unsigned long rate, burst;
	char *end;

	errno = 0;
	rate = strtoul(s, &end, 10);
	if (errno || end == s || rate > 1000000 || *s == '-')
		return -EINVAL;
	if (*end == ':') {
		const char *b = end + 1;

		burst = strtoul(b, &end, 10);
		if (errno || end == b || *end || burst < 1 || burst > 1000000 || *b == '-')
			return -EINVAL;
	} else if (*end) {
		return -EINVAL;
	} else {
		burst = MAX(1UL, rate + rate / 2);
	}
	*ret = (struct ratelimit_opts){ .rate = (unsigned int)rate, .burst = (unsigned int)burst };
	return 0;
}
