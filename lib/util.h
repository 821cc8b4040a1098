/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Small helpers shared by every component: cleanup attributes, ownership transfer,
 * errno conversion, string and time helpers.
 */
#ifndef TP_UTIL_H
#define TP_UTIL_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define _cleanup_(f)   __attribute__((__cleanup__(f)))
#define _unused_       __attribute__((__unused__))
#define _printf_(a, b) __attribute__((__format__(printf, a, b)))
#define _must_check_   __attribute__((__warn_unused_result__))
#define _pure_	       __attribute__((__pure__))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define MIN(a, b)     ((a) < (b) ? (a) : (b))
#define MAX(a, b)     ((a) > (b) ? (a) : (b))

/* Hand ownership of *p on: returns the value and leaves NULL behind. */
#define TAKE_PTR(p)                                                                                \
	({                                                                                         \
		__typeof__(p) _p = (p);                                                            \
		(p) = NULL;                                                                        \
		_p;                                                                                \
	})

/* Hand ownership of an fd on: returns it and leaves -1 behind. */
#define TAKE_FD(fd)                                                                                \
	({                                                                                         \
		int _fd = (fd);                                                                    \
		(fd) = -1;                                                                         \
		_fd;                                                                               \
	})

/* Convert a libc-style result (-1 and errno) into -errno. */
#define RET_NERRNO(expr)                                                                           \
	({                                                                                         \
		__typeof__(expr) _r = (expr);                                                      \
		_r < 0 ? -errno : _r;                                                              \
	})

/* errno for a failed constructor, never 0. */
static inline int errno_or(int fallback)
{
	return errno > 0 ? -errno : -fallback;
}

static inline void freep(void *p)
{
	free(*(void **)p);
}
#define _cleanup_free_ _cleanup_(freep)

static inline void closep(int *fd)
{
	if (*fd >= 0) {
		int saved = errno;

		close(*fd);
		errno = saved;
	}
}
#define _cleanup_close_ _cleanup_(closep)

static inline void fclosep(FILE **f)
{
	if (*f)
		fclose(*f);
}
#define _cleanup_fclose_ _cleanup_(fclosep)

/* Close an fd and return -1, so that `fd = safe_close(fd);` works. */
static inline int safe_close(int fd)
{
	if (fd >= 0) {
		int saved = errno;

		close(fd);
		errno = saved;
	}
	return -1;
}

static inline bool streq(const char *a, const char *b)
{
	return strcmp(a, b) == 0;
}

static inline bool streq_ptr(const char *a, const char *b)
{
	if (!a || !b)
		return a == b;
	return streq(a, b);
}

static inline bool startswith(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static inline const char *strna(const char *s)
{
	return s ?: "n/a";
}

/* Monotonic time in microseconds. */
static inline uint64_t now_usec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000ULL;
}

/* Wall-clock time in nanoseconds since the epoch. */
static inline uint64_t realtime_nsec(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* Copy at most size-1 bytes and always terminate; returns -ENAMETOOLONG if truncated. */
static inline int strscpy(char *dst, const char *src, size_t size)
{
	size_t n = strlen(src);

	if (size == 0)
		return -ENAMETOOLONG;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -ENAMETOOLONG;
	}
	memcpy(dst, src, n + 1);
	return (int)n;
}

/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/* Write a file atomically: a temporary file in the same directory, then rename(). */
int write_file_atomic(const char *path, const void *buf, size_t len, unsigned int mode);

/* The sibling write_file_exchange() keeps beside the file it writes: its name and this. */
#define FILE_NEXT_SUFFIX ".next"

/*
 * Write a file that is rewritten often (a journal record) atomically, without a new inode per
 * write: the contents go into the sibling path.next (made once, then rewritten in place), and
 * renameat2(RENAME_EXCHANGE) swaps the two names, so that path.next holds the contents before.
 * A crash leaves path whole, old or new, as with write_file_atomic(); path.next is never the
 * record, and a reader skips it. Allocating an inode is what costs, on ext4 without a journal
 * most (it passes over every inode freed in the last minute). Where the file system cannot
 * exchange, and for the first write, a rename(). unlink_file_exchange() removes both.
 */
int write_file_exchange(const char *path, const void *buf, size_t len, unsigned int mode);
/* Remove path.next, then path (none there is no error); 0 or -errno. */
int unlink_file_exchange(const char *path);
/*
 * For a directory's reader: name (in dir) is the sibling of a record write_file_exchange()
 * writes, ending in suffix FILE_NEXT_SUFFIX (".json.next" for suffix ".json"). One whose
 * record is gone (a crash before the first rename) is removed.
 */
bool file_exchange_sibling(const char *dir, const char *name, const char *suffix);

/* Read a whole (small) file; *ret_buf is NUL-terminated and must be freed. */
int read_file(const char *path, size_t max, char **ret_buf, size_t *ret_len);

/* mkdir -p with the given mode for created components. */
int mkdir_p(const char *path, unsigned int mode);

/*
 * rm -rf --one-file-system: remove path and, if it is a directory, everything below it, without
 * following symbolic links or entering another file system (a mount point below is left, and
 * so are its parents: -EBUSY); a directory below that is not writable is made so to be emptied.
 * Goes on past a failure; returns the first -errno, 0 if all is gone (or path never was).
 */
int rm_rf(const char *path);

/*
 * The executable file name names: name itself if it has a '/', else the first name in $PATH's
 * directories (a default PATH if unset) that is executable; into buf. -ENOENT if none.
 */
int find_executable(const char *name, char *buf, size_t size);

/*
 * For parsers that say what is wrong in an allocated string: set *ret_error (if not NULL) to
 * the formatted message and return -EINVAL.
 */
int fail_with(char **ret_error, const char *fmt, ...) _printf_(2, 3);
/* The same for another error: set *ret_error (if not NULL) and return r, a -errno. */
int fail_errno(char **ret_error, int r, const char *fmt, ...) _printf_(3, 4);

/* n random bytes from getrandom(2), written as 2n lower-case hex digits and a NUL into buf. */
int random_hex(char *buf, size_t n);

/* Format a realtime nanosecond timestamp as RFC 3339 with nanoseconds, UTC. */
int format_rfc3339_nsec(uint64_t nsec, char *buf, size_t size);

/*
 * The length (1-4) of the well-formed UTF-8 sequence at s, of which n bytes are there; 0 if
 * there is none (a stray or truncated byte, an overlong form, a surrogate, beyond U+10FFFF).
 */
size_t utf8_char_len(const char *s, size_t n);

#endif
