// SPDX-License-Identifier: GPL-2.0-only
/*
 * The checks and rules of a platform version (docs/runtime.md); the versions themselves are the
 * manifests' (platform-manifest.c, docs/platforms.md). The modules only ever ask them.
 */
#include <math.h>

#include "platform.h"
#include "taskdef.h"
#include "util.h"

unsigned int platform_storage_gib(const struct platform *p, const struct taskdef *d)
{
	switch (p->storage) {
	case PLATFORM_STORAGE_FLAT:
		return d->has_ephemeral ? d->ephemeral_gib : p->storage_gib;
	case PLATFORM_STORAGE_SPLIT:
		return p->layer_gib + p->volumes_gib;
	}
	return 0;
}

uint64_t platform_container_caps(const struct platform *p, const struct taskdef_container *c)
{
	uint64_t kept = c->cap_drop_all ? 0 : p->caps_default & ~c->cap_drop;
	uint64_t added = c->cap_add;

	if (c->cap_add_all)
		added |= c->cap_drop_all ? 0 : p->caps_default & ~c->cap_drop;
	return kept | added;
}

/* The first version (in table order) on which cap may be added, or NULL. */
static const struct platform *first_allowing(unsigned int cap)
{
	const struct platform *const *all = platform_all();

	for (size_t i = 0; all[i]; i++)
		if (all[i]->caps_addable & (1ULL << cap))
			return all[i];
	return NULL;
}

/* The names of a capability set, "A, B" (or "none"). */
static void caps_names(uint64_t set, char *buf, size_t size)
{
	size_t n = 0;

	buf[0] = '\0';
	for (unsigned int cap = 0; cap < 64; cap++) {
		const char *name = taskdef_cap_name(cap);

		if (!(set & (1ULL << cap)) || !name)
			continue;
		n += (size_t)snprintf(buf + n, n < size ? size - n : 0, "%s%s", n ? ", " : "",
				      name);
	}
	if (!n)
		strscpy(buf, "none", size);
}

static int check_caps(const struct platform *p, const struct taskdef_container *c, char **ret_error)
{
	uint64_t refused = c->cap_add & ~p->caps_addable;
	char allowed[256];

	caps_names(p->caps_addable, allowed, sizeof(allowed));
	if (c->cap_add_all && !p->caps_addable)
		return fail_with(
			ret_error,
			"container '%s': linuxParameters.capabilities.add is not supported on platform version %s",
			c->name, p->version);
	for (unsigned int cap = 0; cap < 64; cap++) {
		const struct platform *later;

		if (!(refused & (1ULL << cap)))
			continue;
		later = first_allowing(cap);
		if (later)
			return fail_with(
				ret_error,
				"container '%s': capability %s needs platform version %s or later (platform version %s may add %s)",
				c->name, taskdef_cap_name(cap), later->version, p->version,
				allowed);
		return fail_with(
			ret_error,
			"container '%s': capability %s cannot be added on Fargate (platform version %s may add %s)",
			c->name, taskdef_cap_name(cap), p->version, allowed);
	}
	return 0;
}

static bool size_offered(const struct platform *p, unsigned int cpu, int64_t mib)
{
	for (unsigned int i = 0; i < p->n_sizes; i++) {
		const struct platform_size *s = &p->sizes[i];

		if (s->cpu != cpu || mib < s->memory_min || mib > s->memory_max)
			continue;
		if (!s->memory_step || (mib - s->memory_min) % s->memory_step == 0)
			return true;
	}
	return false;
}

static int check_size(const struct platform *p, const struct taskdef *d, char **ret_error)
{
	unsigned int cpu;
	int64_t cpus = 0, mems = 0;

	if (!d->has_cpu || !d->has_memory)
		return fail_with(ret_error, "task cpu and memory are required on Fargate");
	cpu = (unsigned int)lround(d->cpu_vcpu * 1024);
	if (fabs(d->cpu_vcpu * 1024 - cpu) > 1e-6 || !size_offered(p, cpu, d->memory_mib))
		return fail_with(
			ret_error,
			"task size cpu %g vCPU and memory %lld MiB is not offered on platform version %s",
			d->cpu_vcpu, (long long)d->memory_mib, p->version);
	for (size_t i = 0; i < d->n_containers; i++) {
		const struct taskdef_container *c = &d->containers[i];

		if (c->has_cpu)
			cpus += c->cpu;
		if (c->has_memory && c->memory > d->memory_mib)
			return fail_with(
				ret_error,
				"container '%s': memory %lld MiB is more than the task's %lld MiB",
				c->name, (long long)c->memory, (long long)d->memory_mib);
		if (c->has_memory_reservation)
			mems += c->memory_reservation;
		else if (c->has_memory)
			mems += c->memory;
	}
	if (cpus > cpu)
		return fail_with(
			ret_error,
			"the containers' cpu (%lld units) is more than the task's (%u units)",
			(long long)cpus, cpu);
	if (mems > d->memory_mib)
		return fail_with(
			ret_error,
			"the containers' memory reservations (%lld MiB) are more than the task's memory (%lld MiB)",
			(long long)mems, (long long)d->memory_mib);
	return 0;
}

int platform_check_taskdef(const struct platform *p, const struct taskdef *d, char **ret_error)
{
	int r;

	if (ret_error)
		*ret_error = NULL;
	if (d->has_ephemeral) {
		if (!p->storage_min_gib)
			return fail_with(
				ret_error,
				"ephemeralStorage is not supported on platform version %s (it needs 1.4.0 or later)",
				p->version);
		if (d->ephemeral_gib < p->storage_min_gib || d->ephemeral_gib > p->storage_max_gib)
			return fail_with(
				ret_error,
				"ephemeralStorage.sizeInGiB must be %u-%u on platform version %s",
				p->storage_min_gib, p->storage_max_gib, p->version);
	}
	r = check_size(p, d, ret_error);
	if (r < 0)
		return r;
	for (size_t i = 0; i < d->n_containers; i++) {
		r = check_caps(p, &d->containers[i], ret_error);
		if (r < 0)
			return r;
	}
	if (d->unsupported)
		return fail_with(ret_error, "%s is not supported by taskvm yet", d->unsupported);
	for (size_t i = 0; i < d->n_containers; i++)
		if (d->containers[i].unsupported)
			return fail_with(ret_error, "%s is not supported by taskvm yet",
					 d->containers[i].unsupported);
	return 0;
}
