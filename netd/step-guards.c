// SPDX-License-Identifier: GPL-2.0-only
/*
 * The guards step: the attachment's nftables table (IMDS rejected and counted, the metadata link
 * filtered), made in one transaction right after the move, before the link is up. Deleting it
 * costs the kernel an RCU grace period: a detach hands that to the reaper.
 */
#include "guards.h"
#include "log.h"
#include "step-guards.h"

static int guards_run(struct attach_ctx *c)
{
	return guards_install(c->netns_fd, c->a, c->errmsg, sizeof(c->errmsg));
}

static int guards_undo(struct attach_ctx *c)
{
	char owner[GUARDS_OWNER_MAX];
	int r;

	/* No table was made: skip a transaction that costs an RCU grace period for nothing. */
	if (c->netns_fd < 0 || !guards_wanted(c->a))
		return 0;
	/* Only the table this attach made: not one of that name it found (and failed on). */
	guards_owner(c->a, owner);
	r = guards_remove(c->netns_fd, c->a->guards_table, owner);
	return step_gone(r) ? 0 : r;
}

static int guards_defer(struct attach_ctx *c)
{
	char owner[GUARDS_OWNER_MAX];

	/* With the namespace gone the table went with it. */
	if (c->netns_fd < 0 || !guards_wanted(c->a))
		return 0;
	guards_owner(c->a, owner);
	c->reap_params =
		json_pack("{s:s, s:s}", "guards_table", c->a->guards_table, "guards_owner", owner);
	return c->reap_params ? 1 : -ENOMEM;
}

static int guards_step_check(struct attach_ctx *c, json_t *diffs)
{
	return guards_check(c->netns_fd, c->a, diffs);
}

/* Remove a detached attachment's table, if its namespace is still there (else it went too). */
static void guards_reap(struct netd *d, struct reap_item *const *items, unsigned int n, bool all)
{
	for (unsigned int i = 0; i < n; i++) {
		const struct reap_item *it = items[i];
		struct netns_id id;
		int fd, r;

		if (!it->netns_path || netns_open(it->netns_path, &fd) < 0)
			continue;
		if (netns_get_id(fd, &id) == 0 && netns_id_equal(&id, &it->netns_id)) {
			r = guards_remove(
				fd, json_string_value(json_object_get(it->params, "guards_table")),
				json_string_value(json_object_get(it->params, "guards_owner")));
			if (r < 0)
				log_warn_errno(
					r,
					"Failed to remove the guards of a detached task in '%s': %m",
					it->netns_path);
		}
		close(fd);
	}
}

/* A job of a netd with one table per namespace names no table: that one, without owner. */
static json_t *guards_params_from(json_t *record)
{
	const char *table = json_string_value(json_object_get(record, "guards_table"));
	const char *owner = json_string_value(json_object_get(record, "guards_owner"));

	if (table && strlen(table) >= GUARDS_TABLE_MAX)
		table = NULL;
	return json_pack("{s:s, s:s}", "guards_table", table ?: GUARDS_TABLE_LEGACY, "guards_owner",
			 owner ?: "");
}

static const struct reap_class guards_reap_class = {
	.name = "guards",
	.reap = guards_reap,
	.params_from = guards_params_from,
};

const struct attach_step step_guards = {
	.name = "guards",
	.run = guards_run,
	.undo = guards_undo,
	.defer = guards_defer,
	.reap = &guards_reap_class,
	.check = guards_step_check,
};
