/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One print path for text and JSON, in the manner of iproute2's json_print: every value goes
 * through print_*(type, key, fmt, value). PRINT_FP prints only in text mode, PRINT_JSON only in
 * JSON mode, PRINT_ANY in both. In text mode, values printed between print_table_begin() and
 * print_table_end() become the cells of an aligned table, one row per object.
 */
#ifndef TP_PRINT_H
#define TP_PRINT_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "util.h"

enum print_type {
	PRINT_FP = 1,
	PRINT_JSON = 2,
	PRINT_ANY = 3,
};

/* Choose the mode; pretty indents JSON. */
void print_init(bool json, bool pretty);
/* Whether output is JSON. */
bool print_is_json(void);
/* Open an object (key NULL inside arrays and at the top). base seeds it with all its members
 * in JSON mode (so that fields the text form leaves out still reach programs). */
void print_open_object(const char *key, json_t *base);
/* Close the current object; in a text table this ends the row. */
void print_close_object(void);
/* Open an array. */
void print_open_array(const char *key);
/* Close the current array. */
void print_close_array(void);
/* Print a string (NULL prints as "-" in text and null in JSON). */
void print_string(enum print_type t, const char *key, const char *fmt, const char *value)
	_printf_(3, 0);
/* Print an unsigned integer. */
void print_u64(enum print_type t, const char *key, const char *fmt, uint64_t value) _printf_(3, 0);
/* Print a signed integer. */
void print_int(enum print_type t, const char *key, const char *fmt, int64_t value) _printf_(3, 0);
/* Print a boolean (fmt gets "true"/"false" in text). */
void print_bool(enum print_type t, const char *key, const char *fmt, bool value) _printf_(3, 0);
/* Put a JSON value (borrowed) under key in JSON mode. */
void print_json(const char *key, json_t *value);
/* Free text, printed only in text mode. */
void print_text(const char *fmt, ...) _printf_(1, 2);
/* Start a text table with these column headers (NULL-terminated); no-op in JSON mode. */
void print_table_begin(const char *const *headers);
/* Print the collected table, aligned. */
void print_table_end(void);
/* Write the JSON document (JSON mode) and reset; text is written as it goes. */
void print_flush(void);
/*
 * Print an error (not "print_error": libcmocka exports that name). JSON mode writes the control
 * protocol's error object on stdout, {"error": {"code": code, "message": msg, "data": data}}
 * ("data" only when data, borrowed, is a non-empty object); text mode "prog: msg" on stderr.
 */
void print_errorf(const char *prog, int code, json_t *data, const char *fmt, ...) _printf_(4, 5);

#endif
