/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_keys - OpenDKIM KeyTable and SigningTable, loaded once per config
 * snapshot, so that OpenDKIM users keep their files unchanged.
 *
 *   KeyTable     "name  domain:selector:/path/to/key"   (file: or refile:)
 *   SigningTable "pattern  name[,name...][:signer]"     (file: or refile:)
 *
 * Keys are read and checked at load time (permissions, type, size): a bad
 * key is a startup error with file and line, never a per-message surprise.
 * Key bytes are cleared when the set is freed.  Immutable once loaded.
 */
#ifndef PW_DKIM_KEYS_H
#define PW_DKIM_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include <openssl/evp.h>

struct pw_buf;
struct pw_table;

enum pw_dkim_alg { PW_DKIM_RSA, PW_DKIM_ED25519 };

struct pw_dkim_key {
	char			*name;		/* KeyTable key */
	char			*domain;	/* d=; "%": the From domain */
	char			*selector;	/* s= */
	char			*path;
	unsigned char		*pem;		/* key text for libopendkim */
	size_t			 pemlen;
	EVP_PKEY		*pkey;		/* parsed once (keycache.h) */
	enum pw_dkim_alg	 alg;
	int			 bits;
	char			*where;		/* "KEYTABLE:LINE" */
};

struct pw_dkim_keys {
	struct pw_dkim_key	*keys;
	size_t			 nkeys;
	struct pw_table		*signing;
	bool			 multiple;	/* every match, or the first */
};

/* Load both tables and every key they name.  Returns NULL and appends
   one line per problem to *errors on failure. */
struct pw_dkim_keys *pw_dkim_keys_load(const char *keytable,
			  const char *keytable_where, const char *signtable,
			  const char *signtable_where, bool allow_unsafe,
			  bool multiple, struct pw_buf *errors);
void	pw_dkim_keys_free(struct pw_dkim_keys **);

/* The keys to sign a message whose author address is addr, in table order,
   without duplicates.  Returns how many were stored in out (at most max);
   signer_r, when not NULL, gets the i= value of the first match or NULL
   (pointer into the table). */
size_t	pw_dkim_keys_select(const struct pw_dkim_keys *, const char *addr,
	    const struct pw_dkim_key **out, size_t max);

/* Read and check one private key file: mode (unless allow_unsafe), PEM
   parse, type and size.  For unit tests and postwarden-ctl too. Returns 0,
   or -1 with a message appended to *errors prefixed by where. */
int	pw_dkim_key_read(struct pw_dkim_key *, const char *path,
	    const char *where, bool allow_unsafe, struct pw_buf *errors);

/* Clear the key bytes and free what pw_dkim_key_read() and the caller
   set in one key (name, domain, selector, path, where are freed). */
void	pw_dkim_key_clear(struct pw_dkim_key *);

#endif
