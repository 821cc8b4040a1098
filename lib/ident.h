/* SPDX-License-Identifier: GPL-2.0-only */
/* Validation of the names that cross our interfaces: task ids and interface names. */
#ifndef TP_IDENT_H
#define TP_IDENT_H

#include <stdbool.h>

#define IDENT_TASK_ID_MAX 128

/* 1..128 characters, starting alphanumeric, then [A-Za-z0-9_.-] (CNI container id rules). */
bool ident_task_id_valid(const char *id);
/* A Linux interface name: 1..15 printable ASCII bytes but '/', ':' and '%'; not "." or "..". */
bool ident_ifname_valid(const char *name);

#endif
