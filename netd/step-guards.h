/* SPDX-License-Identifier: GPL-2.0-only */
/* The guards step: the attachment's nftables table in its namespace (guards.h). */
#ifndef NETD_STEP_GUARDS_H
#define NETD_STEP_GUARDS_H

#include "step.h"

extern const struct attach_step step_guards;

#endif
