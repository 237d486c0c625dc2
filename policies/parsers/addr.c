/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addr - RFC 5322 address-list parsing.
 *
 * One pass over the value.  A mailbox is either "phrase <addr-spec>" or a
 * bare addr-spec; a group is "phrase: mailbox, ...;".  Comments (nested,
 * RFC 5322 §3.2.2) are dropped, quoted strings (§3.2.4) keep their
 * contents.  The result for each mailbox is checked as an addr-spec:
 * exactly one '@' outside quotes, a non-empty local part and a domain of
 * letters, digits, '-', '.' or a domain literal.
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/addr.h"

struct addr_state {
	struct pw_arena	*arena;
	struct pw_buf	 text;		/* current mailbox, comments removed */
	struct pw_buf	 angle;		/* inside <...> */
	bool		 have_angle;
	bool		 in_group;
	int		 count;
	const char	**v;
	size_t		 nv;
	const char	*error;
};

/* local_char_ok - atext or '.' (RFC 5322 3.2.3), or 8-bit (RFC 6532) */
static bool
local_char_ok(char c)
{
	unsigned char u = (unsigned char)c;

	return isalnum(u) || u >= 0x80 || u == '.' ||
	    strchr("!#$%&'*+-/=?^_`{|}~", u) != NULL;
}

/* check_addr_spec - is s a plausible local@domain? */
static bool
check_addr_spec(const char *s)
{
	const char *at = NULL, *d;
	bool inq = false;

	for (const char *p = s; *p; p++) {
		/* No control characters anywhere, quoted or not: a CR or LF
		   in an address would reach logs and headers (fuzz_addr). */
		if (((unsigned char)*p < ' ' && *p != '\t') || *p == 0x7f)
			return false;
		if (*p == '\\' && inq && p[1]) {
			p++;
			if (((unsigned char)*p < ' ' && *p != '\t') ||
			    *p == 0x7f)
				return false;
			continue;
		}
		if (*p == '"')
			inq = !inq;
		else if (*p == '@' && !inq) {
			if (at != NULL)
				return false;
			at = p;
		} else if (!inq && at == NULL && !local_char_ok(*p)) {
			/* Unquoted specials (":" "\\" "[" ...) are not atext:
			   "a:b@c" read as an address would be a group to the
			   next parser (found by fuzz_addr). */
			return false;
		} else if (!inq && ((unsigned char)*p <= ' ' || *p == ',' ||
			   *p == ';' || *p == '<' || *p == '>' || *p == '(' ||
			   *p == ')'))
			return false;
	}
	if (inq || at == NULL || at == s || at[1] == '\0')
		return false;
	d = at + 1;
	if (*d == '[')
		return d[strlen(d) - 1] == ']';
	if (*d == '.' || d[strlen(d) - 1] == '.' || strstr(d, "..") != NULL)
		return false;
	for (; *d; d++)
		if (!isalnum((unsigned char)*d) && *d != '-' && *d != '.' &&
		    (unsigned char)*d < 0x80)
			return false;
	return true;
}

/* finish_mailbox - close the current mailbox (at ',' ';' or the end) */
static int
finish_mailbox(struct addr_state *st)
{
	struct pw_buf *b = st->have_angle ? &st->angle : &st->text;
	char *spec, *at;

	if (b->len == 0 && !st->have_angle) {
		/* Empty list element: RFC 5322 obs-mbox-list allows it. */
		pw_buf_free(&st->text);
		return 0;
	}
	spec = pw_arena_strndup(st->arena, b->data ? b->data : "", b->len);
	spec = pw_trim(spec);
	if (st->have_angle && *spec == '@') {
		/* obs-route "<@a,@b:user@dom>": drop the route. */
		char *colon = strchr(spec, ':');

		if (colon != NULL)
			spec = colon + 1;
	}
	if (!check_addr_spec(spec)) {
		st->error = "malformed address";
		return -1;
	}
	if ((at = strrchr(spec, '@')) != NULL)
		pw_lowercase(at + 1);
	st->count++;
	st->v = pw_realloc(st->v, (st->nv + 2) * sizeof(*st->v));
	st->v[st->nv++] = spec;
	st->v[st->nv] = NULL;
	pw_buf_free(&st->text);
	pw_buf_free(&st->angle);
	st->have_angle = false;
	return 0;
}

/* skip_comment - past a nested comment; NULL if unbalanced */
static const char *
skip_comment(const char *p)
{
	int depth = 0;

	for (; *p; p++) {
		if (*p == '\\' && p[1])
			p++;
		else if (*p == '(')
			depth++;
		else if (*p == ')' && --depth == 0)
			return p + 1;
	}
	return NULL;
}

/* copy_quoted - append a quoted string to b; returns past it or NULL */
static const char *
copy_quoted(struct pw_buf *b, const char *p)
{
	pw_buf_add(b, p++, 1);
	for (; *p; p++) {
		/* Unfold: CRLF (or the milter's bare LF) before white space
		   is folding, not content (RFC 5322 3.2.2). */
		if ((p[0] == '\r' && p[1] == '\n' &&
		    (p[2] == ' ' || p[2] == '\t')) ||
		    (p[0] == '\n' && (p[1] == ' ' || p[1] == '\t'))) {
			p += p[0] == '\r';
			continue;
		}
		if (*p == '\\' && p[1]) {
			pw_buf_add(b, p, 2);
			p++;
			continue;
		}
		pw_buf_add(b, p, 1);
		if (*p == '"')
			return p + 1;
	}
	return NULL;
}

/* parse_angle - "<...>" into st->angle; returns past '>' or NULL */
static const char *
parse_angle(struct addr_state *st, const char *p)
{
	if (st->have_angle) {
		st->error = "two angle addresses in one mailbox";
		return NULL;
	}
	st->have_angle = true;
	for (p++; *p && *p != '>';) {
		if (*p == '(') {
			if ((p = skip_comment(p)) == NULL)
				return NULL;
		} else if (*p == '"') {
			if ((p = copy_quoted(&st->angle, p)) == NULL)
				return NULL;
		} else if (*p == '<') {
			st->error = "nested '<'";
			return NULL;
		} else {
			if (*p != ' ' && *p != '\t' && *p != '\r' && *p != '\n')
				pw_buf_add(&st->angle, p, 1);
			p++;
		}
	}
	if (*p != '>') {
		st->error = "unbalanced '<'";
		return NULL;
	}
	return p + 1;
}

int
pw_addr_parse_list(struct pw_arena *arena, const char *value,
    const char ***addrs_r, const char **error_r)
{
	struct addr_state st = {.arena = arena};
	const char *p = value;
	int ret = -1;

	while (p != NULL && *p) {
		switch (*p) {
		case '(':
			if ((p = skip_comment(p)) == NULL)
				st.error = "unbalanced '('";
			break;
		case '"':
			if (st.have_angle) {
				st.error = "text after angle address";
				p = NULL;
			} else if ((p = copy_quoted(&st.text, p)) == NULL)
				st.error = "unbalanced '\"'";
			break;
		case '<':
			p = parse_angle(&st, p);
			break;
		case '>':
			st.error = "unbalanced '>'";
			p = NULL;
			break;
		case ':':
			if (st.in_group || st.have_angle) {
				st.error = "unexpected ':'";
				p = NULL;
				break;
			}
			/* The text so far was a group's display name. */
			st.in_group = true;
			pw_buf_free(&st.text);
			p++;
			break;
		case ';':
			if (!st.in_group) {
				st.error = "';' outside a group";
				p = NULL;
				break;
			}
			if (finish_mailbox(&st) < 0)
				p = NULL;
			else {
				st.in_group = false;
				p++;
			}
			break;
		case ',':
			if (finish_mailbox(&st) < 0)
				p = NULL;
			else
				p++;
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			/* Kept (once) so that "a b@c" is not read as "ab@c". */
			if (!st.have_angle && st.text.len > 0 &&
			    st.text.data[st.text.len - 1] != ' ')
				pw_buf_add(&st.text, " ", 1);
			p++;
			break;
		default:
			if (st.have_angle) {
				st.error = "text after angle address";
				p = NULL;
				break;
			}
			pw_buf_add(&st.text, p++, 1);
			break;
		}
	}
	if (p != NULL && st.in_group)
		st.error = "unterminated group";
	else if (p != NULL && finish_mailbox(&st) == 0)
		ret = st.count;
	if (ret < 0 && st.error == NULL)
		st.error = "cannot parse address list";
	*error_r = st.error;
	if (ret >= 0 && addrs_r != NULL) {
		const char **v = pw_arena_alloc(arena, (st.nv + 1) * sizeof(*v));

		if (st.nv > 0)
			memcpy(v, st.v, st.nv * sizeof(*v));
		*addrs_r = v;
	}
	free(st.v);
	pw_buf_free(&st.text);
	pw_buf_free(&st.angle);
	return ret;
}

const char *
pw_addr_domain(const char *addr)
{
	const char *at = addr ? strrchr(addr, '@') : NULL;

	return at != NULL && at[1] ? at + 1 : NULL;
}
