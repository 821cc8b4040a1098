// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "json-util.h"

static const char *sort_key;

static int cmp_by_key(const void *a, const void *b)
{
	const char *x = json_string_value(json_object_get(*(json_t *const *)a, sort_key));
	const char *y = json_string_value(json_object_get(*(json_t *const *)b, sort_key));

	return strcmp(x ?: "", y ?: "");
}

int json_array_sort_by_key(json_t *arr, const char *key)
{
	size_t n = json_array_size(arr);
	json_t **items;

	if (n < 2)
		return 0;
	items = calloc(n, sizeof(*items));
	if (!items)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		items[i] = json_incref(json_array_get(arr, i));
	sort_key = key;
	qsort(items, n, sizeof(*items), cmp_by_key);
	json_array_clear(arr);
	for (size_t i = 0; i < n; i++)
		json_array_append_new(arr, items[i]);
	free(items);
	return 0;
}

void json_diff_append(json_t *diffs, const char *what, const char *expected, const char *actual)
{
	json_array_append_new(diffs, json_pack("{s:s, s:s, s:s}", "what", what, "expected",
					       expected, "actual", actual));
}
