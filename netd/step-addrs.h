/* SPDX-License-Identifier: GPL-2.0-only */
/* The addresses step: the attachment's addresses on its ENI. */
#ifndef NETD_STEP_ADDRS_H
#define NETD_STEP_ADDRS_H

#include "step.h"

extern const struct attach_step step_addrs;

#endif
