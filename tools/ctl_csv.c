/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_csv - the RFC 4180 reader and field writer of postwarden-ctl
 * (ctl_csv.h).  Moved here from ctl_consent.c unchanged in what it
 * accepts; the only new thing is the byte source (FILE or memory), so
 * that the fuzz harness runs the same code as "consent import".
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "ctl_csv.h"

#define CSV_NOBACK (-2)

void
pw_csv_init_file(struct pw_csv *c, FILE *fp)
{
	memset(c, 0, sizeof(*c));
	c->fp = fp;
	c->back = CSV_NOBACK;
	c->max_field = PW_CSV_MAX_FIELD;
}

void
pw_csv_init_mem(struct pw_csv *c, const void *mem, size_t len)
{
	memset(c, 0, sizeof(*c));
	c->mem = mem;
	c->memlen = len;
	c->back = CSV_NOBACK;
	c->max_field = PW_CSV_MAX_FIELD;
}

/* csv_getc - the next byte as getc() gives it, from either source */
static int
csv_getc(struct pw_csv *c)
{
	int ch;

	if (c->back != CSV_NOBACK) {
		ch = c->back;
		c->back = CSV_NOBACK;
		return ch;
	}
	if (c->fp != NULL)
		return getc(c->fp);
	if (c->mempos >= c->memlen)
		return EOF;
	return (unsigned char)c->mem[c->mempos++];
}

/* csv_ungetc - push one byte back; EOF too, so that it is seen again
   (ungetc(EOF) would do nothing, and a terminal's EOF is not sticky) */
static void
csv_ungetc(struct pw_csv *c, int ch)
{
	c->back = ch;
}

void
pw_csv_clear(struct pw_csv *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		free(c->f[i]);
	c->n = 0;
}

void
pw_csv_free(struct pw_csv *c)
{
	pw_csv_clear(c);
	free(c->f);
	c->f = NULL;
	c->cap = 0;
}

static void
csv_push(struct pw_csv *c, struct pw_buf *b)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 16;
		c->f = pw_realloc(c->f, c->cap * sizeof(*c->f));
	}
	c->f[c->n++] = pw_strndup(b->data ? b->data : "", b->len);
	b->len = 0;
}

int
pw_csv_next(struct pw_csv *c, int *line_r, const char **why_r)
{
	struct pw_buf b = {0};
	bool quoted = false, was_quoted = false;
	int ch;

	pw_csv_clear(c);
	c->line++;
	*line_r = c->line;
	for (;;) {
		ch = csv_getc(c);
		if (quoted) {
			if (ch == EOF) {
				*why_r = "unterminated quoted field";
				goto fail_eof;
			}
			if (ch == '"') {
				if ((ch = csv_getc(c)) == '"') {
					pw_buf_add(&b, "\"", 1);
					continue;
				}
				quoted = false;
				was_quoted = true;
				csv_ungetc(c, ch);
				continue;
			}
			if (ch == '\n')
				c->line++;
		} else if (ch == ',' || ch == '\n' || ch == EOF) {
			if (ch == EOF && c->n == 0 && b.len == 0 &&
			    !was_quoted) {
				pw_buf_free(&b);
				return 0;
			}
			if (b.len > 0 && b.data[b.len - 1] == '\r' &&
			    !was_quoted)
				b.len--;
			csv_push(c, &b);
			was_quoted = false;
			if (ch == ',')
				continue;
			if (c->n == 1 && c->f[0][0] == '\0') {
				/* blank line */
				pw_csv_clear(c);
				if (ch == EOF) {
					pw_buf_free(&b);
					return 0;
				}
				c->line++;
				*line_r = c->line;
				continue;
			}
			pw_buf_free(&b);
			return 1;
		} else if (ch == '"') {
			if (b.len > 0 || was_quoted) {
				*why_r = "quote inside an unquoted field";
				goto fail;
			}
			quoted = true;
			continue;
		} else if (was_quoted) {
			if (ch == '\r') /* "...",CRLF: not part of the value */
				continue;
			*why_r = "text after a closing quote";
			goto fail;
		}
		if (ch == '\0') {
			*why_r = "NUL byte";
			goto fail;
		}
		pw_buf_add(&b, &(char){(char)ch}, 1);
		if (b.len > c->max_field) {
			*why_r = "field too long";
			goto fail;
		}
	}
fail:
	while (ch != '\n' && ch != EOF)
		ch = csv_getc(c);
fail_eof:
	pw_buf_free(&b);
	pw_csv_clear(c);
	return -1;
}

void
pw_csv_field(FILE *fp, const char *v, bool last)
{
	if (v == NULL)
		v = "";
	if (strpbrk(v, ",\"\r\n") == NULL) {
		fputs(v, fp);
	} else {
		fputc('"', fp);
		for (; *v != '\0'; v++) {
			if (*v == '"')
				fputc('"', fp);
			fputc(*v, fp);
		}
		fputc('"', fp);
	}
	fputc(last ? '\n' : ',', fp);
}
