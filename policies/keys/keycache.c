/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keycache - parsed private keys for libopendkim (see keycache.h for why).
 */
#include "autoconf.h"

#define _GNU_SOURCE 1	/* RTLD_DEFAULT */
#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>

#include "base/log.h"
#include "base/util.h"
#include "keys/keycache.h"

struct kc_entry {
	unsigned char	*pem;
	size_t		 len;
	EVP_PKEY	*pkey;
	struct kc_entry	*next;
};

typedef EVP_PKEY *(*pem_read_fn)(BIO *, EVP_PKEY **, pem_password_cb *,
    void *);

static pthread_rwlock_t kc_lock = PTHREAD_RWLOCK_INITIALIZER;
static struct kc_entry *kc_head;
static unsigned long kc_hits;
static unsigned long kc_misses;	/* calls passed on to OpenSSL */
static pthread_once_t kc_once = PTHREAD_ONCE_INIT;
static pem_read_fn kc_real;

/* kc_resolve - OpenSSL's own PEM_read_bio_PrivateKey */
static void
kc_resolve(void)
{
	kc_real = (pem_read_fn)dlsym(RTLD_NEXT, "PEM_read_bio_PrivateKey");
	if (kc_real == NULL)
		pw_panic("keycache: cannot find OpenSSL's "
		    "PEM_read_bio_PrivateKey: %s", dlerror());
}

void
pw_keycache_add(const unsigned char *pem, size_t len, EVP_PKEY *pkey)
{
	struct kc_entry *e = pw_calloc(1, sizeof(*e));

	e->pem = (unsigned char *)pw_strndup((const char *)pem, len);
	e->len = len;
	e->pkey = pkey;
	EVP_PKEY_up_ref(pkey);
	pthread_rwlock_wrlock(&kc_lock);
	e->next = kc_head;
	kc_head = e;
	pthread_rwlock_unlock(&kc_lock);
}

void
pw_keycache_remove(const unsigned char *pem, size_t len, EVP_PKEY *pkey)
{
	struct kc_entry **ep, *e = NULL;

	pthread_rwlock_wrlock(&kc_lock);
	for (ep = &kc_head; *ep != NULL; ep = &(*ep)->next)
		if ((*ep)->pkey == pkey && (*ep)->len == len &&
		    memcmp((*ep)->pem, pem, len) == 0) {
			e = *ep;
			*ep = e->next;
			break;
		}
	pthread_rwlock_unlock(&kc_lock);
	if (e == NULL)
		return;
	EVP_PKEY_free(e->pkey);
	OPENSSL_cleanse(e->pem, e->len);
	free(e->pem);
	free(e);
}

unsigned long
pw_keycache_hits(void)
{
	unsigned long n;

	pthread_rwlock_rdlock(&kc_lock);
	n = kc_hits;
	pthread_rwlock_unlock(&kc_lock);
	return n;
}

/* kc_lookup - a registered key with exactly this text, referenced */
static EVP_PKEY *
kc_lookup(const char *data, long len)
{
	EVP_PKEY *pkey = NULL;

	pthread_rwlock_rdlock(&kc_lock);
	for (struct kc_entry *e = kc_head; e != NULL; e = e->next)
		if (e->len == (size_t)len && memcmp(e->pem, data, e->len) == 0) {
			if (EVP_PKEY_up_ref(e->pkey) == 1)
				pkey = e->pkey;
			break;
		}
	pthread_rwlock_unlock(&kc_lock);
	if (pkey != NULL)
		__atomic_add_fetch(&kc_hits, 1, __ATOMIC_RELAXED);
	return pkey;
}

/*
 * PEM_read_bio_PrivateKey - interposes OpenSSL's function of the same name
 * (same contract).  Only a whole-memory-BIO read with no output argument,
 * the way libopendkim calls it, can be answered from the cache.
 */
EVP_PKEY *
PEM_read_bio_PrivateKey(BIO *bp, EVP_PKEY **x, pem_password_cb *cb, void *u)
{
	pthread_once(&kc_once, kc_resolve);
	if (x == NULL && bp != NULL && BIO_method_type(bp) == BIO_TYPE_MEM) {
		char *data = NULL;
		long len = BIO_get_mem_data(bp, &data);
		EVP_PKEY *pkey;

		if (len > 0 && data != NULL &&
		    (pkey = kc_lookup(data, len)) != NULL) {
			/* Leave the BIO as a real read would: consumed. */
			(void)BIO_reset(bp);
			(void)BIO_read(bp, data, (int)len);
			return pkey;
		}
	}
	__atomic_add_fetch(&kc_misses, 1, __ATOMIC_RELAXED);
	return kc_real(bp, x, cb, u);
}

unsigned long
pw_keycache_misses(void)
{
	return __atomic_load_n(&kc_misses, __ATOMIC_RELAXED);
}

/*
 * pw_keycache_probe - register a fresh key, read it back through the
 * PEM_read_bio_PrivateKey that the process-wide lookup finds (the one
 * libopendkim is bound to), and see the hit counter move.
 */
int
pw_keycache_probe(char **why_r)
{
	EVP_PKEY *(*fn)(BIO *, EVP_PKEY **, pem_password_cb *, void *);
	EVP_PKEY *pkey, *got = NULL;
	BIO *out, *in;
	char *pem = NULL;
	long len;
	unsigned long h0;

	pthread_once(&kc_once, kc_resolve);
	fn = (pem_read_fn)dlsym(RTLD_DEFAULT, "PEM_read_bio_PrivateKey");
	if (fn != PEM_read_bio_PrivateKey) {
		*why_r = pw_strdup("PEM_read_bio_PrivateKey() resolves to "
		    "OpenSSL's, not ours (not linked in?)");
		return -1;
	}
	if ((pkey = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519")) == NULL ||
	    (out = BIO_new(BIO_s_mem())) == NULL) {
		EVP_PKEY_free(pkey);
		*why_r = pw_strdup("cannot make a test key");
		return -1;
	}
	if (PEM_write_bio_PrivateKey(out, pkey, NULL, NULL, 0, NULL,
	    NULL) != 1 || (len = BIO_get_mem_data(out, &pem)) <= 0) {
		BIO_free(out);
		EVP_PKEY_free(pkey);
		*why_r = pw_strdup("cannot write a test key");
		return -1;
	}
	pw_keycache_add((const unsigned char *)pem, (size_t)len, pkey);
	h0 = pw_keycache_hits();
	if ((in = BIO_new_mem_buf(pem, (int)len)) != NULL) {
		got = fn(in, NULL, NULL, NULL);
		BIO_free(in);
	}
	pw_keycache_remove((const unsigned char *)pem, (size_t)len, pkey);
	BIO_free(out);
	EVP_PKEY_free(pkey);
	EVP_PKEY_free(got);
	if (got != pkey || pw_keycache_hits() == h0) {
		*why_r = pw_strdup("a registered key was parsed again");
		return -1;
	}
	return 0;
}
