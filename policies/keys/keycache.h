/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * keycache - parsed private keys, handed to libopendkim instead of having
 * it parse the PEM text of the key again for every message.
 *
 * Why: libopendkim's dkim_sign() takes the key as text and calls
 * PEM_read_bio_PrivateKey() for every signature.  With OpenSSL 3 that
 * parse goes through the provider decoder machinery and costs about 3 ms
 * of CPU here (measured: Ed25519 signing 3.9 ms per message with the
 * parse, 0.16 ms without; RSA-2048 8.9 ms vs 1.9 ms) -- most of what
 * OpenDKIM spends per message.  libopendkim has no API to pass a parsed
 * key, so this module defines PEM_read_bio_PrivateKey() in the daemon: the
 * dynamic linker binds libopendkim's call to it; when the PEM text is a
 * key we loaded and registered, it returns our EVP_PKEY (reference
 * counted, shared read-only between threads, which OpenSSL supports), and
 * otherwise it calls OpenSSL's own function.  Thread-safe.
 *
 * Nothing fails if the interposer stops applying -- signing just costs
 * 3-8x more -- so it is guarded: keycache.o is linked into the daemon
 * directly (Makefile.am), not pulled from libpolicies.a by some other
 * reference; at startup pw_keycache_probe() reads a fresh key back
 * through the function the process-wide lookup finds and checks the hit
 * counter, and milter/interposers.c checks that libopendkim still imports
 * PEM_read_bio_PrivateKey bound to ours.  The daemon logs
 * "interposers: ... keycache ..." or a warning (milter/interposers.h).
 */
#ifndef PW_KEYCACHE_H
#define PW_KEYCACHE_H

#include <stddef.h>

#include <openssl/evp.h>

/* Register a parsed key under its exact PEM text (takes a reference). */
void	pw_keycache_add(const unsigned char *pem, size_t len, EVP_PKEY *);
/* Drop that registration (and its reference). */
void	pw_keycache_remove(const unsigned char *pem, size_t len, EVP_PKEY *);
/* Lookups answered from the cache so far (for tests and benchmarks). */
unsigned long pw_keycache_hits(void);
/* Calls passed on to OpenSSL (real PEM parses) so far. */
unsigned long pw_keycache_misses(void);
/* 0 if the interposer answers process-wide calls; else -1, *why_r. */
int	pw_keycache_probe(char **why_r);

#endif
