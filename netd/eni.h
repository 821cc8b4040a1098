/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The ENI inventory: interfaces registered by MAC, and what the host namespace shows of them,
 * kept current by link events. netd never touches an interface that is not registered here.
 * The eni.* methods are eni-methods.c's.
 */
#ifndef NETD_ENI_H
#define NETD_ENI_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "netlink.h"

struct netd;
struct eni_attachment;

enum eni_state {
	ENI_STATE_MISSING,   /* registered, not (yet) present on the host */
	ENI_STATE_AVAILABLE, /* present on the host, free */
	ENI_STATE_ATTACHED,  /* claimed by a task */
	ENI_STATE_LOST,	     /* destroyed with a task's namespace; comes back if it reappears */
};

struct eni {
	struct eni *next;
	uint8_t mac[ADDR_MAC_LEN];
	char name[64]; /* the operator's label, may be empty */
	struct in_prefix subnet, gateway;
	struct in_prefix subnet6, gateway6; /* family 0 when unset */
	uint64_t registered_ns;
	/* the host's view, from link events */
	int ifindex; /* 0 when not in the host namespace */
	char ifname[IFNAMSIZ];
	unsigned int mtu;
	bool lost;
	struct eni_attachment *att; /* what it is attached as, NULL: none */
};

/* An ENI that an attach waits for is on the host now (told to the layer that waits). */
typedef void (*eni_appeared_fn)(struct netd *d, struct eni *e);

/* Follow the host's link events; appeared is told of an ENI an attach waits for. */
int eni_init(struct netd *d, eni_appeared_fn appeared);
void eni_exit(struct netd *d);
struct eni *eni_find(struct netd *d, const uint8_t mac[ADDR_MAC_LEN]);
enum eni_state eni_get_state(const struct eni *e);
const char *eni_state_to_string(enum eni_state s);
json_t *eni_to_json(const struct eni *e);
/* Validate and fill an ENI from eni.register's parameters; err says what is wrong. */
int eni_from_params(json_t *params, struct eni *e, char *err, size_t errlen);
/* Whether two registrations say the same (name, subnets, gateways). */
bool eni_same(const struct eni *a, const struct eni *b);
/* Add a registered ENI to the inventory (its journal is the caller's to write). */
void eni_add(struct netd *d, struct eni *e);
/* Take an ENI out of the inventory and free it. */
void eni_remove(struct netd *d, struct eni *e);
/* The journal's form of an ENI, and back. */
json_t *eni_to_journal(const struct eni *e);
int eni_from_json(json_t *j, struct eni **ret);
/* Write the ENI registrations' journal; read it at start (moving that of older netds). */
int eni_journal_save(struct netd *d);
int eni_journal_load(struct netd *d);
/* Find every registered ENI in the host namespace (at start). */
int eni_scan_host(struct netd *d);
/* Refresh an ENI's host view by MAC (ifindex 0 if not present). */
int eni_rescan(struct netd *d, struct eni *e);
/* An ENI went with its attachment's namespace (owner: whose it was, for the event). */
void eni_mark_lost(struct netd *d, struct eni *e, const char *owner);
/* A link event in the host namespace concerns a registered ENI. */
void eni_link_event(struct netd *d, const struct link_info *link, bool removed);

#endif
