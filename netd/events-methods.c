// SPDX-License-Identifier: GPL-2.0-only
#include "events-methods.h"
#include "events.h"
#include "util.h"

static int do_events_list(struct ctl_call *call, json_t *params, void *userdata)
{
	json_int_t since = 0;
	json_error_t jerr;

	if (params && json_unpack_ex(params, &jerr, JSON_STRICT, "{s?I}", "since", &since) < 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Invalid parameters: %s",
				      jerr.text);
	return ctl_call_reply(call, events_list(userdata, since > 0 ? (uint64_t)since : 0));
}

static int do_events_subscribe(struct ctl_call *call, json_t *params, void *userdata)
{
	int r;

	if (params && json_object_size(params) > 0)
		return ctl_call_failf(call, CTL_ERR_INVALID_PARAMS, "Method takes no parameters");
	r = ctl_call_subscribe(call, "events");
	if (r < 0)
		return ctl_call_fail_errno(call, r, "Failed to subscribe: %s", strerror(-r));
	return ctl_call_reply(call, json_pack("{s:s, s:I}", "subscribed", "events", "next_seq",
					      (json_int_t)events_next_seq(userdata)));
}

const struct ctl_method event_methods[] = { { "events.list", do_events_list, 0 },
					    { "events.subscribe", do_events_subscribe, 0 },
					    {} };
