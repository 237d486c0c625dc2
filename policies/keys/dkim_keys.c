/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_keys - KeyTable and SigningTable loading and signing-key selection.
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "base/table.h"
#include "base/util.h"
#include "keys/dkim_keys.h"
#include "keys/keycache.h"

#define KEY_MAX_BYTES	65536

/* key_slurp - read a whole key file (opened without following links) */
static unsigned char *
key_slurp(int fd, size_t *len_r)
{
	unsigned char *buf = pw_malloc(KEY_MAX_BYTES + 1);
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, KEY_MAX_BYTES - len)) > 0)
		len += (size_t)n;
	if (n < 0 || len == KEY_MAX_BYTES) {
		explicit_bzero(buf, KEY_MAX_BYTES);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*len_r = len;
	return buf;
}

int
pw_dkim_key_read(struct pw_dkim_key *k, const char *path, const char *where,
    bool allow_unsafe, struct pw_buf *errors)
{
	struct stat st;
	int fd;
	BIO *bio;
	EVP_PKEY *pkey;

	if ((fd = open(path, O_RDONLY | O_NOCTTY)) < 0) {
		pw_buf_printf(errors, "%s: cannot read key \"%s\": %s\n",
		    where, path, strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pw_buf_printf(errors, "%s: key \"%s\" is not a regular file\n",
		    where, path);
		close(fd);
		return -1;
	}
	/* OpenDKIM RequireSafeKeys: a private key others can read is no
	   longer private. */
	if ((st.st_mode & 0077) != 0 && !allow_unsafe) {
		pw_buf_printf(errors, "%s: key \"%s\" has mode %04o: group- or "
		    "world-accessible private keys are refused (chmod 600 it, "
		    "or set dkim_allow_unsafe_keys = yes)\n", where, path,
		    (unsigned)(st.st_mode & 07777));
		close(fd);
		return -1;
	}
	k->pem = key_slurp(fd, &k->pemlen);
	close(fd);
	if (k->pem == NULL) {
		pw_buf_printf(errors, "%s: cannot read key \"%s\" (too large "
		    "or read error)\n", where, path);
		return -1;
	}
	bio = BIO_new_mem_buf(k->pem, (int)k->pemlen);
	pkey = bio ? PEM_read_bio_PrivateKey(bio, NULL, NULL, (void *)"") : 0;
	BIO_free(bio);
	if (pkey == NULL) {
		pw_buf_printf(errors, "%s: key \"%s\" is not a PEM private "
		    "key\n", where, path);
		return -1;
	}
	switch (EVP_PKEY_get_base_id(pkey)) {
	case EVP_PKEY_RSA:
		k->alg = PW_DKIM_RSA;
		k->bits = EVP_PKEY_get_bits(pkey);
		break;
	case EVP_PKEY_ED25519:
		k->alg = PW_DKIM_ED25519;
		k->bits = 256;
		break;
	default:
		pw_buf_printf(errors, "%s: key \"%s\" is neither RSA nor "
		    "Ed25519\n", where, path);
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (k->alg == PW_DKIM_RSA && k->bits < 1024) {
		pw_buf_printf(errors, "%s: RSA key \"%s\" has %d bits; RFC 8301 "
		    "requires at least 1024\n", where, path, k->bits);
		EVP_PKEY_free(pkey);
		return -1;
	}
	k->pkey = pkey;
	pw_keycache_add(k->pem, k->pemlen, pkey);
	k->path = pw_strdup(path);
	return 0;
}

/* keytable_entry - parse "domain:selector:path" of one KeyTable line */
static int
keytable_entry(struct pw_dkim_key *k, const struct pw_table_entry *e,
    const char *tpath, bool allow_unsafe, struct pw_buf *errors)
{
	char *v = pw_strdup(e->value), *c1, *c2;
	int ret = -1;

	k->name = pw_strdup(e->key);
	k->where = pw_asprintf("%s:%d", tpath, e->line);
	if ((c1 = strchr(v, ':')) == NULL ||
	    (c2 = strchr(c1 + 1, ':')) == NULL) {
		pw_buf_printf(errors, "%s: expected \"name domain:selector:"
		    "keyfile\"\n", k->where);
		goto out;
	}
	*c1++ = '\0';
	*c2++ = '\0';
	if (*v == '\0' || *c1 == '\0' || *c2 == '\0') {
		pw_buf_printf(errors, "%s: empty domain, selector or key\n",
		    k->where);
		goto out;
	}
	if (c2[0] != '/' && strncmp(c2, "./", 2) != 0 &&
	    strncmp(c2, "../", 3) != 0) {
		pw_buf_printf(errors, "%s: inline key data is not supported: "
		    "give the path of the key file\n", k->where);
		goto out;
	}
	k->domain = pw_lowercase(pw_strdup(v));
	k->selector = pw_strdup(c1);
	ret = pw_dkim_key_read(k, c2, k->where, allow_unsafe, errors);
out:
	free(v);
	return ret;
}

/* key_free - clear secrets and free one key's strings */
static void
key_free(struct pw_dkim_key *k)
{
	pw_dkim_key_clear(k);
}

void
pw_dkim_key_clear(struct pw_dkim_key *k)
{
	if (k->pkey != NULL) {
		pw_keycache_remove(k->pem, k->pemlen, k->pkey);
		EVP_PKEY_free(k->pkey);
	}
	if (k->pem != NULL)
		explicit_bzero(k->pem, k->pemlen);
	free(k->pem);
	free(k->name);
	free(k->domain);
	free(k->selector);
	free(k->path);
	free(k->where);
}

/* key_find - the KeyTable key with this name */
static const struct pw_dkim_key *
key_find(const struct pw_dkim_keys *ks, const char *name, size_t len)
{
	for (size_t i = 0; i < ks->nkeys; i++)
		if (strlen(ks->keys[i].name) == len &&
		    pw_strncaseeq(ks->keys[i].name, name, len))
			return &ks->keys[i];
	return NULL;
}

/* check_signing - every name a SigningTable line gives must exist */
static int
check_signing(const struct pw_dkim_keys *ks, struct pw_buf *errors)
{
	int bad = 0;

	for (size_t i = 0; i < ks->signing->n; i++) {
		const struct pw_table_entry *e = &ks->signing->v[i];
		const char *p = e->value;

		while (*p && *p != ':') {
			size_t len = strcspn(p, ",:");

			if (len > 0 && key_find(ks, p, len) == NULL) {
				pw_buf_printf(errors, "%s:%d: key \"%.*s\" is "
				    "not in the KeyTable\n",
				    ks->signing->path, e->line, (int)len, p);
				bad = 1;
			}
			p += len;
			if (*p == ',')
				p++;
		}
	}
	return bad ? -1 : 0;
}

struct pw_dkim_keys *
pw_dkim_keys_load(const char *keytable, const char *keytable_where,
    const char *signtable, const char *signtable_where, bool allow_unsafe,
    bool multiple, struct pw_buf *errors)
{
	struct pw_dkim_keys *ks = pw_calloc(1, sizeof(*ks));
	struct pw_table *kt;
	int bad = 0;

	ks->multiple = multiple;
	kt = pw_table_open(keytable, keytable_where, errors);
	ks->signing = pw_table_open(signtable, signtable_where, errors);
	if (kt == NULL || ks->signing == NULL) {
		pw_table_free(&kt);
		pw_dkim_keys_free(&ks);
		return NULL;
	}
	ks->keys = pw_calloc(kt->n + 1, sizeof(*ks->keys));
	for (size_t i = 0; i < kt->n; i++) {
		if (keytable_entry(&ks->keys[ks->nkeys], &kt->v[i], kt->path,
		    allow_unsafe, errors) < 0) {
			key_free(&ks->keys[ks->nkeys]);
			memset(&ks->keys[ks->nkeys], 0, sizeof(ks->keys[0]));
			bad = 1;
			continue;
		}
		ks->nkeys++;
	}
	pw_table_free(&kt);
	if (!bad && check_signing(ks, errors) < 0)
		bad = 1;
	if (bad)
		pw_dkim_keys_free(&ks);
	return ks;
}

void
pw_dkim_keys_free(struct pw_dkim_keys **ksp)
{
	struct pw_dkim_keys *ks = *ksp;

	if (ks == NULL)
		return;
	for (size_t i = 0; i < ks->nkeys; i++)
		key_free(&ks->keys[i]);
	free(ks->keys);
	pw_table_free(&ks->signing);
	free(ks);
	*ksp = NULL;
}

/* add_keys - append the keys named by one SigningTable value */
static size_t
add_keys(const struct pw_dkim_keys *ks, const char *value,
    const struct pw_dkim_key **out, size_t n, size_t max)
{
	const char *p = value;

	while (*p && *p != ':' && n < max) {
		size_t len = strcspn(p, ",:");
		const struct pw_dkim_key *k = key_find(ks, p, len);
		size_t j;

		for (j = 0; k != NULL && j < n && out[j] != k; j++)
			;
		if (k != NULL && j == n)
			out[n++] = k;
		p += len;
		if (*p == ',')
			p++;
	}
	return n;
}

/* try_key - file: lookup of one candidate key */
static size_t
try_key(const struct pw_dkim_keys *ks, const char *key,
    const struct pw_dkim_key **out, size_t n, size_t max)
{
	for (size_t i = 0; i < ks->signing->n && n < max; i++) {
		if (!pw_strcaseeq(ks->signing->v[i].key, key))
			continue;
		n = add_keys(ks, ks->signing->v[i].value, out, n, max);
		if (!ks->multiple)
			break;
	}
	return n;
}

/*
 * pw_dkim_keys_select - OpenDKIM's order (opendkim.conf(5), SigningTable):
 * refile: patterns in file order; other tables: user@host, host, then
 * user@.parent and .parent for every parent domain, user@*, and *.
 */
size_t
pw_dkim_keys_select(const struct pw_dkim_keys *ks, const char *addr,
    const struct pw_dkim_key **out, size_t max)
{
	const char *at = strrchr(addr, '@');
	char *user, *cand = NULL;
	const char *host, *d;
	size_t n = 0;

	if (ks == NULL || at == NULL || max == 0)
		return 0;
	if (ks->signing->type == PW_TABLE_REFILE) {
		for (size_t i = 0; i < ks->signing->n && n < max; i++) {
			if (!pw_wildmatch(ks->signing->v[i].key, addr))
				continue;
			n = add_keys(ks, ks->signing->v[i].value, out, n, max);
			if (!ks->multiple && n > 0)
				break;
		}
		return n;
	}
	user = pw_strndup(addr, (size_t)(at - addr));
	host = at + 1;
#define TRY(k)                                                                 \
	do {                                                                   \
		n = try_key(ks, (k), out, n, max);                             \
		if (n > 0 && !ks->multiple)                                    \
			goto done;                                             \
	} while (0)
	TRY(addr);
	TRY(host);
	for (d = strchr(host, '.'); d != NULL; d = strchr(d + 1, '.')) {
		cand = pw_asprintf("%s@%s", user, d);
		TRY(cand);
		free(cand);
		cand = NULL;
	}
	for (d = strchr(host, '.'); d != NULL; d = strchr(d + 1, '.'))
		TRY(d);
	cand = pw_asprintf("%s@*", user);
	TRY(cand);
	free(cand);
	cand = NULL;
	TRY("*");
#undef TRY
done:
	free(cand);
	free(user);
	return n;
}
