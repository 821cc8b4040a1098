/* SPDX-License-Identifier: GPL-2.0-only */
/* The methods of events (events.h): events.list, events.subscribe. */
#ifndef NETD_EVENTS_METHODS_H
#define NETD_EVENTS_METHODS_H

#include "ctl-server.h"

extern const struct ctl_method event_methods[];

#endif
