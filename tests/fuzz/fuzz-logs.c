// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the log path reads: the lines of the local log files (a reader
 * meets torn or foreign lines), a container's awslogs options from its task definition, sizes
 * and endpoints; and two properties: every entry written parses back to its bytes (as U+FFFD
 * where they were not UTF-8), and every frame fits its bound and counts its own octets.
 *
 * Input: byte 0 picks the target (mod 5), the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logfile.h"
#include "logship.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	log_set_level(LOG_LEVEL_ERR);
	return 0;
}

/* The input as a C string (not strndup(): ASan's strict string checks want a NUL). */
static char *cstring(const void *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

static void fuzz_line(const char *s, size_t len)
{
	struct logfile_entry e;
	char *buf = NULL;

	if (logfile_parse_line(s, len, &e, &buf) == 0) {
		if (e.data != buf || e.data[e.len] != '\0')
			abort();
		free(buf);
	}
}

static void fuzz_options(const char *s, size_t len)
{
	json_t *j = json_loadb(s, len, 0, NULL);
	struct logship_config *c = NULL;
	char *err = NULL;

	if (!j)
		return;
	if (logship_config_parse(j, &c, &err) == 0) {
		if (!c->group || !c->region || !c->stream_prefix || !c->endpoint || !c->host ||
		    c->max_buffer < LOGSHIP_BUFFER_MIN || c->max_buffer > LOGSHIP_BUFFER_MAX)
			abort();
		logship_config_free(c);
	} else if (!err) {
		abort(); /* a refusal always says why */
	}
	free(err);
	json_decref(j);
}

static void fuzz_endpoint_size(const char *s, size_t len)
{
	char *str = cstring(s, len);
	struct logship_config c = {};
	char *err = NULL;
	uint64_t v;

	if (logship_parse_endpoint(str, &c, &err) == 0) {
		if (!c.host || c.port == 0)
			abort();
	} else if (!err) {
		abort();
	}
	free(c.host);
	free(err);
	(void)logship_parse_size(str, &v);
	free(str);
}

static void fuzz_entry_roundtrip(const char *s, size_t len)
{
	struct logfile_entry e;
	char *line = NULL, *buf = NULL;
	bool nl = len & 1;
	int n;

	if (len > LOGFILE_LINE_MAX)
		return;
	n = logfile_format_line(LOGFILE_STDERR, 1700000000000000000ULL, s, len, nl, &line);
	if (n <= 0 || line[n - 1] != '\n' || memchr(line, '\n', (size_t)n - 1))
		abort();
	if (logfile_parse_line(line, (size_t)n - 1, &e, &buf) < 0)
		abort(); /* whatever the bytes, the entry is one */
	if (e.stream != LOGFILE_STDERR || e.time_nsec != 1700000000000000000ULL ||
	    (nl && (e.len == 0 || e.data[e.len - 1] != '\n')))
		abort();
	free(buf);
	free(line);
}

static void fuzz_frame(const char *s, size_t len)
{
	struct logship_fmt *f = NULL;
	char *buf, *sp;
	size_t max, count = 0;
	ssize_t n;

	if (len > LOGSHIP_LINE_MAX)
		return;
	if (logship_fmt_new(&(struct logship_fmt_opts){ .hostname = "198.18.1.1",
							.container = "web",
							.group = "/ecs/g",
							.stream = "p/web/t" },
			    &f, NULL) < 0)
		abort();
	max = logship_fmt_frame_max(f, len);
	buf = malloc(max);
	if (!buf)
		abort();
	n = logship_fmt_frame(f, LOGFILE_STDOUT, 1700000000000000000ULL, s, len, buf, max);
	if (n <= 0 || (size_t)n > max)
		abort();
	sp = memchr(buf, ' ', (size_t)n);
	if (!sp)
		abort();
	for (const char *p = buf; p < sp; p++)
		count = count * 10 + (size_t)(*p - '0');
	if (count != (size_t)n - (size_t)(sp - buf) - 1)
		abort();
	free(buf);
	logship_fmt_free(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *s = (const char *)data + 1;

	if (size == 0)
		return 0;
	size--;
	switch (data[0] % 5) {
	case 0:
		fuzz_line(s, size);
		break;
	case 1:
		fuzz_options(s, size);
		break;
	case 2:
		fuzz_endpoint_size(s, size);
		break;
	case 3:
		fuzz_entry_roundtrip(s, size);
		break;
	case 4:
		fuzz_frame(s, size);
		break;
	}
	return 0;
}
