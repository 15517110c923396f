/* log.h - one line per event: time, level, call-id, message. */
#ifndef TLSTRUNK_LOG_H
#define TLSTRUNK_LOG_H

enum log_level { LOG_ERROR = 0, LOG_WARN = 1, LOG_INFO = 2, LOG_DEBUG = 3 };

void log_init(enum log_level level, int json);
int log_level_parse(const char *s);	/* -1 when unknown */
int log_enabled(enum log_level level);

/* callid may be NULL; never pass key material in fmt's arguments. */
void log_msg(enum log_level level, const char *callid, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#define log_error(cid, ...) log_msg(LOG_ERROR, (cid), __VA_ARGS__)
#define log_warn(cid, ...) log_msg(LOG_WARN, (cid), __VA_ARGS__)
#define log_info(cid, ...) log_msg(LOG_INFO, (cid), __VA_ARGS__)
#define log_debug(cid, ...)                                      \
	do {                                                     \
		if (log_enabled(LOG_DEBUG))                      \
			log_msg(LOG_DEBUG, (cid), __VA_ARGS__);  \
	} while (0)

/* Broken invariant: log and abort. */
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
