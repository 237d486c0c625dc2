/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_token - unsubscribe tokens: mint/verify round trip, every kind of
 * damage, expiry, key rotation, key ring file checks, base64url.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/util.h"
#include "compliance/token.h"

#define DAY 86400L
#define NOW ((time_t)1764072000) /* 2025-11-25T12:00:00Z */

static const char key1[] =
    "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";
static const char key2[] =
    "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";

static char tmpdir[] = "/tmp/t_token.XXXXXX";

static char *
write_file(const char *name, const char *text, mode_t mode)
{
	char *path = pw_asprintf("%s/%s", tmpdir, name);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	fputs(text, fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static struct pw_keyring *
load(const char *text, mode_t mode, struct pw_buf *errors)
{
	char *path = write_file("ring", text, mode);
	struct pw_keyring *ring = pw_keyring_load(path, errors);

	unlink(path);
	free(path);
	return ring;
}

static struct pw_keyring *
ring12(void)
{
	struct pw_buf err = {0};
	char *text =
	    pw_asprintf("# test ring\n1 %s\n\n2 %s  # newest\n", key1, key2);
	struct pw_keyring *ring = load(text, 0600, &err);

	if (ring == NULL)
		fail_msg("%s", err.data);
	free(text);
	pw_buf_free(&err);
	return ring;
}

static char *
mint(const struct pw_keyring *ring, unsigned int kid, const char *org,
     time_t issued)
{
	const char *err = NULL;
	char *tok = NULL;

	if (pw_token_mint(ring, kid, org, "news", "alice@xn--bcher-kva.example",
			  issued, &tok, NULL, &err) != 0)
		fail_msg("mint: %s", err);
	return tok;
}

static void
t_round_trip(void **state)
{
	struct pw_keyring *ring = ring12();
	struct pw_token tok;
	const char *err;
	char id[17], *t;

	assert_int_equal(pw_keyring_latest(ring), 2);
	assert_int_equal(pw_token_mint(ring, 2, "acme", "news",
				       "bob@example.com", NOW, &t, id, &err),
			 0);
	/* URL-safe alphabet only, no padding */
	assert_int_equal(strspn(t, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				   "opqrstuvwxyz0123456789-_"),
			 strlen(t));
	/* no address or org in clear, even inside base64 */
	assert_null(strstr(t, "bob"));
	assert_int_equal(pw_token_verify(ring, t, strlen(t), NOW + 30 * DAY,
					 90 * DAY, "acme", &tok),
			 PW_TOKEN_OK);
	assert_string_equal(tok.org, "acme");
	assert_string_equal(tok.list, "news");
	assert_string_equal(tok.rcpt, "bob@example.com");
	assert_int_equal(tok.kid, 2);
	/* minute resolution */
	assert_true(tok.issued <= NOW && tok.issued > NOW - 60);
	assert_string_equal(tok.id, id);
	pw_token_clear(&tok);
	free(t);

	/* empty list = all CEMs of the org */
	assert_int_equal(
	    pw_token_mint(ring, 1, "acme", "", "x@y", NOW, &t, NULL, &err), 0);
	assert_int_equal(
	    pw_token_verify(ring, t, strlen(t), NOW, 0, NULL, &tok),
	    PW_TOKEN_OK);
	assert_string_equal(tok.list, "");
	pw_token_clear(&tok);
	free(t);
	pw_keyring_free(&ring);
	assert_null(ring);
}

/* Changing any character to any other valid one must not verify. */
static void
t_tampered_char(void **state)
{
	static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
				    "opqrstuvwxyz0123456789-_";
	struct pw_keyring *ring = ring12();
	char *t = mint(ring, 2, "acme", NOW);
	size_t len = strlen(t), i, j;
	struct pw_token tok;
	enum pw_token_status st;

	for (i = 0; i < len; i++) {
		char orig = t[i];

		for (j = 0; alpha[j] != '\0'; j++) {
			if (alpha[j] == orig)
				continue;
			t[i] = alpha[j];
			st = pw_token_verify(ring, t, len, NOW, 0, NULL, &tok);
			if (st == PW_TOKEN_OK || st == PW_TOKEN_EXPIRED ||
			    st == PW_TOKEN_WRONG_ORG)
				fail_msg("altered char %zu ('%c') verified", i,
					 alpha[j]);
			assert_null(tok.rcpt);
		}
		t[i] = orig;
	}
	assert_int_equal(pw_token_verify(ring, t, len, NOW, 0, NULL, &tok),
			 PW_TOKEN_OK);
	pw_token_clear(&tok);
	free(t);
	pw_keyring_free(&ring);
}

/* Flip every bit of the decoded token, re-encode: never valid. */
static void
t_tampered_bit(void **state)
{
	struct pw_keyring *ring = ring12();
	char *t = mint(ring, 2, "acme", NOW), *t2;
	unsigned char raw[512];
	long n = pw_b64url_decode(t, strlen(t), raw, sizeof(raw));
	struct pw_token tok;
	long i;
	int b;

	assert_true(n > 22);
	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++) {
			raw[i] ^= (unsigned char)(1 << b);
			t2 = pw_b64url_encode(raw, (size_t)n);
			assert_int_not_equal(pw_token_verify(ring, t2,
							     strlen(t2), NOW, 0,
							     NULL, &tok),
					     PW_TOKEN_OK);
			free(t2);
			raw[i] ^= (unsigned char)(1 << b);
		}
	/* kid byte changed to a key we hold: still a bad MAC */
	raw[1] = 1;
	t2 = pw_b64url_encode(raw, (size_t)n);
	assert_int_equal(
	    pw_token_verify(ring, t2, strlen(t2), NOW, 0, NULL, &tok),
	    PW_TOKEN_BAD_MAC);
	free(t2);
	free(t);
	pw_keyring_free(&ring);
}

static void
t_truncated_extended(void **state)
{
	struct pw_keyring *ring = ring12();
	char *t = mint(ring, 2, "acme", NOW), *t2;
	size_t len = strlen(t), i;
	struct pw_token tok;

	for (i = 0; i < len; i++)
		assert_int_not_equal(
		    pw_token_verify(ring, t, i, NOW, 0, NULL, &tok),
		    PW_TOKEN_OK);
	t2 = pw_asprintf("%sA", t);
	assert_int_not_equal(
	    pw_token_verify(ring, t2, strlen(t2), NOW, 0, NULL, &tok),
	    PW_TOKEN_OK);
	free(t2);
	t2 = pw_asprintf("%sAAAA", t);
	assert_int_not_equal(
	    pw_token_verify(ring, t2, strlen(t2), NOW, 0, NULL, &tok),
	    PW_TOKEN_OK);
	free(t2);
	t2 = pw_asprintf("%s=", t);
	assert_int_equal(
	    pw_token_verify(ring, t2, strlen(t2), NOW, 0, NULL, &tok),
	    PW_TOKEN_MALFORMED);
	free(t2);
	free(t);
	pw_keyring_free(&ring);
}

static const struct {
	long age;
	long lifetime;
	enum pw_token_status want;
} expiry_cases[] = {
    {0, 60 * DAY, PW_TOKEN_OK},
    {60 * DAY, 60 * DAY, PW_TOKEN_OK}, /* exactly 60 days */
    {60 * DAY + 60, 60 * DAY, PW_TOKEN_EXPIRED},
    {61 * DAY, 60 * DAY, PW_TOKEN_EXPIRED},
    {61 * DAY, 90 * DAY, PW_TOKEN_OK},
    {59 * DAY, 1 * DAY, PW_TOKEN_OK}, /* raised to 60 days */
    {61 * DAY, 1 * DAY, PW_TOKEN_EXPIRED},
    {4000 * DAY, 0, PW_TOKEN_OK},	      /* 0 = unlimited */
    {-3600, 60 * DAY, PW_TOKEN_OK},	      /* clock skew */
    {-2 * DAY, 60 * DAY, PW_TOKEN_MALFORMED}, /* from the future */
};

static void
t_expiry(void **state)
{
	struct pw_keyring *ring = ring12();
	struct pw_token tok;
	size_t i;

	for (i = 0; i < sizeof(expiry_cases) / sizeof(expiry_cases[0]); i++) {
		char *t = mint(ring, 1, "acme", NOW);
		enum pw_token_status st;

		st = pw_token_verify(ring, t, strlen(t),
				     NOW + expiry_cases[i].age,
				     expiry_cases[i].lifetime, "acme", &tok);
		if (st != expiry_cases[i].want)
			fail_msg("case %zu: %s, want %s", i,
				 pw_token_status_str(st),
				 pw_token_status_str(expiry_cases[i].want));
		if (st == PW_TOKEN_EXPIRED) /* still authentic: fields */
			assert_string_equal(tok.rcpt,
					    "alice@xn--bcher-kva.example");
		pw_token_clear(&tok);
		free(t);
	}
	pw_keyring_free(&ring);
}

static void
t_keys(void **state)
{
	struct pw_keyring *ring = ring12(), *only2;
	struct pw_buf err = {0};
	struct pw_token tok;
	char *old = mint(ring, 1, "acme", NOW), *text;
	const char *e;

	/* rotated: key 1 retired but kept, still verifies */
	assert_int_equal(
	    pw_token_verify(ring, old, strlen(old), NOW, 0, "acme", &tok),
	    PW_TOKEN_OK);
	assert_int_equal(tok.kid, 1);
	pw_token_clear(&tok);
	/* key 1 destroyed: unknown key */
	text = pw_asprintf("2 %s\n", key2);
	only2 = load(text, 0600, &err);
	free(text);
	assert_non_null(only2);
	assert_int_equal(
	    pw_token_verify(only2, old, strlen(old), NOW, 0, NULL, &tok),
	    PW_TOKEN_UNKNOWN_KEY);
	/* same id, other secret: bad MAC */
	text = pw_asprintf("1 %s\n", key2);
	pw_keyring_free(&only2);
	only2 = load(text, 0600, &err);
	free(text);
	assert_int_equal(
	    pw_token_verify(only2, old, strlen(old), NOW, 0, NULL, &tok),
	    PW_TOKEN_BAD_MAC);
	pw_keyring_free(&only2);
	/* wrong organisation */
	assert_int_equal(
	    pw_token_verify(ring, old, strlen(old), NOW, 0, "acme2", &tok),
	    PW_TOKEN_WRONG_ORG);
	assert_string_equal(tok.org, "acme");
	pw_token_clear(&tok);
	/* minting under an unknown key or with bad names */
	assert_int_equal(
	    pw_token_mint(ring, 7, "acme", "", "a@b", NOW, &text, NULL, &e),
	    -1);
	assert_int_equal(
	    pw_token_mint(ring, 1, "", "", "a@b", NOW, &text, NULL, &e), -1);
	assert_int_equal(
	    pw_token_mint(ring, 1, "ac me", "", "a@b", NOW, &text, NULL, &e),
	    -1);
	assert_int_equal(
	    pw_token_mint(ring, 1, "acme", "", "a\r\n@b", NOW, &text, NULL, &e),
	    -1);
	assert_int_equal(
	    pw_token_mint(ring, 1, "acme", "", "", NOW, &text, NULL, &e), -1);
	assert_int_equal(
	    pw_token_mint(ring, 1, "acme", "", "a@b", 0, &text, NULL, &e), -1);
	free(old);
	pw_buf_free(&err);
	pw_keyring_free(&ring);
}

static const struct {
	const char *text;
	mode_t mode;
	const char *error; /* NULL: loads */
} ring_cases[] = {
    {"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
     0600, NULL},
    /* indented, trailing comment, CRLF */
    {"  7\t000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f "
     "# new\r\n",
     0600, NULL},
    {"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
     0640, "must not be group or world accessible"},
    {"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
     0604, "must not be group or world accessible"},
    /* base64, standard alphabet with padding, 32 bytes */
    {"5 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n", 0400, NULL},
    {"5 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n", 0600, NULL},
    {"1 00010203\n", 0600, "ring:1: key 1: secret must be 32"},
    {"\n\n300 0001\n", 0600, "ring:3: key id \"300\""},
    {"# only comments\n", 0600, "has no keys"},
    {"1\n", 0600, "ring:1: expected \"ID SECRET\""},
    {"1 not*base64\n", 0600, "ring:1: key 1: secret is neither"},
    {"1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
     "1 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n",
     0600, "ring:2: key 1: duplicate key id"},
};

static void
t_ring_file(void **state)
{
	size_t i;

	for (i = 0; i < sizeof(ring_cases) / sizeof(ring_cases[0]); i++) {
		struct pw_buf err = {0};
		struct pw_keyring *ring;

		ring = load(ring_cases[i].text, ring_cases[i].mode, &err);
		if (ring_cases[i].error == NULL) {
			if (ring == NULL)
				fail_msg("case %zu: %s", i, err.data);
		} else {
			assert_null(ring);
			if (err.data == NULL ||
			    strstr(err.data, ring_cases[i].error) == NULL)
				fail_msg("case %zu: got \"%s\"", i,
					 err.data ? err.data : "");
		}
		pw_keyring_free(&ring);
		pw_buf_free(&err);
	}
	{
		struct pw_buf err = {0};
		char *p = pw_asprintf("%s/missing", tmpdir);

		assert_null(pw_keyring_load(p, &err));
		assert_non_null(strstr(err.data, "cannot open"));
		pw_buf_free(&err);
		free(p);
	}
}

static const struct {
	const char *plain;
	const char *enc;
} b64_cases[] = {
    {"", ""},
    {"f", "Zg"},
    {"fo", "Zm8"},
    {"foo", "Zm9v"},
    {"foob", "Zm9vYg"},
    {"fooba", "Zm9vYmE"},
    {"foobar", "Zm9vYmFy"},
    {"\xfb\xff", "-_8"},
};

static void
t_b64url(void **state)
{
	unsigned char out[16];
	size_t i;

	for (i = 0; i < sizeof(b64_cases) / sizeof(b64_cases[0]); i++) {
		char *e =
		    pw_b64url_encode((const unsigned char *)b64_cases[i].plain,
				     strlen(b64_cases[i].plain));
		long n;

		assert_string_equal(e, b64_cases[i].enc);
		n = pw_b64url_decode(e, strlen(e), out, sizeof(out));
		assert_int_equal(n, strlen(b64_cases[i].plain));
		assert_memory_equal(out, b64_cases[i].plain, (size_t)n);
		free(e);
	}
	assert_int_equal(pw_b64url_decode("Zh", 2, out, sizeof(out)), -1);
	assert_int_equal(pw_b64url_decode("Z", 1, out, sizeof(out)), -1);
	assert_int_equal(pw_b64url_decode("Zm9v+", 5, out, sizeof(out)), -1);
	assert_int_equal(pw_b64url_decode("Zm9vYmFy", 8, out, 5), -1);
}

static void
t_lifetime_check(void **state)
{
	const char *e;

	assert_int_equal(pw_token_lifetime_check(0, &e), 0);
	assert_int_equal(pw_token_lifetime_check(60 * DAY, &e), 0);
	assert_int_equal(pw_token_lifetime_check(59 * DAY, &e), -1);
	assert_int_equal(pw_token_lifetime_check(-1, &e), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_round_trip),
	    cmocka_unit_test(t_tampered_char),
	    cmocka_unit_test(t_tampered_bit),
	    cmocka_unit_test(t_truncated_extended),
	    cmocka_unit_test(t_expiry),
	    cmocka_unit_test(t_keys),
	    cmocka_unit_test(t_ring_file),
	    cmocka_unit_test(t_b64url),
	    cmocka_unit_test(t_lifetime_check),
	};
	int rc;

	if (mkdtemp(tmpdir) == NULL)
		return 1;
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	rmdir(tmpdir);
	return rc;
}
