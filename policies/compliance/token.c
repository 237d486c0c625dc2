/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * token - one-click unsubscribe tokens and their key ring.  The format
 * and the reasons for it are in token.h.
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include "base/log.h"
#include "base/util.h"
#include "compliance/token.h"

#define TOK_VERSION 1
#define TOK_HDR 6	      /* ver, kid, issued */
#define TOK_TAG 16	      /* truncated HMAC-SHA256, 128 bits */
#define TOK_EPOCH 1577836800L /* 2020-01-01T00:00:00Z */
#define TOK_SKEW 86400L	      /* future issue times tolerated */
#define TOK_LABEL "postwarden-unsub-v1"
#define TOK_MAX_PLAIN                                                          \
	(2 + PW_TOKEN_MAX_ORG + PW_TOKEN_MAX_LIST + PW_TOKEN_MAX_RCPT)
#define TOK_MAX_RAW (TOK_HDR + TOK_TAG + TOK_MAX_PLAIN)
#define RING_FILE_MAX (1024 * 1024)

struct pw_key {
	bool present;
	unsigned char mac[32]; /* Kmac = HMAC(K, LABEL " mac") */
	unsigned char enc[32]; /* Kenc = HMAC(K, LABEL " enc") */
};

struct pw_keyring {
	EVP_MAC *hmac;
	EVP_CIPHER *ctr;
	int latest;
	struct pw_key keys[256];
};

struct iov {
	const void *p;
	size_t len;
};

static int hmac_sha256(const struct pw_keyring *, const unsigned char *, size_t,
		       const struct iov *, size_t, unsigned char *);
static int aes_ctr(const struct pw_keyring *, const unsigned char *,
		   const unsigned char *, const unsigned char *, size_t,
		   unsigned char *);
static bool name_ok(const char *, size_t, size_t, size_t);
static long secret_decode(const char *, unsigned char *, size_t);

/* ---- base64url (RFC 4648 §5) ---------------------------------------- */

static const char b64url[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *
pw_b64url_encode(const unsigned char *in, size_t len)
{
	char *out = pw_malloc(len / 3 * 4 + 4 + 1);
	size_t i, o = 0;
	uint32_t v;

	for (i = 0; i + 2 < len; i += 3) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8 |
		    in[i + 2];
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
		out[o++] = b64url[v & 63];
	}
	if (len - i == 1) {
		v = (uint32_t)in[i] << 16;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
	} else if (len - i == 2) {
		v = (uint32_t)in[i] << 16 | (uint32_t)in[i + 1] << 8;
		out[o++] = b64url[v >> 18 & 63];
		out[o++] = b64url[v >> 12 & 63];
		out[o++] = b64url[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

static int
b64url_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long
pw_b64url_decode(const char *in, size_t len, unsigned char *out, size_t outsize)
{
	size_t i, o = 0, need;
	uint32_t acc = 0;
	int bits = 0, v;

	if (len % 4 == 1)
		return -1;
	need = len / 4 * 3 + (len % 4 ? len % 4 - 1 : 0);
	if (need > outsize)
		return -1;
	for (i = 0; i < len; i++) {
		if ((v = b64url_val((unsigned char)in[i])) < 0)
			return -1;
		acc = acc << 6 | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1U << bits) - 1;
		}
	}
	/* Leftover bits must be zero, so each token has one spelling. */
	if (acc != 0)
		return -1;
	return (long)o;
}

/* ---- key ring --------------------------------------------------------- */

struct pw_keyring *
pw_keyring_new(void)
{
	struct pw_keyring *ring = pw_calloc(1, sizeof(*ring));

	ring->latest = -1;
	ring->hmac = EVP_MAC_fetch(NULL, OSSL_MAC_NAME_HMAC, NULL);
	ring->ctr = EVP_CIPHER_fetch(NULL, "AES-256-CTR", NULL);
	if (ring->hmac == NULL || ring->ctr == NULL)
		pw_panic("token: OpenSSL lacks HMAC or AES-256-CTR");
	return ring;
}

void
pw_keyring_free(struct pw_keyring **ringp)
{
	struct pw_keyring *ring = *ringp;

	if (ring == NULL)
		return;
	EVP_MAC_free(ring->hmac);
	EVP_CIPHER_free(ring->ctr);
	OPENSSL_cleanse(ring, sizeof(*ring));
	free(ring);
	*ringp = NULL;
}

int
pw_keyring_add(struct pw_keyring *ring, unsigned int kid,
	       const unsigned char *secret, size_t len, const char **error_r)
{
	static const char lmac[] = TOK_LABEL " mac", lenc[] = TOK_LABEL " enc";
	struct iov v;

	if (kid > 255) {
		*error_r = "key id must be 0..255";
		return -1;
	}
	if (ring->keys[kid].present) {
		*error_r = "duplicate key id";
		return -1;
	}
	if (len < PW_KEY_MIN_BYTES || len > PW_KEY_MAX_BYTES) {
		*error_r =
		    "secret must be 32 to 256 bytes (openssl rand -hex 32)";
		return -1;
	}
	v.p = lmac;
	v.len = sizeof(lmac) - 1;
	if (hmac_sha256(ring, secret, len, &v, 1, ring->keys[kid].mac) < 0)
		pw_panic("token: HMAC-SHA256 failed");
	v.p = lenc;
	v.len = sizeof(lenc) - 1;
	if (hmac_sha256(ring, secret, len, &v, 1, ring->keys[kid].enc) < 0)
		pw_panic("token: HMAC-SHA256 failed");
	ring->keys[kid].present = true;
	ring->latest = (int)kid;
	return 0;
}

bool
pw_keyring_has(const struct pw_keyring *ring, unsigned int kid)
{
	return kid < 256 && ring->keys[kid].present;
}

int
pw_keyring_latest(const struct pw_keyring *ring)
{
	return ring->latest;
}

/* secret_decode - hex if only hex digits (even count), else base64 in
   either alphabet with optional padding; returns the length or -1 */
static long
secret_decode(const char *s, unsigned char *out, size_t outsize)
{
	size_t len = strlen(s), i;
	char *t;
	long n;

	if (len % 2 == 0 && strspn(s, "0123456789abcdefABCDEF") == len) {
		if (len / 2 > outsize)
			return -1;
		for (i = 0; i < len; i += 2) {
			unsigned int b;

			if (sscanf(s + i, "%2x", &b) != 1)
				return -1;
			out[i / 2] = (unsigned char)b;
		}
		return (long)(len / 2);
	}
	while (len > 0 && s[len - 1] == '=')
		len--;
	t = pw_strndup(s, len);
	for (i = 0; i < len; i++)
		if (t[i] == '+')
			t[i] = '-';
		else if (t[i] == '/')
			t[i] = '_';
	n = pw_b64url_decode(t, len, out, outsize);
	OPENSSL_cleanse(t, len);
	free(t);
	return n;
}

/* ring_read - open without following a swap, check ownership and mode,
   read the whole file; returns malloc'd text or NULL */
static char *
ring_read(const char *path, uid_t owner, struct pw_buf *errors)
{
	struct stat st;
	char *text;
	ssize_t n;
	size_t got = 0;
	int fd;

	if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)) < 0) {
		pw_buf_printf(errors, "%s: cannot open key ring: %s\n", path,
			      strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		pw_buf_printf(errors, "%s: key ring is not a regular file\n",
			      path);
		close(fd);
		return NULL;
	}
	if ((st.st_mode & (S_IRWXG | S_IRWXO)) != 0) {
		pw_buf_printf(
		    errors,
		    "%s: key ring has mode %04o: it must not be group or "
		    "world accessible (chmod 600)\n",
		    path, (unsigned int)(st.st_mode & 07777));
		close(fd);
		return NULL;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid() &&
	    (owner == (uid_t)-1 || st.st_uid != owner)) {
		pw_buf_printf(
		    errors,
		    "%s: key ring is owned by uid %u, not root or uid %u\n",
		    path, (unsigned int)st.st_uid, (unsigned int)geteuid());
		close(fd);
		return NULL;
	}
	if (st.st_size > RING_FILE_MAX) {
		pw_buf_printf(errors, "%s: key ring is too large\n", path);
		close(fd);
		return NULL;
	}
	text = pw_malloc((size_t)st.st_size + 1);
	while (got < (size_t)st.st_size &&
	       (n = read(fd, text + got, (size_t)st.st_size - got)) > 0)
		got += (size_t)n;
	text[got] = '\0';
	close(fd);
	return text;
}

struct pw_keyring *
pw_keyring_load(const char *path, struct pw_buf *errors)
{
	return pw_keyring_load_owner(path, (uid_t)-1, errors);
}

struct pw_keyring *
pw_keyring_load_owner(const char *path, uid_t owner, struct pw_buf *errors)
{
	struct pw_keyring *ring;
	unsigned char secret[PW_KEY_MAX_BYTES + 8];
	char *text, *line, *next, *sp, *end;
	const char *err;
	size_t textlen;
	int lineno = 0, bad = 0;
	unsigned long kid;
	long n;

	if ((text = ring_read(path, owner, errors)) == NULL)
		return NULL;
	textlen = strlen(text);
	ring = pw_keyring_new();
	for (line = text; line != NULL && *line != '\0'; line = next) {
		lineno++;
		if ((next = strchr(line, '\n')) != NULL)
			*next++ = '\0';
		if ((sp = strchr(line, '#')) != NULL)
			*sp = '\0';
		line = pw_trim(line);
		if (*line == '\0')
			continue;
		sp = line + strcspn(line, " \t");
		if (*sp == '\0') {
			pw_buf_printf(errors, "%s:%d: expected \"ID SECRET\"\n",
				      path, lineno);
			bad++;
			continue;
		}
		*sp++ = '\0';
		sp = pw_trim(sp);
		errno = 0;
		kid = strtoul(line, &end, 10);
		if (*end != '\0' || end == line || errno != 0 || kid > 255) {
			pw_buf_printf(
			    errors,
			    "%s:%d: key id \"%s\" is not a number 0..255\n",
			    path, lineno, line);
			bad++;
			continue;
		}
		if (strcspn(sp, " \t") != strlen(sp) ||
		    (n = secret_decode(sp, secret, sizeof(secret))) < 0) {
			pw_buf_printf(errors,
				      "%s:%d: key %lu: secret is neither hex "
				      "nor base64\n",
				      path, lineno, kid);
			bad++;
			continue;
		}
		if (pw_keyring_add(ring, (unsigned int)kid, secret, (size_t)n,
				   &err) < 0) {
			pw_buf_printf(errors, "%s:%d: key %lu: %s\n", path,
				      lineno, kid, err);
			bad++;
		}
	}
	OPENSSL_cleanse(secret, sizeof(secret));
	OPENSSL_cleanse(text, textlen);
	free(text);
	if (bad == 0 && ring->latest < 0) {
		pw_buf_printf(errors, "%s: key ring has no keys\n", path);
		bad++;
	}
	if (bad > 0)
		pw_keyring_free(&ring);
	return ring;
}

/* ---- primitives ------------------------------------------------------- */

static int
hmac_sha256(const struct pw_keyring *ring, const unsigned char *key,
	    size_t keylen, const struct iov *v, size_t nv, unsigned char *out)
{
	OSSL_PARAM params[2];
	EVP_MAC_CTX *ctx;
	size_t outlen = 0, i;
	int ok;

	params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
						     (char *)"SHA256", 0);
	params[1] = OSSL_PARAM_construct_end();
	if ((ctx = EVP_MAC_CTX_new(ring->hmac)) == NULL)
		return -1;
	ok = EVP_MAC_init(ctx, key, keylen, params);
	for (i = 0; ok && i < nv; i++)
		ok = EVP_MAC_update(ctx, v[i].p, v[i].len);
	ok = ok && EVP_MAC_final(ctx, out, &outlen, 32) && outlen == 32;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

/* aes_ctr - CTR is its own inverse: encrypt and decrypt alike */
static int
aes_ctr(const struct pw_keyring *ring, const unsigned char *key,
	const unsigned char *iv, const unsigned char *in, size_t len,
	unsigned char *out)
{
	EVP_CIPHER_CTX *ctx;
	int outl = 0, fin = 0, ok;

	if ((ctx = EVP_CIPHER_CTX_new()) == NULL)
		return -1;
	ok = EVP_EncryptInit_ex2(ctx, ring->ctr, key, iv, NULL) &&
	     EVP_EncryptUpdate(ctx, out, &outl, in, (int)len) &&
	     EVP_EncryptFinal_ex(ctx, out + outl, &fin) &&
	     (size_t)(outl + fin) == len;
	EVP_CIPHER_CTX_free(ctx);
	return ok ? 0 : -1;
}

static bool
name_ok(const char *s, size_t len, size_t min, size_t max)
{
	size_t i;

	if (len < min || len > max)
		return false;
	for (i = 0; i < len; i++)
		if (strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789._-",
			s[i]) == NULL ||
		    s[i] == '\0')
			return false;
	return true;
}

static void
put32(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)(v >> 24);
	p[1] = (unsigned char)(v >> 16);
	p[2] = (unsigned char)(v >> 8);
	p[3] = (unsigned char)v;
}

static void
tag_hex(const unsigned char *tag, char *id)
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < 8; i++) {
		id[2 * i] = hex[tag[i] >> 4];
		id[2 * i + 1] = hex[tag[i] & 15];
	}
	id[16] = '\0';
}

/* tag_compute - the 16-byte tag over the label, header and plaintext */
static int
tag_compute(const struct pw_keyring *ring, const struct pw_key *k,
	    const unsigned char *hdr, const unsigned char *plain, size_t plen,
	    unsigned char *tag)
{
	unsigned char full[32];
	struct iov v[3];

	v[0].p = TOK_LABEL;
	v[0].len = sizeof(TOK_LABEL) - 1;
	v[1].p = hdr;
	v[1].len = TOK_HDR;
	v[2].p = plain;
	v[2].len = plen;
	if (hmac_sha256(ring, k->mac, sizeof(k->mac), v, 3, full) < 0)
		return -1;
	memcpy(tag, full, TOK_TAG);
	return 0;
}

/* ---- mint and verify --------------------------------------------------- */

int
pw_token_mint(const struct pw_keyring *ring, unsigned int kid, const char *org,
	      const char *list, const char *rcpt, time_t issued, char **token_r,
	      char *id_r, const char **error_r)
{
	unsigned char raw[TOK_MAX_RAW], plain[TOK_MAX_PLAIN];
	size_t olen = strlen(org), llen = strlen(list), rlen = strlen(rcpt);
	size_t plen, i;
	const struct pw_key *k;
	long minutes;

	if (!pw_keyring_has(ring, kid)) {
		*error_r = "unknown key id";
		return -1;
	}
	if (!name_ok(org, olen, 1, PW_TOKEN_MAX_ORG) ||
	    !name_ok(list, llen, 0, PW_TOKEN_MAX_LIST)) {
		*error_r = "organisation or list name is empty, too long or "
			   "not [A-Za-z0-9._-]";
		return -1;
	}
	if (rlen == 0 || rlen > PW_TOKEN_MAX_RCPT) {
		*error_r = "recipient is empty or too long";
		return -1;
	}
	for (i = 0; i < rlen; i++)
		if ((unsigned char)rcpt[i] < 0x20 || rcpt[i] == 0x7f) {
			*error_r = "recipient contains control characters";
			return -1;
		}
	if (issued < TOK_EPOCH ||
	    (minutes = ((long)issued - TOK_EPOCH) / 60) > (long)UINT32_MAX) {
		*error_r = "issue time out of range";
		return -1;
	}
	k = &ring->keys[kid];
	plain[0] = (unsigned char)olen;
	memcpy(plain + 1, org, olen);
	plain[1 + olen] = (unsigned char)llen;
	memcpy(plain + 2 + olen, list, llen);
	memcpy(plain + 2 + olen + llen, rcpt, rlen);
	plen = 2 + olen + llen + rlen;

	raw[0] = TOK_VERSION;
	raw[1] = (unsigned char)kid;
	put32(raw + 2, (uint32_t)minutes);
	if (tag_compute(ring, k, raw, plain, plen, raw + TOK_HDR) < 0 ||
	    aes_ctr(ring, k->enc, raw + TOK_HDR, plain, plen,
		    raw + TOK_HDR + TOK_TAG) < 0)
		pw_panic("token: OpenSSL failed while minting");
	*token_r = pw_b64url_encode(raw, TOK_HDR + TOK_TAG + plen);
	if (id_r != NULL)
		tag_hex(raw + TOK_HDR, id_r);
	OPENSSL_cleanse(plain, sizeof(plain));
	return 0;
}

/* plain_split - parse the decrypted fields into *tok; false if bad */
static bool
plain_split(const unsigned char *p, size_t plen, struct pw_token *tok)
{
	size_t olen, llen, rlen, i;

	if (plen < 1 || (olen = p[0]) == 0 || 1 + olen + 1 > plen)
		return false;
	llen = p[1 + olen];
	if (2 + olen + llen >= plen)
		return false;
	rlen = plen - 2 - olen - llen;
	if (!name_ok((const char *)p + 1, olen, 1, PW_TOKEN_MAX_ORG) ||
	    !name_ok((const char *)p + 2 + olen, llen, 0, PW_TOKEN_MAX_LIST) ||
	    rlen > PW_TOKEN_MAX_RCPT)
		return false;
	for (i = 0; i < rlen; i++)
		if (p[2 + olen + llen + i] < 0x20 ||
		    p[2 + olen + llen + i] == 0x7f)
			return false;
	tok->org = pw_strndup((const char *)p + 1, olen);
	tok->list = pw_strndup((const char *)p + 2 + olen, llen);
	tok->rcpt = pw_strndup((const char *)p + 2 + olen + llen, rlen);
	return true;
}

enum pw_token_status
pw_token_verify(const struct pw_keyring *ring, const char *token, size_t len,
		time_t now, long lifetime, const char *expect_org,
		struct pw_token *tok)
{
	unsigned char raw[TOK_MAX_RAW], plain[TOK_MAX_PLAIN], tag[TOK_TAG];
	const struct pw_key *k;
	size_t plen;
	long n;
	time_t issued;
	bool fields_ok;

	memset(tok, 0, sizeof(*tok));
	if (len > (TOK_MAX_RAW * 4 + 2) / 3 ||
	    (n = pw_b64url_decode(token, len, raw, sizeof(raw))) < 0 ||
	    (size_t)n < TOK_HDR + TOK_TAG + 3 || raw[0] != TOK_VERSION)
		return PW_TOKEN_MALFORMED;
	if (!pw_keyring_has(ring, raw[1]))
		return PW_TOKEN_UNKNOWN_KEY;
	k = &ring->keys[raw[1]];
	plen = (size_t)n - TOK_HDR - TOK_TAG;
	if (aes_ctr(ring, k->enc, raw + TOK_HDR, raw + TOK_HDR + TOK_TAG, plen,
		    plain) < 0 ||
	    tag_compute(ring, k, raw, plain, plen, tag) < 0)
		pw_panic("token: OpenSSL failed while verifying");
	/* Authenticate before looking at any decrypted byte. */
	if (CRYPTO_memcmp(tag, raw + TOK_HDR, TOK_TAG) != 0) {
		OPENSSL_cleanse(plain, sizeof(plain));
		return PW_TOKEN_BAD_MAC;
	}
	fields_ok = plain_split(plain, plen, tok);
	OPENSSL_cleanse(plain, sizeof(plain));
	if (!fields_ok) {
		/* Authentic but not something we mint: a bug or a key leak. */
		pw_token_clear(tok);
		return PW_TOKEN_MALFORMED;
	}
	issued =
	    (time_t)(TOK_EPOCH + 60L * (long)((uint32_t)raw[2] << 24 |
					      (uint32_t)raw[3] << 16 |
					      (uint32_t)raw[4] << 8 | raw[5]));
	tok->kid = raw[1];
	tok->issued = issued;
	tag_hex(raw + TOK_HDR, tok->id);
	if (issued > now + TOK_SKEW) {
		pw_token_clear(tok);
		return PW_TOKEN_MALFORMED;
	}
	if (expect_org != NULL && strcmp(expect_org, tok->org) != 0)
		return PW_TOKEN_WRONG_ORG;
	if (lifetime > 0 && lifetime < PW_TOKEN_MIN_LIFETIME)
		lifetime = PW_TOKEN_MIN_LIFETIME;
	if (lifetime > 0 && now - issued > lifetime)
		return PW_TOKEN_EXPIRED;
	return PW_TOKEN_OK;
}

void
pw_token_clear(struct pw_token *tok)
{
	free(tok->org);
	free(tok->list);
	free(tok->rcpt);
	memset(tok, 0, sizeof(*tok));
}

const char *
pw_token_status_str(enum pw_token_status st)
{
	switch (st) {
	case PW_TOKEN_OK:
		return "ok";
	case PW_TOKEN_MALFORMED:
		return "malformed";
	case PW_TOKEN_UNKNOWN_KEY:
		return "unknown key";
	case PW_TOKEN_BAD_MAC:
		return "bad MAC";
	case PW_TOKEN_EXPIRED:
		return "expired";
	case PW_TOKEN_WRONG_ORG:
		return "wrong organisation";
	}
	return "?";
}

int
pw_token_lifetime_check(long lifetime, const char **error_r)
{
	if (lifetime < 0 ||
	    (lifetime > 0 && lifetime < PW_TOKEN_MIN_LIFETIME)) {
		*error_r =
		    "unsubscribe token lifetime must be 0 (unlimited) or "
		    "at least 60 days (CASL s.11(2))";
		return -1;
	}
	return 0;
}
