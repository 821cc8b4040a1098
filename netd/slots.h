/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Slots: a small number unique among the attachments netd has (live, or gone but not done with).
 * A task's counter key, the name and address of its metadata link and its socket marks derive
 * from its slot, so a slot stays taken as long as something of it may still be in use: by its
 * attachment, by the reaper until the teardown it was handed is done, by the holders of a
 * detached task until they release it. A slot is free when it has no owner left.
 */
#ifndef NETD_SLOTS_H
#define NETD_SLOTS_H

#include <stdint.h>

struct slots;

/* Who keeps a slot (a set: a slot can have several owners). */
enum slot_owner {
	SLOT_OWNER_ATTACH = 1 << 0, /* a live attachment */
	SLOT_OWNER_REAP = 1 << 1,   /* the reaper, until the teardown it was handed is done */
	SLOT_OWNER_HOLD = 1 << 2,   /* the holders of a task (task.hold) */
};

/* count slots, 0 .. count-1, all free. */
int slots_new(unsigned int count, struct slots **ret);
/* Returns NULL. */
struct slots *slots_free(struct slots *s);
/*
 * Take a free slot for owner: the lowest (want < 0), or want. Returns the slot, -ENOSPC when
 * none is free, -EEXIST when want has an owner, -ERANGE when want is past the last.
 */
int slots_take(struct slots *s, int want, enum slot_owner owner);
/* Add owner to a slot, whether it has owners or not (-ERANGE past the last). */
int slots_share(struct slots *s, unsigned int slot, enum slot_owner owner);
/* Owner lets the slot go; it is free once no owner is left. */
void slots_drop(struct slots *s, unsigned int slot, enum slot_owner owner);
/* The owners of a slot (0: free, or past the last). */
unsigned int slots_owners(const struct slots *s, unsigned int slot);

#endif
