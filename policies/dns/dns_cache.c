/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dns_cache - the answer cache of the shared resolver (see dns_cache.h):
 * a hash table of immutable, reference-counted entries under one mutex.
 * When it holds CACHE_MAX entries it is emptied (crude, but bounded).
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/util.h"
#include "dns/dns.h"
#include "dns/dns_cache.h"

#define CACHE_BUCKETS	4096
#define CACHE_MAX	20000		/* entries; then the cache restarts */
#define CACHE_MAX_TTL	3600

/*
 * One cached answer: immutable once in the table, one malloc block,
 * reference counted (the table holds one reference, every result handed
 * out another), so a hit costs no copy.
 */
struct cent {
	struct cent		*next;
	unsigned int		 refs;		/* atomic */
	unsigned int		 hash;
	int			 type;
	time_t			 expires;	/* CLOCK_MONOTONIC seconds */
	enum pw_dns_status	 status;
	int			 rcode;
	int			 ttl;
	bool			 secure;
	size_t			 n;
	const unsigned char	**data;
	int			*len;
	unsigned char		*packet;
	size_t			 packet_len;
	char			 name[];
};

struct pw_dns_cache {
	pthread_mutex_t	 lock;
	struct cent	*v[CACHE_BUCKETS];
	size_t		 n;
	unsigned long	 hits;
};

static time_t
mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* cache_key - lower-case name without the final dot, and its hash */
static char *
cache_key(const char *name, int type, unsigned int *hash_r)
{
	char *k = pw_lowercase(pw_strdup(name));
	size_t n = strlen(k);
	unsigned int h = 2166136261u;	/* FNV-1a */

	if (n > 0 && k[n - 1] == '.')
		k[--n] = '\0';
	for (size_t i = 0; i < n; i++)
		h = (h ^ (unsigned char)k[i]) * 16777619u;
	*hash_r = (h ^ (unsigned int)type) * 16777619u;
	return k;
}

static void
cent_unref(struct cent *e)
{
	if (e != NULL && __atomic_sub_fetch(&e->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(e);
}

/* cache_clear - drop every entry (results handed out keep theirs) */
static void
cache_clear(struct pw_dns_cache *c)
{
	for (size_t i = 0; i < CACHE_BUCKETS; i++) {
		struct cent *e, *ne;

		for (e = c->v[i]; e != NULL; e = ne) {
			ne = e->next;
			cent_unref(e);
		}
		c->v[i] = NULL;
	}
	c->n = 0;
}

/* result_from - fill r from a cache entry (takes a reference) */
static void
result_from(struct pw_dns_result *r, struct cent *e)
{
	__atomic_add_fetch(&e->refs, 1, __ATOMIC_ACQ_REL);
	r->cached = e;
	r->status = e->status;
	r->rcode = e->rcode;
	r->ttl = e->ttl;
	r->secure = e->secure;
	r->n = e->n;
	r->data = e->n ? (const unsigned char *const *)e->data : NULL;
	r->len = e->n ? e->len : NULL;
	r->packet = e->packet;
	r->packet_len = e->packet_len;
}

/* lookup - a live entry for (name, type) into r; false if none */
static bool
lookup(struct pw_dns_cache *c, const char *key, unsigned int h, int type,
    struct pw_dns_result *r)
{
	struct cent **pp, *e;
	time_t now = mono_now();
	bool hit = false;

	pthread_mutex_lock(&c->lock);
	for (pp = &c->v[h % CACHE_BUCKETS]; (e = *pp) != NULL;) {
		if (e->expires <= now) {	/* expired: unlink */
			*pp = e->next;
			c->n--;
			cent_unref(e);
			continue;
		}
		if (e->hash == h && e->type == type &&
		    strcmp(e->name, key) == 0) {
			result_from(r, e);
			c->hits++;
			hit = true;
			break;
		}
		pp = &e->next;
	}
	pthread_mutex_unlock(&c->lock);
	return hit;
}

/* insert - keep an answer, NXDOMAIN or NODATA for its TTL */
static void
insert(struct pw_dns_cache *c, const char *key, unsigned int h, int type,
    const struct pw_dns_result *r)
{
	size_t klen = strlen(key) + 1, dlen = 0, sz;
	int ttl = r->ttl > CACHE_MAX_TTL ? CACHE_MAX_TTL : r->ttl;
	struct cent *e;
	unsigned char *p;

	if (ttl <= 0 || r->status == PW_DNS_TEMPFAIL ||
	    r->status == PW_DNS_LIMIT)
		return;
	for (size_t i = 0; i < r->n; i++)
		dlen += r->len[i] > 0 ? (size_t)r->len[i] : 0;
	sz = sizeof(*e) + klen + r->n * (sizeof(*e->data) + sizeof(int)) +
	    dlen + r->packet_len + 16;
	e = pw_calloc(1, sz);
	e->refs = 1;
	e->hash = h;
	e->type = type;
	e->expires = mono_now() + ttl;
	e->status = r->status;
	e->rcode = r->rcode;
	e->ttl = r->ttl;
	e->secure = r->secure;
	e->n = r->n;
	memcpy(e->name, key, klen);
	/* pointers first (aligned), then the bytes */
	p = (unsigned char *)e + sizeof(*e) + klen;
	p += (sizeof(void *) - ((uintptr_t)p % sizeof(void *))) %
	    sizeof(void *);
	e->data = (const unsigned char **)(void *)p;
	p += r->n * sizeof(*e->data);
	e->len = (int *)(void *)p;
	p += r->n * sizeof(int);
	for (size_t i = 0; i < r->n; i++) {
		size_t l = r->len[i] > 0 ? (size_t)r->len[i] : 0;

		e->len[i] = (int)l;
		e->data[i] = p;
		memcpy(p, r->data[i], l);
		p += l;
	}
	if (r->packet_len > 0) {
		e->packet = p;
		e->packet_len = r->packet_len;
		memcpy(p, r->packet, r->packet_len);
	}
	pthread_mutex_lock(&c->lock);
	if (c->n >= CACHE_MAX)
		cache_clear(c);	/* crude but bounded */
	e->next = c->v[h % CACHE_BUCKETS];
	c->v[h % CACHE_BUCKETS] = e;
	c->n++;
	pthread_mutex_unlock(&c->lock);
}

struct pw_dns_cache *
pw_dns_cache_new(void)
{
	struct pw_dns_cache *c = pw_calloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void
pw_dns_cache_free(struct pw_dns_cache **cp)
{
	struct pw_dns_cache *c = *cp;

	if (c == NULL)
		return;
	*cp = NULL;
	cache_clear(c);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

bool
pw_dns_cache_get(struct pw_dns_cache *c, const char *name, int type,
    struct pw_dns_result *r)
{
	unsigned int h;
	char *key = cache_key(name, type, &h);
	bool hit = lookup(c, key, h, type, r);

	free(key);
	return hit;
}

void
pw_dns_cache_put(struct pw_dns_cache *c, const char *name, int type,
    const struct pw_dns_result *r)
{
	unsigned int h;
	char *key = cache_key(name, type, &h);

	insert(c, key, h, type, r);
	free(key);
}

void
pw_dns_cache_release(void *entry)
{
	cent_unref(entry);
}

unsigned long
pw_dns_cache_nhits(struct pw_dns_cache *c)
{
	unsigned long n;

	pthread_mutex_lock(&c->lock);
	n = c->hits;
	pthread_mutex_unlock(&c->lock);
	return n;
}
