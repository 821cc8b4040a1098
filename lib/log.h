/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Logging. Library code (lib/) logs at debug level at most; callers log once, where the
 * context is: `return log_err_errno(r, "Failed to move '%s': %m", ifname);`
 */
#ifndef TP_LOG_H
#define TP_LOG_H

#include <stdbool.h>
#include <sys/types.h>

#include "util.h"

enum log_level {
	LOG_LEVEL_ERR = 3,
	LOG_LEVEL_WARNING = 4,
	LOG_LEVEL_NOTICE = 5,
	LOG_LEVEL_INFO = 6,
	LOG_LEVEL_DEBUG = 7,
};

/* Set the program name printed before each line. */
void log_set_ident(const char *ident);
/* Set the maximum level printed. */
void log_set_level(enum log_level level);
/* Current maximum level. */
enum log_level log_get_level(void);
/* Parse "err", "warning", "notice", "info", "debug" (or 3..7); -EINVAL if unknown. */
int log_level_from_string(const char *s);
/* Print timestamps (seconds since start) before each line. */
void log_set_timestamps(bool on);

/*
 * Does $JOURNAL_STREAM ("DEV:INO", set by systemd for a service whose output goes to the
 * journal) name the file dev/ino? Then lines are written with a "<N>" priority prefix
 * (sd-daemon(3)) and without the program's name and the level's word, which the journal has.
 */
bool log_journal_stream_matches(const char *journal_stream, dev_t dev, ino_t ino);

/*
 * Write one line on stderr ("prog: level: message", or "<N>message" when stderr is the
 * journal); err (positive or negative errno) sets errno for %m. Returns -abs(err).
 */
int log_internal(enum log_level level, int err, const char *fmt, ...) _printf_(3, 4);

#define log_full_errno(level, err, ...)                                                            \
	({                                                                                         \
		int _e = (err);                                                                    \
		(int)(log_get_level() >= (level) ? log_internal(level, _e, __VA_ARGS__)            \
						 : -(_e < 0 ? -_e : _e));                          \
	})

#define log_err(...)		  log_full_errno(LOG_LEVEL_ERR, 0, __VA_ARGS__)
#define log_warn(...)		  log_full_errno(LOG_LEVEL_WARNING, 0, __VA_ARGS__)
#define log_notice(...)		  log_full_errno(LOG_LEVEL_NOTICE, 0, __VA_ARGS__)
#define log_info(...)		  log_full_errno(LOG_LEVEL_INFO, 0, __VA_ARGS__)
#define log_debug(...)		  log_full_errno(LOG_LEVEL_DEBUG, 0, __VA_ARGS__)
#define log_err_errno(err, ...)	  log_full_errno(LOG_LEVEL_ERR, err, __VA_ARGS__)
#define log_warn_errno(err, ...)  log_full_errno(LOG_LEVEL_WARNING, err, __VA_ARGS__)
#define log_info_errno(err, ...)  log_full_errno(LOG_LEVEL_INFO, err, __VA_ARGS__)
#define log_debug_errno(err, ...) log_full_errno(LOG_LEVEL_DEBUG, err, __VA_ARGS__)
#define log_oom()		  log_err_errno(ENOMEM, "Out of memory")

#endif
