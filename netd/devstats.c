// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "addr.h"
#include "devstats.h"
#include "util.h"

/* Room for the answers of a batch of pipelined reads, and no read waits for ever. */
#define DEVSTATS_RCVBUF	    (1 << 21)
#define DEVSTATS_TIMEOUT_MS 2000

struct devstats {
	struct netlink *nl;
};

int devstats_new(struct devstats **ret)
{
	struct devstats *s;
	int r;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	r = netlink_open(-1, &s->nl);
	if (r < 0) {
		free(s);
		return r;
	}
	r = netlink_set_rcvbuf(s->nl, DEVSTATS_RCVBUF, DEVSTATS_TIMEOUT_MS);
	if (r < 0) {
		devstats_free(s);
		return r;
	}
	*ret = s;
	return 0;
}

struct devstats *devstats_free(struct devstats *s)
{
	if (!s)
		return NULL;
	netlink_free(s->nl);
	free(s);
	return NULL;
}

int devstats_nsid(struct devstats *s, int netns_fd, int *ret_nsid)
{
	return netlink_nsid(s->nl, netns_fd, ret_nsid);
}

int devstats_read(struct devstats *s, struct devstats_query *queries, unsigned int n)
{
	_cleanup_free_ struct netlink_link_query *q = calloc(MAX(n, 1u), sizeof(*q));
	int r;

	if (!q)
		return -ENOMEM;
	for (unsigned int i = 0; i < n; i++)
		q[i] = (struct netlink_link_query){ .nsid = queries[i].nsid,
						    .ifindex = queries[i].ifindex };
	r = netlink_link_query(s->nl, q, n);
	for (unsigned int i = 0; i < n; i++) {
		struct devstats_query *x = &queries[i];

		x->error = q[i].error;
		if (x->error == -EINVAL && (x->nsid < 0 || x->ifindex <= 0))
			x->error = -ENOTCONN;
		else if (x->error == 0 &&
			 (!q[i].info.has_mac || memcmp(q[i].info.mac, x->mac, ADDR_MAC_LEN) != 0))
			x->error = -ENODEV;
		if (x->error == 0)
			x->stats = q[i].info.stats;
	}
	return r;
}
