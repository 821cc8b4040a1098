/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The Prometheus text exposition format (version 0.0.4): metric heads, label values and
 * histograms of durations. Pure: writes to a FILE, keeps no state of its own.
 */
#ifndef TP_PROM_H
#define TP_PROM_H

#include <stdint.h>
#include <stdio.h>

#define PROM_CONTENT_TYPE	  "text/plain; version=0.0.4; charset=utf-8"
#define PROM_HISTOGRAM_MAX_BOUNDS 16

/* A histogram of durations: per-bucket counts (not cumulative), their sum and count. */
struct prom_histogram {
	const uint64_t *bounds_usec; /* upper bounds, ascending; +Inf is implied */
	unsigned int nbounds;	     /* at most PROM_HISTOGRAM_MAX_BOUNDS */
	uint64_t buckets[PROM_HISTOGRAM_MAX_BOUNDS + 1]; /* the last one is +Inf's own */
	uint64_t count;
	uint64_t sum_usec;
};

/* Count one duration: in the first bucket whose bound it does not exceed (le is inclusive). */
void prom_histogram_observe(struct prom_histogram *h, uint64_t usec);
/* "# HELP name help" and "# TYPE name type". */
void prom_write_head(FILE *f, const char *name, const char *type, const char *help);
/* A label value with backslash, double quote and newline escaped. */
void prom_write_label_value(FILE *f, const char *s);
/*
 * The series of a histogram in seconds: name_bucket{le="..."} (cumulative, +Inf last),
 * name_sum and name_count. labels (may be NULL or "") are put before le, as 'k="v",...'.
 */
void prom_write_histogram(FILE *f, const char *name, const char *labels,
			  const struct prom_histogram *h);

#endif
