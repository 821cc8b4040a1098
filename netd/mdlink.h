/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The metadata link's names and addresses, from an attachment's slot: a veth pair per task,
 * point to point, the task side (md0) with 169.254.172.N/32, the host side (tpmd<slot>) with
 * 169.254.170.2/32, where the metadata endpoint listens. The link itself is made by the
 * metadata step (step-mdlink.h); the host side is filtered by mdfilter.h.
 */
#ifndef NETD_MDLINK_H
#define NETD_MDLINK_H

#include <jansson.h>
#include <net/if.h>

#include "addr.h"

struct eni_attachment;

#define MDLINK_IFNAME	   "md0"
#define MDLINK_HOST_PREFIX "tpmd"
#define MDLINK_ENDPOINT	   "169.254.170.2"
#define MDLINK_PORT	   80
#define MDLINK_SUBNET	   "169.254.172.0/22"
#define MDLINK_MAX_SLOT	   1021 /* 169.254.172.2 .. 169.254.175.255 */
/* The device group of metadata links handed to the reaper, deleted together. */
#define MDLINK_REAP_GROUP 0x74706d64 /* "tpmd" */

/* The task side's address (169.254.172.N) for a slot; -ERANGE past MDLINK_MAX_SLOT. */
int mdlink_address(unsigned int slot, struct in_prefix *ret);
/* The host side's name for a slot. */
void mdlink_host_ifname(unsigned int slot, char buf[IFNAMSIZ]);
/* The metadata member of an attachment's JSON, or NULL when it has no link. */
json_t *mdlink_to_json(const struct eni_attachment *a);

#endif
