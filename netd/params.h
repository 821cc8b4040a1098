/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the owners of attachments (a task, a platform ENI) share of their parameters: routes and
 * DNS as the control protocol gives them, the routes that come from the ENI, and the checks made
 * before an attach touches the kernel.
 */
#ifndef NETD_PARAMS_H
#define NETD_PARAMS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "attachment.h"
#include "util.h"

struct ctl_call;
struct eni;
struct netd;

/* What was wrong with a parameter, for the caller. */
struct params_err {
	char msg[512];
};

/* Say what is wrong in e; returns -EINVAL. */
_printf_(2, 3) int params_fail(struct params_err *e, const char *fmt, ...);
/* An integer in [min, max]. */
int params_uint(json_t *v, const char *what, uint32_t min, uint32_t max, uint32_t *ret,
		struct params_err *e);
/* routes[idx]: {dst, gw?, mtu?, advmss?, priority?, table?, type?, kind?, onlink?}. */
int params_route(json_t *j, unsigned int idx, struct attach_route *ret, struct params_err *e);
/* A route as the protocol shows it. */
json_t *params_route_to_json(const struct attach_route *r);
/* dns: {nameservers?, domain?, search?, options?}. */
int params_dns(json_t *dns, struct params_err *e);
/*
 * What every attachment is given: its namespace (an absolute path), its ENI's MAC, its name in
 * the namespace (default_ifname unless ifname) and its MTU (default_mtu unless mtu). -ENOMEM, or
 * -EINVAL with e.
 */
int params_link(struct eni_attachment *a, const char *netns, const char *mac, const char *ifname,
		const char *default_ifname, json_t *mtu, unsigned int default_mtu,
		struct params_err *e);
/* The CIDRs of addrs (an array, of at most ATTACH_MAX_ADDRS) appended to a's, none twice. */
int params_addresses(struct eni_attachment *a, json_t *addrs, struct params_err *e);
/* The routes array appended to a's: the caller's (kind extra) unless from the journal. */
int params_routes(struct eni_attachment *a, json_t *routes, bool journal, struct params_err *e);
/* a's DNS settings, when dns is given and not null (kept when not empty). */
int params_attach_dns(struct eni_attachment *a, json_t *dns, struct params_err *e);
/*
 * Put the routes that come from ENI e before a's own: its default routes, unless another ENI of
 * the namespace has them (with_default false). Every IPv4 address must be in e's subnet.
 */
int params_eni_routes(struct eni_attachment *a, struct eni *e, bool with_default,
		      struct params_err *pe);
/*
 * Refuse what would change a's namespace in ways we do not own, before any change: a namespace
 * that is not there, not one, or netd's own; an interface name taken (a's, and the metadata
 * link's if it has one). Fills a->netns_id. Answers call on failure (-errno).
 */
int params_precheck(struct ctl_call *call, struct netd *d, struct eni_attachment *a);
/* The first attachment of ours in that namespace, or NULL. */
struct eni_attachment *params_netns_attachment(struct netd *d, const struct netns_id *id);

#endif
