/* SPDX-License-Identifier: GPL-2.0-only */
/* The move step: the ENI into the attachment's namespace, renamed, in one request. */
#ifndef NETD_STEP_MOVE_H
#define NETD_STEP_MOVE_H

#include "step.h"

extern const struct attach_step step_move;

#endif
