/* SPDX-License-Identifier: GPL-2.0-only */
/* The metadata step: the attachment's metadata link, let into netd's filter. */
#ifndef NETD_STEP_MDLINK_H
#define NETD_STEP_MDLINK_H

#include <stdbool.h>

#include "step.h"

extern const struct attach_step step_mdlink;

/* Whether the attachment's metadata link may exist: it has one and its step began. */
bool step_mdlink_may_exist(const struct eni_attachment *a);

#endif
