/* SPDX-License-Identifier: GPL-2.0-only */
/* The methods of holds (hold.h): task.hold, task.release, task.holds. */
#ifndef NETD_HOLD_METHODS_H
#define NETD_HOLD_METHODS_H

#include "ctl-server.h"

extern const struct ctl_method hold_methods[];

#endif
