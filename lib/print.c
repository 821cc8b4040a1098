// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>

#include "print.h"

#define PRINT_MAX_DEPTH 16
#define TABLE_MAX_COLS	16

struct table {
	const char *headers[TABLE_MAX_COLS];
	unsigned int ncols;
	char **cells; /* rows * ncols */
	size_t rows, cap;
	unsigned int col; /* next cell in the current row */
	bool row_open;
};

static bool json_mode, json_pretty;
static json_t *stack[PRINT_MAX_DEPTH];
static const char *stack_keys[PRINT_MAX_DEPTH];
static int depth;
static json_t *root;
static struct table *table;

void print_init(bool json, bool pretty)
{
	json_mode = json || pretty;
	json_pretty = pretty;
}

bool print_is_json(void)
{
	return json_mode;
}

static void json_put(const char *key, json_t *v)
{
	if (depth == 0) {
		json_decref(root);
		root = v;
		return;
	}
	if (json_is_array(stack[depth - 1]))
		json_array_append_new(stack[depth - 1], v);
	else if (key)
		json_object_set_new(stack[depth - 1], key, v);
	else
		json_decref(v);
}

static void json_push(const char *key, json_t *v)
{
	if (depth >= PRINT_MAX_DEPTH) {
		json_decref(v);
		return;
	}
	stack[depth] = v;
	stack_keys[depth] = key;
	depth++;
}

static void json_pop(void)
{
	json_t *v;

	if (depth == 0)
		return;
	depth--;
	v = stack[depth];
	json_put(stack_keys[depth], v);
}

void print_open_object(const char *key, json_t *base)
{
	if (json_mode) {
		json_push(key, base && json_is_object(base) ? json_deep_copy(base) : json_object());
		return;
	}
	if (table && !table->row_open) {
		if (table->rows == table->cap) {
			size_t ncap = table->cap ? table->cap * 2 : 16;
			char **n = realloc(table->cells, ncap * table->ncols * sizeof(char *));

			if (!n)
				return;
			table->cells = n;
			table->cap = ncap;
		}
		memset(&table->cells[table->rows * table->ncols], 0, table->ncols * sizeof(char *));
		table->rows++;
		table->col = 0;
		table->row_open = true;
	}
}

void print_close_object(void)
{
	if (json_mode) {
		json_pop();
		return;
	}
	if (table)
		table->row_open = false;
}

void print_open_array(const char *key)
{
	if (json_mode)
		json_push(key, json_array());
}

void print_close_array(void)
{
	if (json_mode)
		json_pop();
}

_printf_(1, 0) static void text_out(const char *fmt, va_list ap)
{
	if (table && table->row_open) {
		char *s = NULL;

		if (vasprintf(&s, fmt, ap) < 0)
			return;
		if (table->col < table->ncols) {
			size_t i = (table->rows - 1) * table->ncols + table->col++;

			free(table->cells[i]);
			table->cells[i] = s;
		} else {
			free(s);
		}
		return;
	}
	vprintf(fmt, ap);
}

_printf_(1, 2) static void text_printf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	text_out(fmt, ap);
	va_end(ap);
}

/*
 * The format comes from our callers (declared _printf_(3, 0) so that its text is checked there);
 * passing it on is what this module is for, as in iproute2's json_print.c.
 */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"

void print_string(enum print_type t, const char *key, const char *fmt, const char *value)
{
	if (json_mode) {
		if (t & PRINT_JSON)
			json_put(key, value ? json_string(value) : json_null());
	} else if (t & PRINT_FP) {
		text_printf(fmt, value ?: "-");
	}
}

void print_u64(enum print_type t, const char *key, const char *fmt, uint64_t value)
{
	if (json_mode) {
		if (t & PRINT_JSON)
			json_put(key, json_integer((json_int_t)value));
	} else if (t & PRINT_FP) {
		text_printf(fmt, value);
	}
}

void print_int(enum print_type t, const char *key, const char *fmt, int64_t value)
{
	if (json_mode) {
		if (t & PRINT_JSON)
			json_put(key, json_integer((json_int_t)value));
	} else if (t & PRINT_FP) {
		text_printf(fmt, value);
	}
}

void print_bool(enum print_type t, const char *key, const char *fmt, bool value)
{
	if (json_mode) {
		if (t & PRINT_JSON)
			json_put(key, json_boolean(value));
	} else if (t & PRINT_FP) {
		text_printf(fmt, value ? "true" : "false");
	}
}

#pragma GCC diagnostic pop

void print_json(const char *key, json_t *value)
{
	if (json_mode)
		json_put(key, value ? json_incref(value) : json_null());
}

void print_text(const char *fmt, ...)
{
	va_list ap;

	if (json_mode)
		return;
	va_start(ap, fmt);
	text_out(fmt, ap);
	va_end(ap);
}

void print_table_begin(const char *const *headers)
{
	if (json_mode)
		return;
	table = calloc(1, sizeof(*table));
	if (!table)
		return;
	while (headers[table->ncols] && table->ncols < TABLE_MAX_COLS) {
		table->headers[table->ncols] = headers[table->ncols];
		table->ncols++;
	}
}

void print_table_end(void)
{
	size_t width[TABLE_MAX_COLS] = {};
	struct table *t = table;

	if (!t)
		return;
	table = NULL;
	for (unsigned int c = 0; c < t->ncols; c++) {
		width[c] = strlen(t->headers[c]);
		for (size_t r = 0; r < t->rows; r++) {
			const char *s = t->cells[r * t->ncols + c];

			width[c] = MAX(width[c], strlen(s ?: "-"));
		}
	}
	for (unsigned int c = 0; c < t->ncols; c++)
		printf("%-*s%s", c + 1 < t->ncols ? (int)width[c] : 0, t->headers[c],
		       c + 1 < t->ncols ? "  " : "\n");
	for (size_t r = 0; r < t->rows; r++) {
		for (unsigned int c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			printf("%-*s%s", c + 1 < t->ncols ? (int)width[c] : 0, s ?: "-",
			       c + 1 < t->ncols ? "  " : "\n");
			free(t->cells[r * t->ncols + c]);
		}
	}
	free(t->cells);
	free(t);
}

void print_flush(void)
{
	while (depth > 0)
		json_pop();
	if (json_mode && root) {
		json_dumpf(root, stdout,
			   (json_pretty ? JSON_INDENT(2) : JSON_COMPACT) | JSON_ENSURE_ASCII);
		fputc('\n', stdout);
	}
	json_decref(root);
	root = NULL;
	fflush(stdout);
}

void print_errorf(const char *prog, int code, json_t *data, const char *fmt, ...)
{
	char *msg = NULL;
	va_list ap;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	if (json_mode) {
		json_t *e = json_pack("{s:{s:i, s:s}}", "error", "code", code, "message",
				      msg ?: "error");

		if (e && json_is_object(data) && json_object_size(data) > 0)
			json_object_set_new(json_object_get(e, "error"), "data",
					    json_deep_copy(data));
		if (e)
			json_dumpf(e, stdout,
				   (json_pretty ? JSON_INDENT(2) : JSON_COMPACT) |
					   JSON_ENSURE_ASCII);
		fputc('\n', stdout);
		fflush(stdout);
		json_decref(e);
	} else {
		fprintf(stderr, "%s: %s\n", prog, msg ?: "error");
	}
	free(msg);
}
