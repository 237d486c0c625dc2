/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * util - allocation that never fails, and small string helpers.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/util.h"

/* pw_oom - no memory: there is nothing sensible left to do */
static void
pw_oom(size_t len)
{
	pw_panic("out of memory allocating %zu bytes", len);
}

void *
pw_malloc(size_t len)
{
	void *p = malloc(len ? len : 1);

	if (p == NULL)
		pw_oom(len);
	return p;
}

void *
pw_calloc(size_t n, size_t len)
{
	void *p = calloc(n ? n : 1, len ? len : 1);

	if (p == NULL)
		pw_oom(n * len);
	return p;
}

void *
pw_realloc(void *ptr, size_t len)
{
	void *p = realloc(ptr, len ? len : 1);

	if (p == NULL)
		pw_oom(len);
	return p;
}

char *
pw_strdup(const char *s)
{
	return pw_strndup(s, strlen(s));
}

char *
pw_strndup(const char *s, size_t len)
{
	char *p = pw_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *
pw_vasprintf(const char *fmt, va_list ap)
{
	va_list ap2;
	int n;
	char *p;

	va_copy(ap2, ap);
	n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n < 0)
		pw_panic("pw_vasprintf: bad format \"%s\"", fmt);
	p = pw_malloc((size_t)n + 1);
	vsnprintf(p, (size_t)n + 1, fmt, ap);
	return p;
}

char *
pw_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *p;

	va_start(ap, fmt);
	p = pw_vasprintf(fmt, ap);
	va_end(ap);
	return p;
}

static int
lc(int c)
{
	return (c >= 'A' && c <= 'Z') ? c + 32 : c;
}

int
pw_strcaseeq(const char *a, const char *b)
{
	while (*a && lc((unsigned char)*a) == lc((unsigned char)*b))
		a++, b++;
	return *a == '\0' && *b == '\0';
}

int
pw_strncaseeq(const char *a, const char *b, size_t n)
{
	for (; n > 0; n--, a++, b++) {
		if (lc((unsigned char)*a) != lc((unsigned char)*b))
			return 0;
		if (*a == '\0')
			return 1;
	}
	return 1;
}

char *
pw_lowercase(char *s)
{
	for (char *p = s; *p; p++)
		*p = (char)lc((unsigned char)*p);
	return s;
}

char *
pw_trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r' ||
			    e[-1] == '\n'))
		*--e = '\0';
	return s;
}

char **
pw_split_list(const char *s, size_t *count_r)
{
	char **v = pw_calloc(1, sizeof(*v));
	size_t n = 0;
	const char *p = s, *start;

	for (;;) {
		while (*p == ',' || isspace((unsigned char)*p))
			p++;
		if (*p == '\0')
			break;
		start = p;
		while (*p && *p != ',' && !isspace((unsigned char)*p))
			p++;
		v = pw_realloc(v, (n + 2) * sizeof(*v));
		v[n++] = pw_strndup(start, (size_t)(p - start));
		v[n] = NULL;
	}
	if (count_r != NULL)
		*count_r = n;
	return v;
}

void
pw_strv_free(char ***vp)
{
	char **v = *vp;

	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
	*vp = NULL;
}

void
pw_buf_add(struct pw_buf *b, const void *data, size_t len)
{
	if (b->len + len + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;

		while (cap < b->len + len + 1)
			cap *= 2;
		b->data = pw_realloc(b->data, cap);
		b->cap = cap;
	}
	memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

void
pw_buf_puts(struct pw_buf *b, const char *s)
{
	pw_buf_add(b, s, strlen(s));
}

void
pw_buf_printf(struct pw_buf *b, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = pw_vasprintf(fmt, ap);
	va_end(ap);
	pw_buf_puts(b, s);
	free(s);
}

void
pw_buf_free(struct pw_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

time_t
pw_clock_now(void)
{
	time_t now = time(NULL);
#ifdef PW_TEST_HOOKS
	const char *f = getenv("PW_TEST_CLOCK_FILE");
	FILE *fp;
	long off;

	if (f != NULL && (fp = fopen(f, "r")) != NULL) {
		if (fscanf(fp, "%ld", &off) == 1)
			now += off;
		fclose(fp);
	}
#endif
	return now;
}
