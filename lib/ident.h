/* SPDX-License-Identifier: GPL-2.0-only */
/* Validation of the names that cross our interfaces: task ids, interface names, holders. */
#ifndef TP_IDENT_H
#define TP_IDENT_H

#include <stdbool.h>

#define IDENT_TASK_ID_MAX  128
#define IDENT_INSTANCE_LEN 32 /* a task instance: 128 random bits as lower-case hex */
#define IDENT_HOLDER_MAX   64

/* 1..128 characters, starting alphanumeric, then [A-Za-z0-9_.-] (CNI container id rules). */
bool ident_task_id_valid(const char *id);
/* A Linux interface name: 1..15 printable ASCII bytes but '/', ':' and '%'; not "." or "..". */
bool ident_ifname_valid(const char *name);
/* A task instance id: exactly 32 lower-case hex digits. */
bool ident_instance_valid(const char *s);
/* The name of a holder of a task (netd's task.hold): 1..64 of [A-Za-z0-9_.:@-], first alphanumeric. */
bool ident_holder_valid(const char *name);

#endif
