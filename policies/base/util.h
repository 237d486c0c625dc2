/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util - allocation that never fails, and small string helpers.
 *
 * Allocation wrappers never return NULL: on out-of-memory they log and
 * abort(), and the MTA's milter_default_action covers in-flight mail
 * (Postfix mymalloc).  Thread-safe.
 *
 * The error convention of the base layer (and of the layers above it):
 * a function that can fail returns 0 or -1, or a pointer or NULL, and
 * says why through its last argument, never through errno alone and
 * never by printing: a "const char **why_r" (static text) where one
 * value is checked, a "char **error_r" (malloc'd, "FILE:LINE: ...")
 * where a file is, and a "struct pw_buf *errors" (one line appended per
 * problem, every problem reported) where a whole file is loaded.
 * Lookups that can also find nothing return 1, 0 or -1 (store.h).
 */
#ifndef PW_UTIL_H
#define PW_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <time.h>

void	*pw_malloc(size_t);
void	*pw_calloc(size_t, size_t);
void	*pw_realloc(void *, size_t);
char	*pw_strdup(const char *);
char	*pw_strndup(const char *, size_t);
char	*pw_asprintf(const char *, ...) __attribute__((format(printf, 1, 2)));
char	*pw_vasprintf(const char *, va_list) __attribute__((format(printf, 1, 0)));

/* ASCII case-insensitive helpers; never locale dependent. */
int	 pw_strcaseeq(const char *, const char *);
int	 pw_strncaseeq(const char *, const char *, size_t);
char	*pw_lowercase(char *);

/* Trim ASCII white space at both ends, in place: cuts the end and returns
   a pointer past the leading white space (inside the argument). */
char	*pw_trim(char *);

/* Split "a, b c" on commas and white space.  Returns a NULL-terminated
   vector of malloc'd strings (free with pw_strv_free) and its length. */
char	**pw_split_list(const char *, size_t *count_r);
void	 pw_strv_free(char ***);

/* Dynamic string. */
struct pw_buf {
	char	*data;
	size_t	 len;
	size_t	 cap;
};

void	pw_buf_add(struct pw_buf *, const void *, size_t);
void	pw_buf_puts(struct pw_buf *, const char *);
void	pw_buf_printf(struct pw_buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	pw_buf_free(struct pw_buf *);

/* pw_clock_now - time(NULL), moved by the test clock in builds with
   --enable-test-hooks: PW_TEST_CLOCK_FILE names a file holding a number
   of seconds to add (key rotation and sending quotas are tested by moving
   it, not by waiting). */
time_t	pw_clock_now(void);

#endif
