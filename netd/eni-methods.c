// SPDX-License-Identifier: GPL-2.0-only
/* The methods of ENIs: eni.register, eni.deregister, eni.list, eni.show. */
#include "attachment.h"
#include "eni-methods.h"
#include "eni.h"
#include "events.h"
#include "json-util.h"
#include "log.h"
#include "netd.h"

static int parse_mac_param(struct ctl_call *call, json_t *params, uint8_t mac[ADDR_MAC_LEN])
{
	const char *s = NULL;
	json_error_t jerr;

	if (!params || json_unpack_ex(params, &jerr, JSON_STRICT, "{s:s}", "mac", &s) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
			       params ? jerr.text : "missing 'mac'");
		return -EINVAL;
	}
	if (addr_mac_parse(s, mac) < 0) {
		ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid MAC address '%s'", s);
		return -EINVAL;
	}
	return 0;
}

static int do_eni_register(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	char err[256], mac[ADDR_MAC_STRLEN];
	struct eni *e, *old;
	int r;

	if (!params)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS,
				      "Missing parameters 'mac', 'subnet' and 'gateway'");
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	r = eni_from_params(params, e, err, sizeof(err));
	if (r < 0) {
		free(e);
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "%s", err);
	}
	addr_mac_format(e->mac, mac);

	old = eni_find(d, e->mac);
	if (old) {
		bool same = eni_same(old, e);

		free(e);
		if (!same)
			return ctl_call_failf(
				call, CTL_ERR_EXISTS,
				"ENI %s is already registered with other parameters; deregister it first",
				mac);
		return ctl_call_reply(call, eni_to_json(old));
	}
	if (d->nenis >= NETD_MAX_ENIS) {
		free(e);
		return ctl_call_failf(call, CTL_ERR_LIMIT, "Too many ENIs (at most %d)",
				      NETD_MAX_ENIS);
	}
	r = eni_rescan(d, e);
	if (r < 0) {
		free(e);
		return ctl_call_fail_errno(call, r, "Failed to look for ENI %s on the host: %s",
					   mac, strerror(-r));
	}
	eni_add(d, e);
	r = eni_journal_save(d);
	if (r < 0) {
		eni_remove(d, e);
		return ctl_call_fail_errno(call, r, "Failed to write the ENI journal: %s",
					   strerror(-r));
	}
	events_emit(
		d, "eni.registered",
		json_pack("{s:s, s:s}", "mac", mac, "state", eni_state_to_string(eni_get_state(e))),
		"ENI %s registered (%s%s%s)", mac, eni_state_to_string(eni_get_state(e)),
		e->ifindex ? " as " : "", e->ifindex ? e->ifname : "");
	return ctl_call_reply(call, eni_to_json(e));
}

static int do_eni_deregister(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	uint8_t macb[ADDR_MAC_LEN];
	char mac[ADDR_MAC_STRLEN];
	struct eni *e;
	int r;

	if (parse_mac_param(call, params, macb) < 0)
		return 0;
	addr_mac_format(macb, mac);
	e = eni_find(d, macb);
	if (!e)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "ENI %s is not registered", mac);
	if (e->att)
		return ctl_call_failf(call, CTL_ERR_BUSY,
				      "ENI %s is attached to task '%s'; detach the task first", mac,
				      e->att->id);
	eni_remove(d, e);
	r = eni_journal_save(d);
	if (r < 0)
		log_warn_errno(r, "Failed to write the ENI journal: %m, ignoring");
	events_emit(d, "eni.deregistered", json_pack("{s:s}", "mac", mac), "ENI %s deregistered",
		    mac);
	return ctl_call_reply(call, json_pack("{s:s, s:b}", "mac", mac, "deregistered", 1));
}

static int do_eni_list(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	json_t *arr;

	if (params && json_object_size(params) > 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Method takes no parameters");
	arr = json_array();
	for (struct eni *e = d->enis; e; e = e->next)
		json_array_append_new(arr, eni_to_json(e));
	json_array_sort_by_key(arr, "registered");
	return ctl_call_reply(call, arr);
}

static int do_eni_show(struct ctl_call *call, json_t *params, void *userdata)
{
	struct netd *d = userdata;
	uint8_t mac[ADDR_MAC_LEN];
	char buf[ADDR_MAC_STRLEN];
	struct eni *e;

	if (parse_mac_param(call, params, mac) < 0)
		return 0;
	e = eni_find(d, mac);
	if (!e)
		return ctl_call_failf(call, CTL_ERR_NOT_FOUND, "ENI %s is not registered",
				      addr_mac_format(mac, buf));
	return ctl_call_reply(call, eni_to_json(e));
}

const struct ctl_method eni_methods[] = { { "eni.register", do_eni_register, CTL_METHOD_WRITE },
					  { "eni.deregister", do_eni_deregister, CTL_METHOD_WRITE },
					  { "eni.list", do_eni_list, 0 },
					  { "eni.show", do_eni_show, 0 },
					  {} };
