/* SPDX-License-Identifier: GPL-2.0-only */
/* The dns step: /etc/netns/NAME/resolv.conf for a namespace /run/netns/NAME. */
#ifndef NETD_STEP_DNS_H
#define NETD_STEP_DNS_H

#include "step.h"

extern const struct attach_step step_dns;

#endif
