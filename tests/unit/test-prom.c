// SPDX-License-Identifier: GPL-2.0-only
/* Unit tests for lib/prom.h: histogram buckets and the exposition text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "prom.h"
#include "util.h"

static const uint64_t bounds[] = { 1000, 2500, 10000, 1000000 };

/* What f wrote (a memstream), as a string the caller frees. */
static char *written(void (*fn)(FILE *f, void *data), void *data)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	fn(f, data);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void write_plain(FILE *f, void *data)
{
	prom_write_histogram(f, "x_seconds", NULL, data);
}

static void write_labelled(FILE *f, void *data)
{
	prom_write_histogram(f, "x_seconds", "op=\"attach\"", data);
}

static void test_observe(void **state)
{
	struct prom_histogram h = { .bounds_usec = bounds, .nbounds = ARRAY_SIZE(bounds) };

	/* le is inclusive: a value on a bound is in that bound's bucket */
	prom_histogram_observe(&h, 0);
	prom_histogram_observe(&h, 1000);
	prom_histogram_observe(&h, 1001);
	prom_histogram_observe(&h, 2500);
	prom_histogram_observe(&h, 999999);
	prom_histogram_observe(&h, 1000001);
	prom_histogram_observe(&h, UINT64_C(86400000000));
	assert_int_equal(h.buckets[0], 2);
	assert_int_equal(h.buckets[1], 2);
	assert_int_equal(h.buckets[2], 0);
	assert_int_equal(h.buckets[3], 1);
	assert_int_equal(h.buckets[4], 2); /* +Inf's own */
	assert_int_equal(h.count, 7);
	assert_int_equal(h.sum_usec,
			 0 + 1000 + 1001 + 2500 + 999999 + 1000001 + UINT64_C(86400000000));
}

static void test_write(void **state)
{
	struct prom_histogram h = { .bounds_usec = bounds, .nbounds = ARRAY_SIZE(bounds) };
	char *s;

	s = written(write_plain, &h);
	assert_string_equal(s, "x_seconds_bucket{le=\"0.001\"} 0\n"
			       "x_seconds_bucket{le=\"0.0025\"} 0\n"
			       "x_seconds_bucket{le=\"0.01\"} 0\n"
			       "x_seconds_bucket{le=\"1\"} 0\n"
			       "x_seconds_bucket{le=\"+Inf\"} 0\n"
			       "x_seconds_sum 0.000000\n"
			       "x_seconds_count 0\n");
	free(s);

	prom_histogram_observe(&h, 800);
	prom_histogram_observe(&h, 2000);
	prom_histogram_observe(&h, 2000);
	prom_histogram_observe(&h, 5000000);
	s = written(write_labelled, &h);
	/* cumulative, +Inf equal to the count, the sum in seconds to the microsecond */
	assert_string_equal(s, "x_seconds_bucket{op=\"attach\",le=\"0.001\"} 1\n"
			       "x_seconds_bucket{op=\"attach\",le=\"0.0025\"} 3\n"
			       "x_seconds_bucket{op=\"attach\",le=\"0.01\"} 3\n"
			       "x_seconds_bucket{op=\"attach\",le=\"1\"} 3\n"
			       "x_seconds_bucket{op=\"attach\",le=\"+Inf\"} 4\n"
			       "x_seconds_sum{op=\"attach\"} 5.004800\n"
			       "x_seconds_count{op=\"attach\"} 4\n");
	free(s);
}

static void write_head_and_label(FILE *f, void *data)
{
	prom_write_head(f, "x_total", "counter", "Things.");
	fputs("x_total{reason=\"", f);
	prom_write_label_value(f, data);
	fputs("\"} 1\n", f);
}

static void test_head_and_label(void **state)
{
	char *s = written(write_head_and_label, "a\"b\\c\nd");

	assert_string_equal(s, "# HELP x_total Things.\n"
			       "# TYPE x_total counter\n"
			       "x_total{reason=\"a\\\"b\\\\c\\nd\"} 1\n");
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_observe),
		cmocka_unit_test(test_write),
		cmocka_unit_test(test_head_and_label),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
