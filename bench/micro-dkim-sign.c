/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * micro-dkim-sign - per-message cost of the pieces of libopendkim signing,
 * single thread, no milter.  Not built by make; run by hand:
 *
 *   gcc -O2 -o /tmp/micro-dkim-sign bench/micro-dkim-sign.c \
 *       -I/usr/include/opendkim -lopendkim -lcrypto
 *   /tmp/micro-dkim-sign rsa.pem ed25519.pem [iterations]
 *
 * Prints microseconds per operation for: decoding the key from PEM (what
 * libopendkim does in dkim_eom() for every message when dkim_sign() gets
 * PEM), from DER, the raw signature with a decoded key, and a whole
 * libopendkim message (dkim_sign .. dkim_getsighdr_d, 7 headers, 4 KiB
 * body) given the key as PEM and as DER.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <dkim.h>

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static unsigned char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *b = malloc(65536);

	if (f == NULL) {
		perror(path);
		exit(1);
	}
	*len = fread(b, 1, 65535, f);
	b[*len] = '\0';
	fclose(f);
	return b;
}

static const char *hdrs[] = {
	"From: Sender <sender@example.test>",
	"To: Recipient <rcpt@remote.test>",
	"Subject: postwarden benchmark message",
	"Date: Wed, 25 Nov 2026 12:00:00 +0000",
	"Message-ID: <bench.1@example.test>",
	"MIME-Version: 1.0",
	"Content-Type: text/plain; charset=us-ascii",
};

static int
one_message(DKIM_LIB *lib, unsigned char *key, dkim_alg_t alg,
    unsigned char *body, size_t blen)
{
	DKIM_STAT st;
	DKIM *d;
	unsigned char *sig;
	size_t len;

	d = dkim_sign(lib, (const unsigned char *)"QID", NULL, key,
	    (const unsigned char *)"sel1", (const unsigned char *)"example.test",
	    DKIM_CANON_RELAXED, DKIM_CANON_RELAXED, alg, -1, &st);
	if (d == NULL) {
		fprintf(stderr, "dkim_sign: %d\n", st);
		exit(1);
	}
	for (size_t i = 0; i < sizeof(hdrs) / sizeof(hdrs[0]); i++)
		dkim_header(d, (unsigned char *)hdrs[i], strlen(hdrs[i]));
	dkim_eoh(d);
	dkim_body(d, body, blen);
	if ((st = dkim_eom(d, NULL)) != DKIM_STAT_OK ||
	    dkim_getsighdr_d(d, 16, &sig, &len) != DKIM_STAT_OK) {
		fprintf(stderr, "  dkim_eom: %d %s\n", st, dkim_geterror(d));
		dkim_free(d);
		return -1;
	}
	dkim_free(d);
	return 0;
}

static void
run(const char *label, const char *path, dkim_alg_t alg, int n)
{
	size_t pemlen, derlen = 0;
	unsigned char *pem = slurp(path, &pemlen), *der = NULL, *p;
	EVP_PKEY *pk;
	BIO *b;
	double t;
	unsigned char body[4096], md[32], sigbuf[512];
	size_t siglen;
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;

	dkim_options(lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags, sizeof(flags));
	for (size_t i = 0; i < sizeof(body); i++)
		body[i] = (i % 70 == 69) ? '\n' : 'a' + i % 26;

	b = BIO_new_mem_buf(pem, (int)pemlen);
	pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
	BIO_free(b);
	derlen = (size_t)i2d_PrivateKey(pk, NULL);	/* what d2i_PrivateKey reads */
	der = p = malloc(derlen + 1);
	i2d_PrivateKey(pk, &p);

	t = now_us();
	for (int i = 0; i < n; i++) {
		EVP_PKEY *k;

		b = BIO_new_mem_buf(pem, (int)pemlen);
		k = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);
		BIO_free(b);
		EVP_PKEY_free(k);
	}
	printf("%-8s PEM_read_bio_PrivateKey      %8.1f us\n", label,
	    (now_us() - t) / n);

	t = now_us();
	for (int i = 0; i < n; i++) {
		EVP_PKEY *k;

		b = BIO_new_mem_buf(der, (int)derlen);
		k = d2i_PrivateKey_bio(b, NULL);
		BIO_free(b);
		EVP_PKEY_free(k);
	}
	printf("%-8s d2i_PrivateKey_bio (DER)     %8.1f us\n", label,
	    (now_us() - t) / n);

	memset(md, 1, sizeof(md));
	t = now_us();
	for (int i = 0; i < n; i++) {
		EVP_MD_CTX *c = EVP_MD_CTX_new();

		siglen = sizeof(sigbuf);
		if (alg == DKIM_SIGN_ED25519SHA256) {
			EVP_DigestSignInit(c, NULL, NULL, NULL, pk);
			EVP_DigestSign(c, sigbuf, &siglen, md, sizeof(md));
		} else {
			EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new(pk, NULL);

			EVP_PKEY_sign_init(pc);
			EVP_PKEY_CTX_set_rsa_padding(pc, RSA_PKCS1_PADDING);
			EVP_PKEY_CTX_set_signature_md(pc, EVP_sha256());
			EVP_PKEY_sign(pc, sigbuf, &siglen, md, sizeof(md));
			EVP_PKEY_CTX_free(pc);
		}
		EVP_MD_CTX_free(c);
	}
	printf("%-8s sign only (key kept)         %8.1f us\n", label,
	    (now_us() - t) / n);

	t = now_us();
	for (int i = 0; i < n; i++)
		if (one_message(lib, pem, alg, body, sizeof(body)) < 0)
			exit(1);
	printf("%-8s libopendkim message, PEM key %8.1f us\n", label,
	    (now_us() - t) / n);

	/* dkim_sign() takes the key as a C string (strlen), so DER, which
	   contains NUL bytes, is cut short: expected to fail. */
	if (one_message(lib, der, alg, body, sizeof(body)) < 0)
		printf("%-8s libopendkim message, DER key  fails (key passed "
		    "as a C string)\n", label);
	EVP_PKEY_free(pk);
	dkim_close(lib);
	free(pem);
	free(der);
}

int
main(int argc, char **argv)
{
	int n = argc > 3 ? atoi(argv[3]) : 2000;

	if (argc < 3) {
		fprintf(stderr, "usage: %s rsa.pem ed25519.pem [n]\n", argv[0]);
		return 2;
	}
	run("rsa2048", argv[1], DKIM_SIGN_RSASHA256, n);
	run("ed25519", argv[2], DKIM_SIGN_ED25519SHA256, n);
	return 0;
}
