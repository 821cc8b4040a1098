/* SPDX-License-Identifier: GPL-2.0-only */
/* The routes step: the attachment's routes, default (from its ENI's gateway) and extra. */
#ifndef NETD_STEP_ROUTES_H
#define NETD_STEP_ROUTES_H

#include "step.h"

extern const struct attach_step step_routes;

#endif
