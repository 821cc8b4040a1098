// SPDX-License-Identifier: GPL-2.0-only
#include "attachment.h"
#include "eni.h"
#include "netd.h"
#include "util.h"

void attachment_done(struct eni_attachment *a)
{
	free(a->netns_path);
	a->netns_path = NULL;
	json_decref(a->dns);
	a->dns = NULL;
}

void attachment_release_eni(struct eni_attachment *a, json_t *result)
{
	struct eni *e = a->eni;

	if (!e)
		return;
	if (e->att == a)
		e->att = NULL;
	json_object_set_new(result, "eni_state",
			    json_string(eni_state_to_string(eni_get_state(e))));
	if (e->ifindex > 0)
		json_object_set_new(result, "host_ifname", json_string(e->ifname));
}

int attachment_save(struct eni_attachment *a)
{
	if (!a->ops || !a->ops->save)
		return -EOPNOTSUPP;
	return a->ops->save(a);
}

int attachment_netns_open(const struct eni_attachment *a, int *ret_fd)
{
	struct netns_id id;
	int fd, r;

	r = netns_open(a->netns_path, &fd);
	if (r < 0)
		return r;
	r = netns_get_id(fd, &id);
	if (r < 0 || !netns_id_equal(&id, &a->netns_id)) {
		/* The path now names another namespace: ours is gone. Touch nothing in it. */
		close(fd);
		return r < 0 ? r : -ENOENT;
	}
	*ret_fd = fd;
	return 0;
}

void attachment_register(struct netd *d, struct eni_attachment *a)
{
	a->next = d->attachments;
	d->attachments = a;
}

void attachment_unregister(struct netd *d, struct eni_attachment *a)
{
	for (struct eni_attachment **pp = &d->attachments; *pp; pp = &(*pp)->next)
		if (*pp == a) {
			*pp = a->next;
			a->next = NULL;
			return;
		}
}

struct eni_attachment *attachment_find(struct netd *d, const char *id)
{
	for (struct eni_attachment *a = d->attachments; a; a = a->next)
		if (streq(a->id, id))
			return a;
	return NULL;
}
