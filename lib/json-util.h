/* SPDX-License-Identifier: GPL-2.0-only */
/* Small jansson helpers. */
#ifndef TP_JSON_UTIL_H
#define TP_JSON_UTIL_H

#include <jansson.h>

/* Sort an array of objects in place by the string member key (missing sorts first). */
int json_array_sort_by_key(json_t *arr, const char *key);

#endif
