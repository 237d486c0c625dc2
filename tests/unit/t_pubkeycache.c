/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_pubkeycache - the d2i_PUBKEY_bio() interposer that spares libopendkim
 * OpenSSL 3's costly decoder for keys it has seen: same bytes give the
 * same key object, other bytes and garbage are decoded (or refused) by
 * OpenSSL, the non-memory-BIO and reuse cases go straight to OpenSSL,
 * and many threads at once get correct keys.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <pthread.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "keys/pubkeycache.h"

static unsigned char *der;
static int derlen;

static int
setup(void **state)
{
	const char *src = getenv("PW_SRCDIR");
	char path[512];
	EVP_PKEY *k;
	FILE *fp;

	(void)state;
	snprintf(path, sizeof(path), "%s/tests/data/dns/unit-rsa.key",
	    src ? src : ".");
	if ((fp = fopen(path, "r")) == NULL)
		return -1;
	k = PEM_read_PrivateKey(fp, NULL, NULL, NULL);
	fclose(fp);
	if (k == NULL || (derlen = i2d_PUBKEY(k, &der)) <= 0)
		return -1;
	EVP_PKEY_free(k);
	return 0;
}

static EVP_PKEY *
decode(const unsigned char *p, int n)
{
	BIO *b = BIO_new_mem_buf(p, n);
	EVP_PKEY *k = d2i_PUBKEY_bio(b, NULL);

	BIO_free(b);
	return k;
}

static void
t_same_key(void **state)
{
	unsigned long h0 = pw_pubkeycache_hits();
	EVP_PKEY *a, *b;

	(void)state;
	a = decode(der, derlen);
	b = decode(der, derlen);
	assert_non_null(a);
	assert_ptr_equal(a, b);		/* one object, two references */
	assert_int_equal(pw_pubkeycache_hits(), h0 + 1);
	assert_int_equal(EVP_PKEY_get_bits(a), 1024);
	EVP_PKEY_free(a);
	EVP_PKEY_free(b);
	/* still usable after the callers dropped theirs */
	a = decode(der, derlen);
	assert_int_equal(EVP_PKEY_get_bits(a), 1024);
	EVP_PKEY_free(a);
}

static void
t_garbage(void **state)
{
	unsigned char junk[64];
	unsigned long h0 = pw_pubkeycache_hits();
	unsigned char *cut = malloc((size_t)derlen);

	(void)state;
	memset(junk, 0x30, sizeof(junk));
	assert_null(decode(junk, sizeof(junk)));
	assert_null(decode(junk, sizeof(junk)));
	memcpy(cut, der, (size_t)derlen);
	assert_null(decode(cut, derlen - 10));	/* truncated */
	cut[derlen - 1] ^= 1;			/* other bytes: other key */
	{
		EVP_PKEY *k = decode(cut, derlen), *ok = decode(der, derlen);

		assert_true(k == NULL || k != ok);
		EVP_PKEY_free(k);
		EVP_PKEY_free(ok);
	}
	assert_int_equal(pw_pubkeycache_hits(), h0 + 1);	/* only "ok" */
	free(cut);
}

static void
t_passthrough(void **state)
{
	EVP_PKEY *k = NULL, *r;
	BIO *b = BIO_new_mem_buf(der, derlen);
	unsigned long h0 = pw_pubkeycache_hits();

	(void)state;
	r = d2i_PUBKEY_bio(b, &k);	/* reuse asked for: OpenSSL's own */
	BIO_free(b);
	assert_non_null(r);
	assert_ptr_equal(r, k);
	assert_int_equal(pw_pubkeycache_hits(), h0);
	EVP_PKEY_free(k);
}

static void *
worker(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 500; i++) {
		EVP_PKEY *k = decode(der, derlen);

		if (k == NULL || EVP_PKEY_get_bits(k) != 1024)
			bad++;
		EVP_PKEY_free(k);
	}
	return (void *)bad;
}

static void
t_threads(void **state)
{
	pthread_t t[8];

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, worker, NULL), 0);
	for (int i = 0; i < 8; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_same_key),
		cmocka_unit_test(t_garbage),
		cmocka_unit_test(t_passthrough),
		cmocka_unit_test(t_threads),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
