// SPDX-License-Identifier: GPL-2.0-only
#include "prom.h"

void prom_histogram_observe(struct prom_histogram *h, uint64_t usec)
{
	unsigned int i;

	for (i = 0; i < h->nbounds; i++)
		if (usec <= h->bounds_usec[i])
			break;
	h->buckets[i]++;
	h->count++;
	h->sum_usec += usec;
}

void prom_write_head(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

void prom_write_label_value(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
}

void prom_write_histogram(FILE *f, const char *name, const char *labels,
			  const struct prom_histogram *h)
{
	const char *sep = labels && *labels ? "," : "";
	uint64_t cumulative = 0;

	labels = labels ?: "";
	for (unsigned int i = 0; i < h->nbounds; i++) {
		cumulative += h->buckets[i];
		/* %g writes the bounds as Prometheus' clients do: 0.0025, 1, 2.5 */
		fprintf(f, "%s_bucket{%s%sle=\"%g\"} %llu\n", name, labels, sep,
			(double)h->bounds_usec[i] / 1e6, (unsigned long long)cumulative);
	}
	fprintf(f, "%s_bucket{%s%sle=\"+Inf\"} %llu\n", name, labels, sep,
		(unsigned long long)h->count);
	fprintf(f, "%s_sum%s%s%s %llu.%06llu\n", name, *labels ? "{" : "", labels,
		*labels ? "}" : "", (unsigned long long)(h->sum_usec / 1000000),
		(unsigned long long)(h->sum_usec % 1000000));
	fprintf(f, "%s_count%s%s%s %llu\n", name, *labels ? "{" : "", labels, *labels ? "}" : "",
		(unsigned long long)h->count);
}
