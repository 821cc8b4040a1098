/* SPDX-License-Identifier: GPL-2.0-only */
/* Small jansson helpers. */
#ifndef TP_JSON_UTIL_H
#define TP_JSON_UTIL_H

#include <jansson.h>

/* Sort an array of objects in place by the string member key (missing sorts first). */
int json_array_sort_by_key(json_t *arr, const char *key);

/* Append one difference {what, expected, actual} to the array diffs (a check's report). */
void json_diff_append(json_t *diffs, const char *what, const char *expected, const char *actual);

/* The string or integer member key of obj: NULL or 0 when absent or of another type. */
static inline const char *json_str(json_t *obj, const char *key)
{
	return json_string_value(json_object_get(obj, key));
}

static inline json_int_t json_int(json_t *obj, const char *key)
{
	return json_integer_value(json_object_get(obj, key));
}

#endif
