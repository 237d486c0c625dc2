/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_macro - RFC 7208 section 7 macros (see spf_macro.h).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/spf_macro.h"

#define DELIMS ".-+,/_="

/* ip_dotted - i: dotted quad, or the 32 nibbles of an IPv6 address */
static void
ip_dotted(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	if (ss->ss_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;
		size_t o = 0;

		for (int i = 0; i < 16 && o + 4 < outsz; i++)
			o += (size_t)snprintf(out + o, outsz - o, "%s%x.%x",
			    i ? "." : "", a[i] >> 4, a[i] & 15);
		return;
	}
	inet_ntop(AF_INET, &((const struct sockaddr_in *)ss)->sin_addr, out,
	    (socklen_t)outsz);
}

/* value - the raw value of a macro letter (lower case), or NULL */
static const char *
value(struct pw_arena *a, int letter, const struct pw_spf_macro_ctx *x,
    bool expl)
{
	const char *at = strrchr(x->sender, '@');
	char buf[INET6_ADDRSTRLEN + 80];

	switch (letter) {
	case 's':
		return x->sender;
	case 'l':
		return at == NULL || at == x->sender ? "postmaster" :
		    pw_arena_strndup(a, x->sender, (size_t)(at - x->sender));
	case 'o':
		return at ? at + 1 : x->sender;
	case 'd':
		return x->domain;
	case 'i':
		ip_dotted(x->ip, buf, sizeof(buf));
		return pw_arena_strdup(a, buf);
	case 'p':
		/* the caller validated it (RFC 7208 5.5); "unknown" when
		   that failed (7.3) */
		return x->ptr ? x->ptr : "unknown";
	case 'v':
		return x->ip->ss_family == AF_INET6 ? "ip6" : "in-addr";
	case 'h':
		return x->helo && *x->helo ? x->helo : "unknown";
	case 'c':
		if (!expl)
			return NULL;
		if (x->ip->ss_family == AF_INET6)
			inet_ntop(AF_INET6,
			    &((const struct sockaddr_in6 *)x->ip)->sin6_addr,
			    buf, sizeof(buf));
		else
			ip_dotted(x->ip, buf, sizeof(buf));
		return pw_arena_strdup(a, buf);
	case 'r':
		return expl ? (x->receiver ? x->receiver : "unknown") : NULL;
	case 't':
		if (!expl)
			return NULL;
		snprintf(buf, sizeof(buf), "%lld", (long long)x->now);
		return pw_arena_strdup(a, buf);
	}
	return NULL;
}

/* transform - split v at delims, reverse if asked, keep the rightmost
   keep parts (0: all), join with '.' */
static void
transform(struct pw_buf *out, const char *v, const char *delims,
    unsigned long keep, bool rev)
{
	const char *part[128];
	size_t plen[128], n = 0, first;
	const char *p = v;

	for (;;) {
		size_t l = strcspn(p, delims);

		if (n < 128) {
			part[n] = p;
			plen[n++] = l;
		}
		if (p[l] == '\0')
			break;
		p += l + 1;
	}
	if (rev)
		for (size_t i = 0; i < n / 2; i++) {
			const char *t = part[i];
			size_t tl = plen[i];

			part[i] = part[n - 1 - i];
			plen[i] = plen[n - 1 - i];
			part[n - 1 - i] = t;
			plen[n - 1 - i] = tl;
		}
	first = keep > 0 && keep < n ? n - keep : 0;
	for (size_t i = first; i < n; i++) {
		if (i > first)
			pw_buf_add(out, ".", 1);
		pw_buf_add(out, part[i], plen[i]);
	}
}

/* url_escape - uppercase macros: every character outside RFC 3986's
   unreserved set as %XX */
static void
url_escape(struct pw_buf *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (isalnum(ch) || strchr("-._~", ch) != NULL)
			pw_buf_add(out, (const char *)&s[i], 1);
		else
			pw_buf_printf(out, "%%%02X", ch);
	}
}

char *
pw_spf_macro_expand(struct pw_arena *a, const char *s,
    const struct pw_spf_macro_ctx *x, bool expl)
{
	struct pw_buf out = {0};
	char *r;

	for (const char *p = s; *p; p++) {
		if (*p != '%') {
			/* macro-literal: visible characters (and spaces in
			   an explanation) */
			if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e) {
				if (!(expl && *p == ' '))
					goto bad;
			}
			pw_buf_add(&out, p, 1);
			continue;
		}
		p++;
		if (*p == '%')
			pw_buf_add(&out, "%", 1);
		else if (*p == '_')
			pw_buf_add(&out, " ", 1);
		else if (*p == '-')
			pw_buf_add(&out, "%20", 3);
		else if (*p == '{') {
			const char *v;
			unsigned long keep = 0;
			bool rev = false, upper;
			char delims[sizeof(DELIMS)];
			size_t nd = 0;
			int letter = (unsigned char)*++p;
			struct pw_buf t = {0};

			upper = isupper(letter);
			if ((v = value(a, tolower(letter), x, expl)) == NULL)
				goto bad;
			p++;
			while (isdigit((unsigned char)*p)) {
				keep = keep * 10 + (unsigned long)(*p - '0');
				if (keep > 128)
					goto bad;
				p++;
			}
			if (keep == 0 && p[-1] == '0')
				goto bad;	/* "0" is not a transformer */
			if (*p == 'r' || *p == 'R') {
				rev = true;
				p++;
			}
			while (*p && strchr(DELIMS, *p) != NULL) {
				if (nd < sizeof(delims) - 1 &&
				    memchr(delims, *p, nd) == NULL)
					delims[nd++] = *p;
				p++;
			}
			if (*p != '}')
				goto bad;
			delims[nd] = '\0';
			transform(&t, v, nd ? delims : ".", keep, rev);
			if (upper)
				url_escape(&out, t.data ? t.data : "", t.len);
			else if (t.len > 0)
				pw_buf_add(&out, t.data, t.len);
			pw_buf_free(&t);
		} else
			goto bad;
	}
	r = pw_arena_strndup(a, out.data ? out.data : "", out.len);
	pw_buf_free(&out);
	return r;
bad:
	pw_buf_free(&out);
	return NULL;
}
