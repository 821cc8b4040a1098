// SPDX-License-Identifier: GPL-2.0-only
#include "slots.h"
#include "util.h"

struct slots {
	unsigned int count;
	uint8_t owners[]; /* enum slot_owner bits per slot */
};

int slots_new(unsigned int count, struct slots **ret)
{
	struct slots *s = calloc(1, sizeof(*s) + count);

	if (!s)
		return -ENOMEM;
	s->count = count;
	*ret = s;
	return 0;
}

struct slots *slots_free(struct slots *s)
{
	free(s);
	return NULL;
}

int slots_take(struct slots *s, int want, enum slot_owner owner)
{
	if (want >= 0) {
		if ((unsigned int)want >= s->count)
			return -ERANGE;
		if (s->owners[want])
			return -EEXIST;
		s->owners[want] = (uint8_t)owner;
		return want;
	}
	for (unsigned int i = 0; i < s->count; i++)
		if (!s->owners[i]) {
			s->owners[i] = (uint8_t)owner;
			return (int)i;
		}
	return -ENOSPC;
}

int slots_share(struct slots *s, unsigned int slot, enum slot_owner owner)
{
	if (slot >= s->count)
		return -ERANGE;
	s->owners[slot] |= (uint8_t)owner;
	return 0;
}

void slots_drop(struct slots *s, unsigned int slot, enum slot_owner owner)
{
	if (slot < s->count)
		s->owners[slot] &= (uint8_t)~owner;
}

unsigned int slots_owners(const struct slots *s, unsigned int slot)
{
	return slot < s->count ? s->owners[slot] : 0;
}
