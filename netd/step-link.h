/* SPDX-License-Identifier: GPL-2.0-only */
/* The steps that set the ENI's link (mtu, up) and the namespace's loopback (up). */
#ifndef NETD_STEP_LINK_H
#define NETD_STEP_LINK_H

#include "step.h"

extern const struct attach_step step_mtu;
extern const struct attach_step step_up;
extern const struct attach_step step_loopback;

#endif
