/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pubkeycache - decoded public keys for libopendkim (see pubkeycache.h).
 */
#include "autoconf.h"

#define _GNU_SOURCE 1	/* RTLD_DEFAULT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/util.h"
#include "keys/pubkeycache.h"

#define PKC_BUCKETS	256
#define PKC_MAX_DER	8192	/* bigger than any sane key: not cached */

struct pkc_entry {
	struct pkc_entry	*next;
	unsigned int		 hash;
	size_t			 len;
	EVP_PKEY		*pkey;
	unsigned char		 der[];
};

typedef EVP_PKEY *(*d2i_fn)(BIO *, EVP_PKEY **);

static pthread_mutex_t pkc_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pkc_entry *pkc_v[PKC_BUCKETS];
static size_t pkc_n;
static unsigned long pkc_hits;
static unsigned long pkc_misses;	/* decodes done by OpenSSL */
static pthread_once_t pkc_once = PTHREAD_ONCE_INIT;
static d2i_fn pkc_real;

/* pkc_resolve - OpenSSL's own d2i_PUBKEY_bio */
static void
pkc_resolve(void)
{
	pkc_real = (d2i_fn)dlsym(RTLD_NEXT, "d2i_PUBKEY_bio");
	if (pkc_real == NULL)
		pw_panic("pubkeycache: cannot find OpenSSL's d2i_PUBKEY_bio: "
		    "%s", dlerror());
}

static unsigned int
pkc_hash(const unsigned char *p, size_t n)
{
	unsigned int h = 2166136261u;	/* FNV-1a */

	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

/* pkc_clear - drop every entry (callers hold their own references) */
static void
pkc_clear(void)
{
	for (size_t i = 0; i < PKC_BUCKETS; i++) {
		struct pkc_entry *e, *ne;

		for (e = pkc_v[i]; e != NULL; e = ne) {
			ne = e->next;
			EVP_PKEY_free(e->pkey);
			free(e);
		}
		pkc_v[i] = NULL;
	}
	pkc_n = 0;
}

/* pkc_get - a new reference to the key decoded from these bytes, or NULL */
static EVP_PKEY *
pkc_get(const unsigned char *der, size_t len, unsigned int h)
{
	EVP_PKEY *k = NULL;

	pthread_mutex_lock(&pkc_lock);
	for (struct pkc_entry *e = pkc_v[h % PKC_BUCKETS]; e; e = e->next)
		if (e->hash == h && e->len == len &&
		    memcmp(e->der, der, len) == 0) {
			if (EVP_PKEY_up_ref(e->pkey) == 1) {
				k = e->pkey;
				pkc_hits++;
			}
			break;
		}
	pthread_mutex_unlock(&pkc_lock);
	return k;
}

static void
pkc_put(const unsigned char *der, size_t len, unsigned int h, EVP_PKEY *k)
{
	struct pkc_entry *e;

	if (EVP_PKEY_up_ref(k) != 1)
		return;
	e = pw_malloc(sizeof(*e) + len);
	e->hash = h;
	e->len = len;
	e->pkey = k;
	memcpy(e->der, der, len);
	pthread_mutex_lock(&pkc_lock);
	if (pkc_n >= PW_PUBKEYCACHE_MAX)
		pkc_clear();
	e->next = pkc_v[h % PKC_BUCKETS];
	pkc_v[h % PKC_BUCKETS] = e;
	pkc_n++;
	pthread_mutex_unlock(&pkc_lock);
}

/*
 * d2i_PUBKEY_bio - interposes OpenSSL's function of the same name for
 * the whole process.  Only the plain case libopendkim uses is cached: a
 * memory BIO and no object to reuse; everything else goes to OpenSSL.
 */
EVP_PKEY *
d2i_PUBKEY_bio(BIO *bp, EVP_PKEY **a)
{
	char *data = NULL;
	long len;
	unsigned int h;
	EVP_PKEY *k;

	pthread_once(&pkc_once, pkc_resolve);
	if (a != NULL || bp == NULL || BIO_method_type(bp) != BIO_TYPE_MEM ||
	    (len = BIO_get_mem_data(bp, &data)) <= 0 || len > PKC_MAX_DER)
		return pkc_real(bp, a);
	h = pkc_hash((const unsigned char *)data, (size_t)len);
	if ((k = pkc_get((const unsigned char *)data, (size_t)len, h)) != NULL)
		return k;
	/* Copy first: OpenSSL's read consumes the BIO's data. */
	{
		unsigned char *der = pw_malloc((size_t)len);

		memcpy(der, data, (size_t)len);
		__atomic_add_fetch(&pkc_misses, 1, __ATOMIC_RELAXED);
		if ((k = pkc_real(bp, NULL)) != NULL)
			pkc_put(der, (size_t)len, h, k);
		free(der);
	}
	return k;
}

unsigned long
pw_pubkeycache_hits(void)
{
	unsigned long n;

	pthread_mutex_lock(&pkc_lock);
	n = pkc_hits;
	pthread_mutex_unlock(&pkc_lock);
	return n;
}

unsigned long
pw_pubkeycache_misses(void)
{
	return __atomic_load_n(&pkc_misses, __ATOMIC_RELAXED);
}

/*
 * pw_pubkeycache_probe - decode a fresh public key twice through the
 * d2i_PUBKEY_bio that the process-wide lookup finds (the one libopendkim
 * is bound to): the second decode must be a cache hit.
 */
int
pw_pubkeycache_probe(char **why_r)
{
	d2i_fn fn;
	EVP_PKEY *pkey, *k[2] = {NULL, NULL};
	unsigned char *der = NULL;
	unsigned long h0;
	int len;

	pthread_once(&pkc_once, pkc_resolve);
	fn = (d2i_fn)dlsym(RTLD_DEFAULT, "d2i_PUBKEY_bio");
	if (fn != d2i_PUBKEY_bio) {
		*why_r = pw_strdup("d2i_PUBKEY_bio() resolves to OpenSSL's, "
		    "not ours (not linked in?)");
		return -1;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (len = i2d_PUBKEY(pkey, &der)) <= 0) {
		EVP_PKEY_free(pkey);
		*why_r = pw_strdup("cannot make a test key");
		return -1;
	}
	h0 = pw_pubkeycache_hits();
	for (int i = 0; i < 2; i++) {
		BIO *bp = BIO_new_mem_buf(der, len);

		if (bp != NULL) {
			k[i] = fn(bp, NULL);
			BIO_free(bp);
		}
	}
	OPENSSL_free(der);
	EVP_PKEY_free(pkey);
	if (k[0] == NULL || k[1] != k[0] || pw_pubkeycache_hits() == h0) {
		*why_r = pw_strdup("the same key was decoded twice");
		EVP_PKEY_free(k[0]);
		EVP_PKEY_free(k[1]);
		return -1;
	}
	EVP_PKEY_free(k[0]);
	EVP_PKEY_free(k[1]);
	return 0;
}
