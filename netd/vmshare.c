// SPDX-License-Identifier: GPL-2.0-only
/* The READY_PULL sharing of a task VM's ENI (vmshare.h). */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fcntl.h>

#include "log.h"
#include "netns.h"
#include "tc_vmshare.skel.h"
#include "util.h"
#include "vmshare.h"

#define VMSHARE_HANDLE	0x54
#define PORT_RANGE_PATH "/proc/sys/net/ipv4/ip_local_port_range"

static void leave(int saved)
{
	/* netd cannot go on in a task's namespace. */
	if (netns_restore(saved) < 0) {
		log_err("Failed to return to netd's own network namespace");
		abort();
	}
}

int vmshare_attach(int netns_fd, int ifindex, int tap_ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = VMSHARE_HANDLE, .priority = VMSHARE_PRIO,
			    .flags = BPF_TC_F_REPLACE);
	struct tc_vmshare *skel;
	int saved = -1, r;

	skel = tc_vmshare__open();
	if (!skel)
		return errno_or(EINVAL);
	skel->rodata->tap_ifindex = (uint32_t)tap_ifindex;
	r = tc_vmshare__load(skel);
	if (r < 0)
		goto out;
	o.prog_fd = bpf_program__fd(skel->progs.tc_vmshare);
	r = netns_enter(netns_fd, &saved);
	if (r < 0)
		goto out;
	r = bpf_tc_hook_create(&hook);
	if (r == 0 || r == -EEXIST)
		r = bpf_tc_attach(&hook, &o);
	leave(saved);
out:
	/* The filter holds the program. */
	tc_vmshare__destroy(skel);
	return r;
}

int vmshare_detach(int netns_fd, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = VMSHARE_HANDLE, .priority = VMSHARE_PRIO);
	int saved = -1, r;

	r = netns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = bpf_tc_detach(&hook, &o);
	leave(saved);
	/* No filter (ENOENT), no clsact qdisc (EINVAL), no link (ENODEV). */
	return r == -ENOENT || r == -EINVAL || r == -ENODEV ? 0 : r;
}

int vmshare_attached(int netns_fd, int ifindex)
{
	DECLARE_LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = BPF_TC_INGRESS);
	DECLARE_LIBBPF_OPTS(bpf_tc_opts, o, .handle = VMSHARE_HANDLE, .priority = VMSHARE_PRIO);
	int saved = -1, r;

	r = netns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	r = bpf_tc_query(&hook, &o);
	leave(saved);
	if (r == -ENOENT || r == -EINVAL)
		return 0;
	return r < 0 ? r : 1;
}

int vmshare_port_range(int netns_fd, const char *range, char *ret_orig, size_t size)
{
	char buf[VMSHARE_PORT_RANGE_MAX] = "";
	int saved = -1, fd, r = 0;
	ssize_t n;

	r = netns_enter(netns_fd, &saved);
	if (r < 0)
		return r;
	/* A file of /proc/sys/net is the namespace's of whoever opens it. */
	fd = open(PORT_RANGE_PATH, O_RDWR | O_CLOEXEC);
	leave(saved);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	buf[n] = '\0';
	buf[strcspn(buf, "\n")] = '\0';
	/* Its tab as a space: "32768\t60999" written back reads the same. */
	for (char *p = buf; *p; p++)
		if (*p == '\t')
			*p = ' ';
	if (ret_orig)
		strscpy(ret_orig, buf, size);
	if (pwrite(fd, range, strlen(range), 0) < 0)
		r = -errno;
out:
	close(fd);
	return r;
}
