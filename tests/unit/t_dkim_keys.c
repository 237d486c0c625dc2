/* SPDX-License-Identifier: BSD-2-Clause */
/* t_dkim_keys - KeyTable/SigningTable loading, key checks, selection. */
#include "unit.h"

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/util.h"
#include "keys/dkim_keys.h"
#include "keys/keycache.h"

static char *rsa_path, *ed_path, *unsafe_path;

/* write_key - a fresh private key, PEM, with the given mode */
static char *
write_key(const char *name, EVP_PKEY *pk, int mode)
{
	char *path = t_tmpfile(name, "", 0600);
	FILE *fp = fopen(path, "w");

	assert_non_null(fp);
	assert_int_equal(PEM_write_PrivateKey(fp, pk, NULL, NULL, 0, NULL,
	    NULL), 1);
	fclose(fp);
	chmod(path, (mode_t)mode);
	return path;
}

static int
setup(void **state)
{
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");

	(void)state;
	rsa_path = write_key("rsa.private", rsa, 0600);
	ed_path = write_key("ed.private", ed, 0400);
	unsafe_path = write_key("unsafe.private", rsa, 0644);
	EVP_PKEY_free(rsa);
	EVP_PKEY_free(ed);
	return 0;
}

static struct pw_dkim_keys *
load(const char *kt, const char *st, bool unsafe, struct pw_buf *err)
{
	char *ktp = t_tmpfile("KeyTable", kt, 0644);
	char *stp = t_tmpfile("SigningTable", st + (st[0] == 'R'), 0644);
	char *kspec = pw_asprintf("file:%s", ktp);
	char *sspec = pw_asprintf("%s:%s", st[0] == 'R' ? "refile" : "file",
	    stp);
	struct pw_dkim_keys *ks = pw_dkim_keys_load(kspec, "conf:5", sspec,
	    "conf:6", unsafe, true, err);

	free(ktp);
	free(stp);
	free(kspec);
	free(sspec);
	return ks;
}

static void
test_load_and_types(void **state)
{
	struct pw_buf err = {0};
	char *kt = pw_asprintf("rsa example.test:s1:%s\ned example.test:e1:%s\n",
	    rsa_path, ed_path);
	struct pw_dkim_keys *ks = load(kt, "example.test rsa,ed\n", false, &err);
	const struct pw_dkim_key *out[4];

	(void)state;
	if (ks == NULL)
		fail_msg("%s", err.data);
	assert_int_equal(ks->nkeys, 2);
	assert_int_equal(ks->keys[0].alg, PW_DKIM_RSA);
	assert_int_equal(ks->keys[0].bits, 1024);
	assert_int_equal(ks->keys[1].alg, PW_DKIM_ED25519);
	assert_int_equal(pw_dkim_keys_select(ks, "a@example.test", out, 4), 2);
	assert_string_equal(out[0]->selector, "s1");
	assert_string_equal(out[1]->selector, "e1");
	assert_int_equal(pw_dkim_keys_select(ks, "a@other.test", out, 4), 0);
	assert_int_equal(pw_dkim_keys_select(ks, "no-at-sign", out, 4), 0);
	pw_dkim_keys_free(&ks);
	free(kt);
}

static void
test_errors(void **state)
{
	struct pw_buf err = {0};
	char *kt, *notakey;

	(void)state;
	/* group/world-readable key refused, with KeyTable:line */
	kt = pw_asprintf("k example.test:s:%s\n", unsafe_path);
	assert_null(load(kt, "* k\n", false, &err));
	assert_non_null(strstr(err.data, "KeyTable:1: key"));
	assert_non_null(strstr(err.data, "has mode 0644"));
	pw_buf_free(&err);
	assert_non_null(strstr(kt, unsafe_path));
	{
		struct pw_dkim_keys *ks = load(kt, "* k\n", true, &err);

		assert_non_null(ks);
		pw_dkim_keys_free(&ks);
	}
	free(kt);
	/* missing key file */
	assert_null(load("\n\nk example.test:s:/nonexistent/key\n", "* k\n",
	    false, &err));
	assert_non_null(strstr(err.data, "KeyTable:3: cannot read key"));
	pw_buf_free(&err);
	/* SigningTable names a key the KeyTable lacks */
	kt = pw_asprintf("k example.test:s:%s\n", rsa_path);
	assert_null(load(kt, "# c\n*@example.test k,nokey\n", false, &err));
	assert_non_null(strstr(err.data, "SigningTable:2: key \"nokey\" is not "
	    "in the KeyTable"));
	pw_buf_free(&err);
	free(kt);
	/* malformed KeyTable value, inline key */
	assert_null(load("k example.test-no-colons\n", "* k\n", false, &err));
	assert_non_null(strstr(err.data, "KeyTable:1: expected"));
	pw_buf_free(&err);
	assert_null(load("k example.test:s:MIIBVgIBADANBg\n", "* k\n", false,
	    &err));
	assert_non_null(strstr(err.data, "inline key data is not supported"));
	pw_buf_free(&err);
	/* a file that is not a key */
	notakey = t_tmpfile("notakey", "hello\n", 0600);
	kt = pw_asprintf("k example.test:s:%s\n", notakey);
	assert_null(load(kt, "* k\n", false, &err));
	assert_non_null(strstr(err.data, "is not a PEM private key"));
	pw_buf_free(&err);
	free(kt);
	free(notakey);	/* LeakSanitizer (the sanitizer pass) */
}

static void
test_lookup_order(void **state)
{
	struct pw_buf err = {0};
	char *kt = pw_asprintf("a x:a:%s\nb x:b:%s\nc x:c:%s\nd x:d:%s\n"
	    "e x:e:%s\n", rsa_path, rsa_path, rsa_path, rsa_path, rsa_path);
	struct pw_dkim_keys *ks;
	const struct pw_dkim_key *out[8];
	size_t n;

	(void)state;
	/* OpenDKIM order: user@host, host, user@.parent, .parent, user@*, * */
	ks = load(kt, "*  e\nbob@*  d\n.example.test c\n"
	    "bob@.example.test b\nsub.example.test a\n", false, &err);
	assert_non_null(ks);
	n = pw_dkim_keys_select(ks, "bob@sub.example.test", out, 8);
	assert_int_equal(n, 5);
	assert_string_equal(out[0]->name, "a");
	assert_string_equal(out[1]->name, "b");
	assert_string_equal(out[2]->name, "c");
	assert_string_equal(out[3]->name, "d");
	assert_string_equal(out[4]->name, "e");
	ks->multiple = false;
	assert_int_equal(pw_dkim_keys_select(ks, "bob@sub.example.test", out,
	    8), 1);
	assert_string_equal(out[0]->name, "a");
	assert_int_equal(pw_dkim_keys_select(ks, "al@other.test", out, 8), 1);
	assert_string_equal(out[0]->name, "e");
	pw_dkim_keys_free(&ks);
	/* refile: patterns in file order */
	ks = load(kt, "R*@*.example.test b\n*@example.test a\n*@example.test c\n",
	    false, &err);
	assert_non_null(ks);
	n = pw_dkim_keys_select(ks, "x@example.test", out, 8);
	assert_int_equal(n, 2);
	assert_string_equal(out[0]->name, "a");
	assert_string_equal(out[1]->name, "c");
	assert_int_equal(pw_dkim_keys_select(ks, "x@s.example.test", out, 8),
	    1);
	assert_string_equal(out[0]->name, "b");
	pw_dkim_keys_free(&ks);
	free(kt);
}

/* read_pem - what libopendkim does with the key text for every message */
static EVP_PKEY *
read_pem(const unsigned char *pem, size_t len)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *pk = PEM_read_bio_PrivateKey(b, NULL, NULL, NULL);

	BIO_free(b);
	return pk;
}

static void
test_keycache(void **state)
{
	struct pw_buf err = {0};
	char *kt = pw_asprintf("k example.test:s:%s\n", ed_path);
	struct pw_dkim_keys *ks = load(kt, "* k\n", false, &err);
	unsigned long hits = pw_keycache_hits();
	unsigned char *copy;
	size_t len;
	EVP_PKEY *pk;

	(void)state;
	assert_non_null(ks);
	/* The loaded key's text is answered from the cache, same object. */
	pk = read_pem(ks->keys[0].pem, ks->keys[0].pemlen);
	assert_ptr_equal(pk, ks->keys[0].pkey);
	assert_int_equal(pw_keycache_hits(), hits + 1);
	EVP_PKEY_free(pk);
	/* Other text goes to OpenSSL: a different, working object. */
	len = ks->keys[0].pemlen;
	copy = (unsigned char *)pw_strndup((char *)ks->keys[0].pem, len);
	pw_dkim_keys_free(&ks);
	pk = read_pem(copy, len);
	assert_non_null(pk);
	assert_int_equal(pw_keycache_hits(), hits + 1);
	EVP_PKEY_free(pk);
	assert_null(read_pem((const unsigned char *)"garbage", 7));
	free(copy);
	free(kt);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_load_and_types),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_lookup_order),
	    cmocka_unit_test(test_keycache),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
