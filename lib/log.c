// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <strings.h>
#include <sys/stat.h>

#include "log.h"

static const char *log_ident = "taskplane";
static enum log_level log_max_level = LOG_LEVEL_INFO;
static bool log_timestamps;
static uint64_t log_start_usec;

static const char *const level_names[] = {
	[LOG_LEVEL_ERR] = "err",   [LOG_LEVEL_WARNING] = "warning", [LOG_LEVEL_NOTICE] = "notice",
	[LOG_LEVEL_INFO] = "info", [LOG_LEVEL_DEBUG] = "debug",
};

void log_set_ident(const char *ident)
{
	log_ident = ident;
}

void log_set_level(enum log_level level)
{
	log_max_level = level;
}

enum log_level log_get_level(void)
{
	return log_max_level;
}

void log_set_timestamps(bool on)
{
	log_timestamps = on;
	log_start_usec = now_usec();
}

int log_level_from_string(const char *s)
{
	for (size_t i = LOG_LEVEL_ERR; i < ARRAY_SIZE(level_names); i++)
		if (level_names[i] && strcasecmp(s, level_names[i]) == 0)
			return (int)i;
	if (strcasecmp(s, "error") == 0)
		return LOG_LEVEL_ERR;
	if (strcasecmp(s, "warn") == 0)
		return LOG_LEVEL_WARNING;
	if (s[0] >= '3' && s[0] <= '7' && s[1] == '\0')
		return s[0] - '0';
	return -EINVAL;
}

/* Decimal digits, no sign or space; advances *p. */
static bool parse_decimal(const char **p, unsigned long long *ret)
{
	char *end;

	if (**p < '0' || **p > '9')
		return false;
	errno = 0;
	*ret = strtoull(*p, &end, 10);
	*p = end;
	return errno == 0;
}

bool log_journal_stream_matches(const char *journal_stream, dev_t dev, ino_t ino)
{
	const char *p = journal_stream;
	unsigned long long d, i;

	if (!p || !parse_decimal(&p, &d) || *p++ != ':' || !parse_decimal(&p, &i) || *p)
		return false;
	return d == (unsigned long long)dev && i == (unsigned long long)ino;
}

/*
 * Is stderr connected to the journal? systemd sets $JOURNAL_STREAM to the "DEV:INO" of the
 * stream it gave the service (systemd.exec(5)); a stderr redirected since (a log file, a pipe)
 * is another file. Asked on every line: the answer changes when stderr is.
 */
static bool stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	struct stat st;

	return e && fstat(STDERR_FILENO, &st) == 0 &&
	       log_journal_stream_matches(e, st.st_dev, st.st_ino);
}

int log_internal(enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno;
	char buf[2048];
	va_list ap;

	if (err < 0)
		err = -err;
	if (err)
		errno = err;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);

	if (stderr_is_journal()) {
		/*
		 * sd-daemon(3) style: "<N>" before each line gives the journal its priority; the
		 * journal has the time and the program's name already.
		 */
		for (char *line = buf, *nl; line; line = nl) {
			nl = strchr(line, '\n');
			if (nl)
				*nl++ = '\0';
			if (nl && !*nl)
				nl = NULL; /* a final newline is not another line */
			fprintf(stderr, "<%d>%s\n", (int)level, line);
		}
		errno = saved;
		return -err;
	}
	if (log_timestamps) {
		uint64_t t = now_usec() - log_start_usec;

		fprintf(stderr, "[%5llu.%06llu] ", (unsigned long long)(t / 1000000),
			(unsigned long long)(t % 1000000));
	}
	fprintf(stderr, "%s: %s%s%s\n", log_ident,
		level <= LOG_LEVEL_WARNING ? level_names[level] : "",
		level <= LOG_LEVEL_WARNING ? ": " : "", buf);
	errno = saved;
	return -err;
}
