// SPDX-License-Identifier: GPL-2.0-only
#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <sys/inotify.h>
#include <sys/stat.h>

#include "log.h"
#include "logfile.h"
#include "taskdef.h"

#define WRITE_BUF_SIZE (64u << 10)
#define READ_BUF_SIZE  (64u << 10)
#define TIME_LEN       30 /* "2006-01-02T15:04:05.000000000Z" */

struct logfile {
	int fd;
	char *path;
	char *path_old; /* <path>.1 */
	uint64_t max_size;
	uint64_t size; /* of the current file, buffered bytes included */
	unsigned int rotations;
	char *buf;
	size_t len, cap;
	uint64_t time_cached; /* the time formatted in time_str */
	char time_str[TIME_LEN + 1];
};

const char *logfile_stream_to_string(enum logfile_stream s)
{
	switch (s) {
	case LOGFILE_STDOUT:
		return "stdout";
	case LOGFILE_STDERR:
		return "stderr";
	}
	return "?";
}

static int stream_from_string(const char *s, enum logfile_stream *ret)
{
	if (streq(s, "stdout"))
		*ret = LOGFILE_STDOUT;
	else if (streq(s, "stderr"))
		*ret = LOGFILE_STDERR;
	else
		return -EINVAL;
	return 0;
}

/* --- the line format ------------------------------------------------------------------------- */

/* The longest escaped form of len bytes: a control character becomes \u00XX, a stray byte
 * \ufffd (6 bytes each). */
static size_t escaped_max(size_t len)
{
	return len * 6;
}

/* Write data as the inside of a JSON string; returns the bytes written (at most escaped_max). */
static size_t json_escape(char *out, const char *data, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *o = out;
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)data[i];
		size_t n;

		if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
			*o++ = (char)c;
			i++;
			continue;
		}
		if (c >= 0x80) {
			n = utf8_char_len(data + i, len - i);
			if (n == 0) {
				memcpy(o, "\\ufffd", 6);
				o += 6;
				i++;
			} else {
				memcpy(o, data + i, n);
				o += n;
				i += n;
			}
			continue;
		}
		*o++ = '\\';
		switch (c) {
		case '"':
		case '\\':
			*o++ = (char)c;
			break;
		case '\n':
			*o++ = 'n';
			break;
		case '\r':
			*o++ = 'r';
			break;
		case '\t':
			*o++ = 't';
			break;
		default:
			memcpy(o, "u00", 3);
			o[3] = hex[c >> 4];
			o[4] = hex[c & 15];
			o += 5;
			break;
		}
		i++;
	}
	return (size_t)(o - out);
}

static size_t line_max(size_t len)
{
	return sizeof("{\"log\":\"\\n\",\"stream\":\"stdout\",\"time\":\"\"}\n") + TIME_LEN +
	       escaped_max(len);
}

/* Format an entry into out (room for line_max(len)); returns its length. */
static size_t format_line(char *out, enum logfile_stream s, const char *time_str, const void *data,
			  size_t len, bool newline)
{
	char *o = out;

	o = stpcpy(o, "{\"log\":\"");
	o += json_escape(o, data, len);
	if (newline)
		o = stpcpy(o, "\\n");
	o = stpcpy(o, "\",\"stream\":\"");
	o = stpcpy(o, logfile_stream_to_string(s));
	o = stpcpy(o, "\",\"time\":\"");
	o = stpcpy(o, time_str);
	o = stpcpy(o, "\"}\n");
	return (size_t)(o - out);
}

int logfile_format_line(enum logfile_stream s, uint64_t time_nsec, const void *data, size_t len,
			bool newline, char **ret)
{
	char time_str[TIME_LEN + 1];
	char *buf;
	int r;

	if (len > LOGFILE_LINE_MAX)
		return -E2BIG;
	r = format_rfc3339_nsec(time_nsec, time_str, sizeof(time_str));
	if (r < 0)
		return r;
	buf = malloc(line_max(len));
	if (!buf)
		return -ENOMEM;
	r = (int)format_line(buf, s, time_str, data, len, newline);
	*ret = buf;
	return r;
}

static int parse_digits(const char **p, int n, int *ret)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -EINVAL;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*ret = v;
	return 0;
}

static int expect_char(const char **p, char c)
{
	if (**p != c)
		return -EINVAL;
	(*p)++;
	return 0;
}

/* "2006-01-02T15:04:05[.fraction]Z", the fraction of 1-9 digits; UTC only. */
static int parse_time(const char *s, uint64_t *ret_nsec)
{
	const char *p = s;
	struct tm tm = {};
	int year, mon, day, hour, min, sec;
	uint64_t frac = 0;
	time_t t;

	if (parse_digits(&p, 4, &year) < 0 || expect_char(&p, '-') < 0 ||
	    parse_digits(&p, 2, &mon) < 0 || expect_char(&p, '-') < 0 ||
	    parse_digits(&p, 2, &day) < 0 || expect_char(&p, 'T') < 0 ||
	    parse_digits(&p, 2, &hour) < 0 || expect_char(&p, ':') < 0 ||
	    parse_digits(&p, 2, &min) < 0 || expect_char(&p, ':') < 0 ||
	    parse_digits(&p, 2, &sec) < 0)
		return -EINVAL;
	if (*p == '.') {
		int digits = 0;

		p++;
		while (*p >= '0' && *p <= '9' && digits < 9) {
			frac = frac * 10 + (uint64_t)(*p++ - '0');
			digits++;
		}
		if (digits == 0)
			return -EINVAL;
		for (; digits < 9; digits++)
			frac *= 10;
	}
	if (!streq(p, "Z"))
		return -EINVAL;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 || min > 59 ||
	    sec > 59)
		return -EINVAL;
	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	t = timegm(&tm);
	/* timegm() normalises February 30th into March: such a date is not one. */
	if (t < 0 || tm.tm_mday != day || tm.tm_mon != mon - 1)
		return -EINVAL;
	if ((uint64_t)t > UINT64_MAX / 1000000000ULL - 1)
		return -ERANGE;
	*ret_nsec = (uint64_t)t * 1000000000ULL + frac;
	return 0;
}

int logfile_parse_line(const char *line, size_t len, struct logfile_entry *ret, char **ret_buf)
{
	json_auto_t *j = NULL;
	json_t *log, *stream, *time;
	struct logfile_entry e = {};
	char *buf;
	size_t n;

	j = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(j))
		return -EINVAL;
	log = json_object_get(j, "log");
	stream = json_object_get(j, "stream");
	time = json_object_get(j, "time");
	if (!json_is_string(log) || !json_is_string(stream) || !json_is_string(time))
		return -EINVAL;
	if (stream_from_string(json_string_value(stream), &e.stream) < 0 ||
	    parse_time(json_string_value(time), &e.time_nsec) < 0)
		return -EINVAL;
	n = json_string_length(log);
	buf = malloc(n + 1);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, json_string_value(log), n + 1);
	e.data = buf;
	e.len = n;
	*ret = e;
	*ret_buf = buf;
	return 0;
}

/* --- the writer ------------------------------------------------------------------------------ */

static int open_current(struct logfile *f)
{
	struct stat st;
	int fd;

	fd = open(f->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		int r = S_ISREG(st.st_mode) ? -errno : -EINVAL;

		close(fd);
		return r;
	}
	f->fd = fd;
	f->size = (uint64_t)st.st_size;
	return 0;
}

int logfile_open(const struct logfile_opts *o, struct logfile **ret)
{
	struct logfile *f;
	int r;

	if (!o->dir || !o->container || !ecs_name_valid(o->container))
		return -EINVAL;
	if (o->max_size &&
	    (o->max_size < LOGFILE_MAX_SIZE_MIN || o->max_size > LOGFILE_MAX_SIZE_MAX))
		return -EINVAL;
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->fd = -1;
	f->max_size = o->max_size ?: LOGFILE_MAX_SIZE_DEFAULT;
	f->time_cached = UINT64_MAX;
	if (asprintf(&f->path, "%s/%s" LOGFILE_SUFFIX, o->dir, o->container) < 0) {
		f->path = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	if (asprintf(&f->path_old, "%s.1", f->path) < 0) {
		f->path_old = NULL;
		r = -ENOMEM;
		goto out_free;
	}
	r = open_current(f);
	if (r < 0)
		goto out_free;
	*ret = f;
	return 0;

out_free:
	free(f->path_old);
	free(f->path);
	free(f);
	return r;
}

int logfile_flush(struct logfile *f)
{
	int r;

	if (f->len == 0)
		return 0;
	r = write_all(f->fd, f->buf, f->len);
	if (r < 0) {
		/* What could not be written is gone: the file's size stays what is on disk. */
		struct stat st;

		f->size = fstat(f->fd, &st) == 0 ? (uint64_t)st.st_size : f->size - f->len;
	}
	f->len = 0;
	return r;
}

struct logfile *logfile_close(struct logfile *f)
{
	if (!f)
		return NULL;
	if (f->fd >= 0)
		(void)logfile_flush(f);
	safe_close(f->fd);
	free(f->buf);
	free(f->path_old);
	free(f->path);
	free(f);
	return NULL;
}

/* <path> becomes <path>.1 (replacing it) and a new <path> is started. */
static int rotate(struct logfile *f)
{
	int r;

	r = logfile_flush(f);
	if (r < 0)
		return r;
	if (rename(f->path, f->path_old) < 0)
		return -errno;
	f->fd = safe_close(f->fd);
	r = open_current(f);
	if (r < 0)
		return r;
	f->rotations++;
	return 0;
}

int logfile_append(struct logfile *f, enum logfile_stream s, uint64_t time_nsec, const void *data,
		   size_t len, bool newline)
{
	size_t need = line_max(len), n;
	char *at;
	int r;

	if (len > LOGFILE_LINE_MAX)
		return -E2BIG;
	if (f->fd < 0) {
		/* A rotation failed half-way: try to open the file again. */
		r = open_current(f);
		if (r < 0)
			return r;
	}
	if (time_nsec != f->time_cached) {
		r = format_rfc3339_nsec(time_nsec, f->time_str, sizeof(f->time_str));
		if (r < 0)
			return r;
		f->time_cached = time_nsec;
	}
	if (f->len + need > f->cap) {
		r = logfile_flush(f);
		if (r < 0)
			return r;
		if (need > f->cap) {
			size_t cap = MAX(need, (size_t)WRITE_BUF_SIZE);
			char *b = realloc(f->buf, cap);

			if (!b)
				return -ENOMEM;
			f->buf = b;
			f->cap = cap;
		}
	}
	/* Formatted after what is buffered first, so that the rotation goes by the entry's real
	 * length; a rotation writes what is buffered and the entry moves to the front. */
	at = f->buf + f->len;
	n = format_line(at, s, f->time_str, data, len, newline);
	if (f->size > 0 && f->size + n > f->max_size) {
		r = rotate(f);
		if (r < 0)
			return r;
		memmove(f->buf, at, n);
		at = f->buf;
	}
	f->len = (size_t)(at - f->buf) + n;
	f->size += n;
	return 0;
}

uint64_t logfile_size(const struct logfile *f)
{
	return f->size;
}

unsigned int logfile_rotations(const struct logfile *f)
{
	return f->rotations;
}

/* --- the reader ------------------------------------------------------------------------------ */

/* One container's files, read in order: <name>.log.1 (if any), then <name>.log, and the new
 * <name>.log after each rotation. */
struct cursor {
	char *name;
	char *path;
	char *path_old; /* <path>.1 */
	int fd;		/* the file being read */
	int next_fd;	/* <name>.log, while fd is <name>.log.1 */
	bool rotated;	/* fd is no longer <name>.log: read it to its end, then go on */
	bool skip_line; /* dropping the rest of an overlong line */
	char *buf;
	size_t off, len, cap;
	bool have; /* a parsed entry waits in ent */
	struct logfile_entry ent;
	char *ent_buf;
};

struct logfile_reader {
	char *dir;
	bool all;
	bool follow;
	int ifd;
	struct cursor **cursors;
	size_t n_cursors;
	char *out_buf; /* the returned entry's data */
	uint64_t skipped;
};

static struct cursor *cursor_free(struct cursor *c)
{
	if (!c)
		return NULL;
	safe_close(c->fd);
	safe_close(c->next_fd);
	free(c->ent_buf);
	free(c->buf);
	free(c->path_old);
	free(c->path);
	free(c->name);
	free(c);
	return NULL;
}

static bool same_file(int fd1, int fd2)
{
	struct stat a, b;

	return fstat(fd1, &a) == 0 && fstat(fd2, &b) == 0 && a.st_dev == b.st_dev &&
	       a.st_ino == b.st_ino;
}

static int cursor_new(const char *dir, const char *name, struct cursor **ret)
{
	struct cursor *c;
	int fd_old;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = c->next_fd = -1;
	c->name = strdup(name);
	if (!c->name || asprintf(&c->path, "%s/%s" LOGFILE_SUFFIX, dir, name) < 0) {
		c->path = NULL;
		cursor_free(c);
		return -ENOMEM;
	}
	if (asprintf(&c->path_old, "%s.1", c->path) < 0) {
		c->path_old = NULL;
		cursor_free(c);
		return -ENOMEM;
	}
	/*
	 * The current file first, then the rotated one: if a rotation happens in between, both
	 * opens find the same file (the one just rotated), and the older one is gone anyway.
	 */
	c->fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (c->fd < 0) {
		int r = -errno;

		cursor_free(c);
		return r;
	}
	fd_old = open(c->path_old, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd_old >= 0 && !same_file(fd_old, c->fd)) {
		c->next_fd = c->fd;
		c->fd = fd_old;
	} else {
		safe_close(fd_old);
	}
	*ret = c;
	return 0;
}

/* Is fd still the file at path? */
static bool cursor_is_current(struct cursor *c)
{
	struct stat a, b;

	if (stat(c->path, &a) < 0)
		return false;
	return fstat(c->fd, &b) == 0 && a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/*
 * The file fd reached its end and will not grow: go on with the next one, if there is one
 * now. Returns true if there is one. After a rotation the next one is <name>.log.1 if that is
 * not fd's file (fd's was rotated twice: the one after it is there), else <name>.log. Only a
 * reader that slept through three rotations misses a file.
 */
static bool cursor_next_file(struct logfile_reader *r, struct cursor *c)
{
	int fd;

	if (c->len > c->off) { /* a torn last line */
		if (!c->skip_line)
			r->skipped++;
		c->off = c->len;
	}
	c->skip_line = false;
	if (c->next_fd >= 0) {
		safe_close(c->fd);
		c->fd = TAKE_FD(c->next_fd);
		c->rotated = false;
		return true;
	}
	fd = open(c->path_old, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd >= 0 && !same_file(fd, c->fd)) {
		safe_close(c->fd);
		c->fd = fd;
		c->rotated = true; /* a rotated file is complete */
		return true;
	}
	safe_close(fd);
	fd = open(c->path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return false; /* the new file is not there yet */
	safe_close(c->fd);
	c->fd = fd;
	c->rotated = false;
	return true;
}

/* Parse the next line of the buffer into c->ent. 1: an entry; 0: no complete line. */
static int cursor_parse(struct logfile_reader *r, struct cursor *c)
{
	while (c->off < c->len) {
		char *start = c->buf + c->off;
		char *nl = memchr(start, '\n', c->len - c->off);
		size_t n;

		if (!nl) {
			if (c->skip_line) {
				c->off = c->len;
			} else if (c->len - c->off > LOGFILE_LINE_MAX) {
				r->skipped++;
				c->skip_line = true;
				c->off = c->len;
			}
			return 0;
		}
		n = (size_t)(nl - start);
		c->off += n + 1;
		if (c->skip_line) {
			c->skip_line = false;
			continue;
		}
		free(c->ent_buf);
		c->ent_buf = NULL;
		if (logfile_parse_line(start, n, &c->ent, &c->ent_buf) < 0) {
			r->skipped++;
			continue;
		}
		c->ent.container = c->name;
		c->have = true;
		return 1;
	}
	return 0;
}

/* Read more of the current file into the buffer: >0 bytes read, 0 at its end. */
static int cursor_read(struct cursor *c)
{
	ssize_t n;

	if (c->off > 0) {
		memmove(c->buf, c->buf + c->off, c->len - c->off);
		c->len -= c->off;
		c->off = 0;
	}
	/* What is left is part of one line, at most LOGFILE_LINE_MAX + 1 bytes (cursor_parse()
	 * drops longer ones), so the buffer stays below LOGFILE_LINE_MAX + READ_BUF_SIZE. */
	if (c->cap - c->len < READ_BUF_SIZE / 2) {
		size_t cap = c->len + READ_BUF_SIZE;
		char *b = realloc(c->buf, cap);

		if (!b)
			return -ENOMEM;
		c->buf = b;
		c->cap = cap;
	}
	do
		n = read(c->fd, c->buf + c->len, c->cap - c->len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	c->len += (size_t)n;
	return (int)n;
}

/* Make c->have true if an entry can be read now. */
static int cursor_fill(struct logfile_reader *r, struct cursor *c)
{
	int k;

	while (!c->have) {
		if (cursor_parse(r, c) > 0)
			return 0;
		k = cursor_read(c);
		if (k < 0)
			return k;
		if (k > 0)
			continue;
		/* The end of fd: another file follows if this one was rotated away. */
		if (c->next_fd >= 0 || c->rotated) {
			if (!cursor_next_file(r, c))
				return 0;
			continue;
		}
		if (cursor_is_current(c))
			return 0; /* the writer may add more */
		/* Rotated since the last read: what was written before the rename is still to
		 * be read; then the new file. */
		c->rotated = true;
	}
	return 0;
}

static bool name_is_log(const char *d_name, char *ret_name, size_t size)
{
	size_t n = strlen(d_name), s = strlen(LOGFILE_SUFFIX);

	if (n <= s || !streq(d_name + n - s, LOGFILE_SUFFIX) || n - s >= size)
		return false;
	memcpy(ret_name, d_name, n - s);
	ret_name[n - s] = '\0';
	return ecs_name_valid(ret_name);
}

static bool reader_has(struct logfile_reader *r, const char *name)
{
	for (size_t i = 0; i < r->n_cursors; i++)
		if (streq(r->cursors[i]->name, name))
			return true;
	return false;
}

static int reader_add(struct logfile_reader *r, const char *name)
{
	struct cursor **cs, *c = NULL;
	int k;

	k = cursor_new(r->dir, name, &c);
	if (k < 0)
		return k;
	cs = realloc(r->cursors, (r->n_cursors + 1) * sizeof(*cs));
	if (!cs) {
		cursor_free(c);
		return -ENOMEM;
	}
	r->cursors = cs;
	r->cursors[r->n_cursors++] = c;
	return 0;
}

static int name_cmp(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

/* Add a cursor for every container file of the directory not read yet, by name. */
static int reader_scan(struct logfile_reader *r)
{
	struct dirent **ents = NULL;
	int n, k = 0;

	n = scandir(r->dir, &ents, NULL, name_cmp);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		char name[256];

		if (k >= 0 && name_is_log(ents[i]->d_name, name, sizeof(name)) &&
		    !reader_has(r, name)) {
			k = reader_add(r, name);
			if (k == -ENOENT) /* gone since the scan */
				k = 0;
		}
		free(ents[i]);
	}
	free(ents);
	return k;
}

int logfile_reader_open(const struct logfile_reader_opts *o, struct logfile_reader **ret)
{
	struct logfile_reader *r;
	int k;

	if (!o->dir || (o->container && !ecs_name_valid(o->container)))
		return -EINVAL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->ifd = -1;
	r->all = !o->container;
	r->follow = o->follow;
	r->dir = strdup(o->dir);
	if (!r->dir) {
		k = -ENOMEM;
		goto out_free;
	}
	/* Watch before reading, so that nothing written in between goes unnoticed. */
	if (r->follow) {
		r->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
		if (r->ifd < 0) {
			k = -errno;
			goto out_free;
		}
		if (inotify_add_watch(r->ifd, r->dir,
				      IN_MODIFY | IN_CREATE | IN_MOVED_TO | IN_CLOSE_WRITE) < 0) {
			k = -errno;
			goto out_free;
		}
	}
	k = r->all ? reader_scan(r) : reader_add(r, o->container);
	if (k < 0)
		goto out_free;
	*ret = r;
	return 0;

out_free:
	logfile_reader_free(r);
	return k;
}

struct logfile_reader *logfile_reader_free(struct logfile_reader *r)
{
	if (!r)
		return NULL;
	for (size_t i = 0; i < r->n_cursors; i++)
		cursor_free(r->cursors[i]);
	free(r->cursors);
	free(r->out_buf);
	safe_close(r->ifd);
	free(r->dir);
	free(r);
	return NULL;
}

int logfile_reader_next(struct logfile_reader *r, struct logfile_entry *ret)
{
	struct cursor *best = NULL;
	int k;

	for (size_t i = 0; i < r->n_cursors; i++) {
		struct cursor *c = r->cursors[i];

		k = cursor_fill(r, c);
		if (k < 0)
			return k;
		/* The earliest entry; among equal times, the first container's. */
		if (c->have && (!best || c->ent.time_nsec < best->ent.time_nsec))
			best = c;
	}
	if (!best)
		return 0;
	free(r->out_buf);
	r->out_buf = TAKE_PTR(best->ent_buf);
	best->have = false;
	*ret = best->ent;
	return 1;
}

int logfile_reader_fd(const struct logfile_reader *r)
{
	return r->ifd;
}

int logfile_reader_wake(struct logfile_reader *r)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	ssize_t n;

	if (r->ifd < 0)
		return -EINVAL;
	do
		n = read(r->ifd, buf, sizeof(buf));
	while (n > 0 || (n < 0 && errno == EINTR));
	if (n < 0 && errno != EAGAIN)
		return -errno;
	return r->all ? reader_scan(r) : 0;
}

uint64_t logfile_reader_skipped(const struct logfile_reader *r)
{
	return r->skipped;
}
