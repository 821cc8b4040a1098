// SPDX-License-Identifier: GPL-2.0-only
/*
 * stamp: the container's first instruction, timed. Prints CLOCK_MONOTONIC in microseconds and
 * exits: /bin/true that says when it ran. Linked statically, so that no dynamic loader runs
 * before main() (the same for every runtime compared). The monotonic clock is the host's (no
 * time namespace), so timed-start can subtract its own start from it.
 */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

int main(void)
{
	struct timespec ts;
	char buf[32];
	int n;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	n = snprintf(buf, sizeof(buf), "%llu\n",
		     (unsigned long long)ts.tv_sec * 1000000ULL +
			     (unsigned long long)ts.tv_nsec / 1000);
	return write(1, buf, (size_t)n) == n ? 0 : 1;
}
