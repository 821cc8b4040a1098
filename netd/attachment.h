/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * An ENI attachment: a registered ENI moved into a network namespace and configured there by
 * the steps of a plan (attach.h). It is what the steps work on and what their records are kept
 * in; it does not know who it is for. A task embeds one (task.h); an attachment of no task (a
 * platform ENI in a namespace of its own) is one with an owner that journals it its own way.
 */
#ifndef NETD_ATTACHMENT_H
#define NETD_ATTACHMENT_H

#include <jansson.h>
#include <net/if.h>
#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "netlink.h"
#include "netns.h"

struct eni;
struct netd;
struct eni_attachment;
struct attach_plan;

#define ATTACH_MAX_ADDRS  16
#define ATTACH_MAX_ROUTES 64

/* Where an attachment is in its life (its owner may have finer phases of its own). */
enum attach_state {
	ATTACH_STATE_ATTACHING, /* being attached, or waiting for its ENI */
	ATTACH_STATE_ATTACHED,	/* every step ran */
	ATTACH_STATE_DETACHING, /* being undone, or its undo failed and waits for a retry */
};

enum route_kind {
	ROUTE_KIND_DEFAULT, /* from the ENI's gateway */
	ROUTE_KIND_EXTRA,   /* given by the caller */
};

struct attach_route {
	enum route_kind kind;
	struct route_spec spec; /* spec.ifindex is filled at add time for device routes */
};

/* What the owner of an attachment does for it. */
struct attach_owner_ops {
	/* Journal the attachment with the owner's record (before each step and when a step's
	 * record changes). */
	int (*save)(struct eni_attachment *a);
};

struct eni_attachment {
	struct eni_attachment *next; /* netd's attachments (attachment_register()) */
	const struct attach_owner_ops *ops;
	const char *kind;    /* the owner's kind, for messages: "Task" */
	const char *id;	     /* the owner's id: messages, the names of its records */
	uint64_t created_ns; /* this attach: what its steps make is marked with it */
	/* a small number unique among live attachments: BPF counter keys, socket marks, link names */
	unsigned int slot;
	enum attach_state state;
	const struct attach_plan *plan;
	/* steps [0, steps_begun) of the plan may have changed the kernel (journalled) */
	unsigned int steps_begun;
	char fault[32]; /* injected failure: "STEP" or "crash:STEP" (fault injection only) */

	/* where */
	char *netns_path;
	struct netns_id netns_id;
	/* the ENI */
	uint8_t mac[ADDR_MAC_LEN];
	struct eni *eni;	    /* NULL when it is no longer registered */
	char ifname[IFNAMSIZ];	    /* its name in the namespace */
	char orig_ifname[IFNAMSIZ]; /* the host's name before the attach */
	unsigned int orig_mtu;
	int ifindex; /* in the namespace */
	unsigned int mtu;
	/* its configuration */
	struct in_prefix addrs[ATTACH_MAX_ADDRS];
	unsigned int naddrs;
	struct attach_route routes[ATTACH_MAX_ROUTES];
	unsigned int nroutes;
	json_t *dns; /* {nameservers, domain, search, options} or NULL */
	bool block_imds;
	bool metadata_link; /* a point-to-point link to the metadata endpoint */
	bool resolv_conf;   /* may write /etc/netns/NAME/resolv.conf (step dns) */
	/* no connection from outside on the ENI (a platform ENI's guards) */
	bool refuse_inbound;
	/* a VM's ENI shared with the namespace's own sockets (READY_PULL, READY; step-tap.h) */
	bool vm_share;

	/* the steps' records, journalled with it */
	char guards_table[IFNAMSIZ + 16]; /* its nftables table in the namespace (guards.h) */
	bool resolv_written;		  /* the dns step wrote resolv.conf */
	bool resolv_dir_created;	  /* ... and created /etc/netns/NAME for it */
	char vm_port_range[32];		  /* the vm step moved the ephemeral ports from these */

	uint64_t guards_read_usec; /* when the guards' counters were last copied to the stats */
};

/* Add an attachment to netd's, which the steps' modules go through (its owner's doing). */
void attachment_register(struct netd *d, struct eni_attachment *a);
/* Take it out again (before it is freed). */
void attachment_unregister(struct netd *d, struct eni_attachment *a);
/* The attachment of an owner's id, or NULL. */
struct eni_attachment *attachment_find(struct netd *d, const char *id);
/* Free what the attachment holds (not the attachment, which its owner embeds). */
void attachment_done(struct eni_attachment *a);
/* Journal it through its owner (-EOPNOTSUPP: its owner keeps no journal). */
int attachment_save(struct eni_attachment *a);
/* After a detach, the ENI is back: a no longer claims it, and result gets its state and, when
 * it is on the host, its name there (nothing when it is no longer registered). */
void attachment_release_eni(struct eni_attachment *a, json_t *result);
/* Open its namespace, checking it is still the one attached (-ENOENT if it is gone). */
int attachment_netns_open(const struct eni_attachment *a, int *ret_fd);

#endif
