/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The VM wiring step (task.attach with "wiring": "vm", docs/vm.md): a tap in the task's
 * namespace beside the ENI, and every frame redirected both ways between them with tc (u32
 * match-all, mirred egress redirect), after netd's counters on the ENI's ingress and before them
 * on its egress, so that the counters and the anti-spoofing stay in front of the VM; with a
 * metadata link, a second tap beside it, wired the same way. The runtime's qemu, in the task's
 * namespace, opens the taps by name (IFF_TAP | IFF_NO_PI).
 */
#ifndef NETD_STEP_TAP_H
#define NETD_STEP_TAP_H

#include "step.h"

#define STEP_TAP_ENI	  "tap0"  /* beside the ENI */
#define STEP_TAP_METADATA "tapmd" /* beside the metadata link */
/* The priority of the redirect filters: after netd's ingress program (1). */
#define STEP_TAP_PRIO 100

extern const struct attach_step step_tap;

/* The ENI shared with the namespace's sockets (on: READY_PULL and READY) or the VM's alone, for
 * an attachment whose vm step began; 0 for another. err says what failed. */
int step_tap_share(struct netd *d, struct eni_attachment *a, bool on, char *err, size_t errlen);

#endif
