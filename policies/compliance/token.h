/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * token - one-click unsubscribe tokens (RFC 8058 §3.1) and the key ring
 * they are minted under.
 *
 * A token is self-contained: it names the organisation, the list and the
 * recipient, and the unsubscribe endpoint recovers them with the key ring
 * alone, with no database row and no address in clear text
 * (compliance-rules.md §7.3).  Wire format, version 1 (big-endian):
 *
 *   header   ver u8 = 1 | kid u8 | issued u32 (minutes since 2020-01-01Z)
 *   tag      16 bytes: HMAC-SHA256(Kmac, "postwarden-unsub-v1" || header
 *            || plain)[0..16]
 *   body     AES-256-CTR(Kenc, iv = tag, plain)
 *   plain    org_len u8 | org | list_len u8 | list | recipient
 *   token    base64url, no padding (RFC 4648 §5) of header || tag || body
 *
 * Kmac and Kenc are derived from the key ring secret K[kid] with HMAC
 * under two fixed labels.  The construction is SIV (Rogaway-Shrimpton,
 * deterministic authenticated encryption) with HMAC-SHA256 as the PRF: the
 * tag authenticates the header and the plaintext, and doubles as the CTR
 * IV.  Why encrypt rather than carry an opaque row id: the issue asks that
 * verification need no address in clear text, RFC 8058 §6 warns that the
 * URI leaks to anyone who sees the message, and a per-host SQLite store has
 * no fleet-wide row ids (§7.3); an encrypted reference works for one host
 * and for a fleet alike, and the endpoint can record the suppression by
 * address directly.  Tags are compared with CRYPTO_memcmp.
 *
 * Key ring file: "ID SECRET" lines, ID 0..255, SECRET 32 or more bytes as
 * hex or base64 (standard or URL alphabet); '#' comments.  The file must
 * be a regular file that is not group- or world-accessible, owned by root
 * or by the effective user (OpenDKIM RequireSafeKeys).  Keys are never
 * logged and are cleansed when the ring is freed.  Retired keys stay in
 * the file so that old tokens keep verifying (keep them >= 400 days).
 *
 * Immutable once loaded; safe to share between threads.
 */
#ifndef PW_TOKEN_H
#define PW_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

struct pw_buf;
struct pw_keyring;

/* CASL s.11(2): the mechanism must work for at least 60 days. */
#define PW_TOKEN_MIN_LIFETIME	(60L * 86400L)
#define PW_TOKEN_MAX_ORG	64
#define PW_TOKEN_MAX_LIST	64
#define PW_TOKEN_MAX_RCPT	320
#define PW_KEY_MIN_BYTES	32
#define PW_KEY_MAX_BYTES	256

/* Load a key ring.  On error returns NULL and appends "PATH:LINE: ..."
   lines to *errors. */
struct pw_keyring *pw_keyring_load(const char *path, struct pw_buf *errors);
/* The same, also accepting a file owned by uid owner ((uid_t)-1: none):
   the daemon's "user", so that a ring loaded as root at startup stays
   readable after the privilege drop, on SIGHUP. */
struct pw_keyring *pw_keyring_load_owner(const char *path, uid_t owner,
		    struct pw_buf *errors);
/* An empty ring, and adding a key to it (the loader and tests).  Returns
   0, or -1 with *error_r (static text) when the id is taken or the secret
   is too short or too long. */
struct pw_keyring *pw_keyring_new(void);
int	pw_keyring_add(struct pw_keyring *, unsigned int kid,
	    const unsigned char *secret, size_t len, const char **error_r);
bool	pw_keyring_has(const struct pw_keyring *, unsigned int kid);
/* The id on the last line of the file (the newest key); -1 if empty. */
int	pw_keyring_latest(const struct pw_keyring *);
/* Cleanse and free; sets *ring to NULL. */
void	pw_keyring_free(struct pw_keyring **);

/* What a valid token says.  Strings are malloc'd; pw_token_clear frees. */
struct pw_token {
	unsigned int	 kid;
	time_t		 issued;
	char		*org;
	char		*list;		/* "" = every CEM of the organisation */
	char		*rcpt;		/* as minted (normalised address) */
	char		 id[17];	/* first 8 tag bytes, hex: for audit rows */
};

enum pw_token_status {
	PW_TOKEN_OK,
	PW_TOKEN_MALFORMED,	/* not base64url, too short, bad version */
	PW_TOKEN_UNKNOWN_KEY,	/* kid not in the ring */
	PW_TOKEN_BAD_MAC,	/* forged or altered */
	PW_TOKEN_EXPIRED,	/* authentic but older than the lifetime */
	PW_TOKEN_WRONG_ORG,	/* authentic, for another organisation */
};

/* Mint a token for (org, list, rcpt) issued at `issued` under key kid.
   org: 1..64 bytes of [A-Za-z0-9._-]; list: 0..64 bytes, same set;
   rcpt: 1..320 bytes, no control characters.  Returns 0 with *token_r
   (malloc'd) and, if id_r is not NULL, the 16 hex digit token id in
   id_r[17]; or -1 with *error_r (static text). */
int	pw_token_mint(const struct pw_keyring *, unsigned int kid,
	    const char *org, const char *list, const char *rcpt,
	    time_t issued, char **token_r, char *id_r, const char **error_r);

/* Verify a token of len bytes.  lifetime is in seconds; 0 accepts any age
   (any token whose key is still in the ring), otherwise it is raised to
   PW_TOKEN_MIN_LIFETIME if lower.  Tokens issued more than one day in the
   future are MALFORMED.  expect_org, if not NULL, must equal the token's
   organisation.  On OK, EXPIRED and WRONG_ORG the token is authentic and
   *tok_r is filled (an expired token should lead to the manual page, never
   to an error that blocks unsubscribing, §7.3); on other results *tok_r is
   zeroed. */
enum pw_token_status pw_token_verify(const struct pw_keyring *,
			    const char *token, size_t len, time_t now,
			    long lifetime, const char *expect_org,
			    struct pw_token *tok_r);
void	pw_token_clear(struct pw_token *);
const char *pw_token_status_str(enum pw_token_status);

/* Configuration check for a lifetime setting: 0, or -1 with *error_r when
   it is positive but shorter than 60 days (R18: refuse to start). */
int	pw_token_lifetime_check(long lifetime, const char **error_r);

/* base64url without padding (RFC 4648 §5); exposed for tests and the
   endpoint.  decode is strict: no padding, no white space, canonical
   trailing bits.  Returns the decoded length, or -1. */
char	*pw_b64url_encode(const unsigned char *, size_t);
long	 pw_b64url_decode(const char *, size_t, unsigned char *out,
	    size_t outsize);

#endif
