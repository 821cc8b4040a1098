/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * A task VM's ENI shared with the task namespace's own sockets while the task is READY_PULL
 * (ebpf/tc_vmshare.bpf.c): the program on the ENI's ingress, between netd's counters and the VM
 * wiring's redirect; and the namespace's ephemeral ports, moved out of the VM's. All from netd's
 * namespace, entering the task's for the call.
 */
#ifndef NETD_VMSHARE_H
#define NETD_VMSHARE_H

#include <stddef.h>

/* Its tc priority on the ENI's ingress: after the counters (1), before the redirect (100). */
#define VMSHARE_PRIO 50
/* The namespace's ephemeral ports while it shares its ENI with a VM (the VM's own kernel uses
 * 32768-60999). */
#define VMSHARE_PORT_RANGE     "61000 65535"
#define VMSHARE_PORT_RANGE_MAX 32

/* Attach the program to ifindex of the namespace, sending ARP's copies to tap_ifindex. */
int vmshare_attach(int netns_fd, int ifindex, int tap_ifindex);
/* Detach it; 0 when it is not there. */
int vmshare_detach(int netns_fd, int ifindex);
/* Whether it is there: 1, 0, or -errno. */
int vmshare_attached(int netns_fd, int ifindex);
/* Set net.ipv4.ip_local_port_range of the namespace to range; the value it had goes into
 * ret_orig (when not NULL, size bytes). */
int vmshare_port_range(int netns_fd, const char *range, char *ret_orig, size_t size);

#endif
