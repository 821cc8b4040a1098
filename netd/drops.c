// SPDX-License-Identifier: GPL-2.0-only
/* What the nftables counters and the metadata link counted, into the counter maps (drops.h). */
#include "attachment.h"
#include "counters-bpf.h"
#include "drops.h"
#include "guards.h"
#include "log.h"
#include "mdfilter.h"
#include "mdlink.h"
#include "netd.h"

static void guards_refresh(struct netd *d, struct eni_attachment *t)
{
	struct guards_counters gc;
	int fd, r;

	if (!(guards_wanted(t) || t->metadata_link) || t->state == ATTACH_STATE_ATTACHING)
		return;
	if (attachment_netns_open(t, &fd) < 0)
		return;
	if (t->metadata_link) {
		struct netlink *nl = NULL;
		struct link_info li;

		/* The metadata flow is md0's traffic, counted by the kernel for that link alone. */
		if (netlink_open(fd, &nl) == 0 &&
		    netlink_link_get(nl, 0, MDLINK_IFNAME, &li) == 0) {
			(void)counters_bpf_set_link_flow(d->bpf, t->slot, TC_FLOW_METADATA,
							 TC_DIR_RX, li.stats.rx_bytes,
							 li.stats.rx_packets);
			(void)counters_bpf_set_link_flow(d->bpf, t->slot, TC_FLOW_METADATA,
							 TC_DIR_TX, li.stats.tx_bytes,
							 li.stats.tx_packets);
		}
		netlink_free(nl);
	}
	r = guards_read(fd, t->guards_table, &gc);
	close(fd);
	if (r < 0) {
		log_debug_errno(r, "%s '%s': failed to read the guards' counters: %m", t->kind,
				t->id);
		return;
	}
	t->guards_read_usec = now_usec();
	(void)counters_bpf_set_drops(d->bpf, t->slot, TC_DROP_IMDS, TC_DIR_TX, gc.imds_bytes,
				     gc.imds_packets);
	(void)counters_bpf_set_drops(d->bpf, t->slot, TC_DROP_POLICY, TC_DIR_TX, gc.policy_tx_bytes,
				     gc.policy_tx_packets);
	(void)counters_bpf_set_drops(d->bpf, t->slot, TC_DROP_POLICY, TC_DIR_RX, gc.policy_rx_bytes,
				     gc.policy_rx_packets);
}

void drops_refresh(struct netd *d, struct eni_attachment *a)
{
	guards_refresh(d, a);
	mdfilter_refresh(d, a);
}

void drops_refresh_all(struct netd *d, unsigned int max_age_sec)
{
	uint64_t now = now_usec(), max_age = (uint64_t)max_age_sec * 1000000ULL;

	for (struct eni_attachment *a = d->attachments; a; a = a->next)
		if (now - a->guards_read_usec >= max_age)
			guards_refresh(d, a);
	/* The host's filter of the metadata links: every attachment in one dump. */
	mdfilter_refresh(d, NULL);
}
