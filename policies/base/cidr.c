/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr - lists of IPv4/IPv6 networks.
 *
 * Every entry is stored as a 16-byte IPv6 address (IPv4 as ::ffff:a.b.c.d)
 * and a prefix length, so one comparison covers both families.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"
#include "base/util.h"

struct cidr_ent {
	unsigned char	addr[16];
	unsigned int	bits;	/* 0..128, counted over the mapped form */
};

struct pw_cidr_list {
	struct cidr_ent	*v;
	size_t		 n;
};

static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0,
					   0, 0, 0, 0, 0xff, 0xff};

/* cidr_mask - clear the host bits */
static void
cidr_mask(unsigned char *a, unsigned int bits)
{
	for (unsigned int i = 0; i < 16; i++) {
		unsigned int keep = bits >= 8 ? 8 : bits;

		a[i] &= (unsigned char)(0xff00 >> keep);
		bits -= keep;
	}
}

/* cidr_parse_one - "a.b.c.d[/n]" or "x::y[/n]"; 0 or -1 with *why */
static int
cidr_parse_one(const char *item, struct cidr_ent *e, const char **why)
{
	char buf[INET6_ADDRSTRLEN + 8];
	char *slash, *end;
	long bits = -1;
	struct in_addr a4;
	struct in6_addr a6;
	bool v4;

	if (strlen(item) >= sizeof(buf)) {
		*why = "address too long";
		return -1;
	}
	strcpy(buf, item);
	if ((slash = strchr(buf, '/')) != NULL) {
		*slash++ = '\0';
		errno = 0;
		bits = strtol(slash, &end, 10);
		if (*slash == '\0' || *end != '\0' || errno != 0 || bits < 0) {
			*why = "bad prefix length";
			return -1;
		}
	}
	/* Accept [::1] as written in Postfix mynetworks. */
	if (buf[0] == '[' && buf[strlen(buf) - 1] == ']') {
		memmove(buf, buf + 1, strlen(buf));
		buf[strlen(buf) - 1] = '\0';
	}
	if (inet_pton(AF_INET, buf, &a4) == 1) {
		v4 = true;
		memcpy(e->addr, v4mapped, 12);
		memcpy(e->addr + 12, &a4, 4);
		if (bits > 32) {
			*why = "prefix length over 32";
			return -1;
		}
		e->bits = (unsigned int)(bits < 0 ? 128 : 96 + bits);
	} else if (inet_pton(AF_INET6, buf, &a6) == 1) {
		v4 = false;
		memcpy(e->addr, &a6, 16);
		if (bits > 128) {
			*why = "prefix length over 128";
			return -1;
		}
		e->bits = (unsigned int)(bits < 0 ? 128 : bits);
	} else {
		*why = "not an IPv4 or IPv6 address";
		return -1;
	}
	(void)v4;
	cidr_mask(e->addr, e->bits);
	return 0;
}

/* cidr_add - append one entry */
static void
cidr_add(struct pw_cidr_list *l, const struct cidr_ent *e)
{
	l->v = pw_realloc(l->v, (l->n + 1) * sizeof(*l->v));
	l->v[l->n++] = *e;
}

/* cidr_read_file - one network per line; errors name PATH:LINE */
static int
cidr_read_file(struct pw_cidr_list *l, const char *path, const char *where,
    struct pw_buf *errors)
{
	FILE *fp = fopen(path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, bad = 0;

	if (fp == NULL) {
		pw_buf_printf(errors, "%s: cannot open \"%s\": %s\n", where,
		    path, strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		char *p, *hash;
		char **items;
		size_t n;

		lineno++;
		if ((hash = strchr(line, '#')) != NULL)
			*hash = '\0';
		p = pw_trim(line);
		items = pw_split_list(p, &n);
		for (size_t i = 0; i < n; i++) {
			struct cidr_ent e;
			const char *why;

			if (cidr_parse_one(items[i], &e, &why) < 0) {
				pw_buf_printf(errors, "%s:%d: \"%s\": %s\n",
				    path, lineno, items[i], why);
				bad = 1;
			} else {
				cidr_add(l, &e);
			}
		}
		pw_strv_free(&items);
	}
	free(line);
	fclose(fp);
	return bad ? -1 : 0;
}

struct pw_cidr_list *
pw_cidr_parse(const char *text, const char *where, struct pw_buf *errors)
{
	struct pw_cidr_list *l = pw_calloc(1, sizeof(*l));
	char **items;
	size_t n;
	int bad = 0;

	items = pw_split_list(text != NULL ? text : "", &n);
	for (size_t i = 0; i < n; i++) {
		struct cidr_ent e;
		const char *why;

		if (strncmp(items[i], "file:", 5) == 0) {
			if (cidr_read_file(l, items[i] + 5, where, errors) < 0)
				bad = 1;
		} else if (cidr_parse_one(items[i], &e, &why) < 0) {
			pw_buf_printf(errors, "%s: \"%s\": %s\n", where,
			    items[i], why);
			bad = 1;
		} else {
			cidr_add(l, &e);
		}
	}
	pw_strv_free(&items);
	if (bad)
		pw_cidr_free(&l);
	return l;
}

void
pw_cidr_free(struct pw_cidr_list **lp)
{
	if (*lp == NULL)
		return;
	free((*lp)->v);
	free(*lp);
	*lp = NULL;
}

/* cidr_match16 - compare a 16-byte address against every entry */
static bool
cidr_match16(const struct pw_cidr_list *l, const unsigned char *a)
{
	for (size_t i = 0; i < l->n; i++) {
		unsigned char m[16];

		memcpy(m, a, 16);
		cidr_mask(m, l->v[i].bits);
		if (memcmp(m, l->v[i].addr, 16) == 0)
			return true;
	}
	return false;
}

bool
pw_cidr_match(const struct pw_cidr_list *l, const struct sockaddr *sa)
{
	unsigned char a[16];

	if (l == NULL || sa == NULL)
		return false;
	if (sa->sa_family == AF_INET) {
		memcpy(a, v4mapped, 12);
		memcpy(a + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa->sa_family == AF_INET6) {
		memcpy(a, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	} else {
		return false;
	}
	return cidr_match16(l, a);
}

bool
pw_cidr_match_str(const struct pw_cidr_list *l, const char *addr)
{
	struct sockaddr_in s4;
	struct sockaddr_in6 s6;

	memset(&s4, 0, sizeof(s4));
	memset(&s6, 0, sizeof(s6));
	if (inet_pton(AF_INET, addr, &s4.sin_addr) == 1) {
		s4.sin_family = AF_INET;
		return pw_cidr_match(l, (struct sockaddr *)&s4);
	}
	if (inet_pton(AF_INET6, addr, &s6.sin6_addr) == 1) {
		s6.sin6_family = AF_INET6;
		return pw_cidr_match(l, (struct sockaddr *)&s6);
	}
	return false;
}

size_t
pw_cidr_count(const struct pw_cidr_list *l)
{
	return l == NULL ? 0 : l->n;
}
