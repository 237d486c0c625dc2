/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * pubkeycache - decoded DKIM public keys for libopendkim's verifier.
 *
 * Why: libopendkim decodes the key record's p= with d2i_PUBKEY_bio() for
 * every signature it verifies.  With OpenSSL 3 that goes through the
 * provider decoder machinery: 0.81 ms for an RSA-2048 key here (measured
 * with 5000 decodes), more than half of postwarden's inbound CPU per
 * message, for the same few keys again and again.  libopendkim has no
 * API to hand it a decoded key, so, like keycache.h for private keys,
 * this module defines d2i_PUBKEY_bio() in the daemon: for a memory BIO
 * whose bytes were decoded before it returns a new reference to that
 * EVP_PKEY (shared read-only between threads, which OpenSSL supports);
 * otherwise it calls OpenSSL's function and remembers the result.  The
 * key is the exact DER bytes, so an entry can never be stale; the table
 * is emptied when it holds PW_PUBKEYCACHE_MAX keys.  Thread-safe.
 *
 * Nothing references this file's interposer by name, so it is linked into
 * the daemon directly (Makefile.am) rather than pulled from libpolicies.a
 * -- until issue 9 it came in only because a debug log line called
 * pw_pubkeycache_hits().  At startup pw_pubkeycache_probe() and
 * milter/interposers.c prove that it is the d2i_PUBKEY_bio libopendkim
 * reaches (milter/interposers.h).
 */
#ifndef PW_PUBKEYCACHE_H
#define PW_PUBKEYCACHE_H

#define PW_PUBKEYCACHE_MAX	1024

/* Decodes answered from the cache so far (tests, benchmarks). */
unsigned long pw_pubkeycache_hits(void);
/* Decodes done by OpenSSL (cache misses) so far. */
unsigned long pw_pubkeycache_misses(void);
/* 0 if the interposer answers process-wide calls; else -1, *why_r. */
int	pw_pubkeycache_probe(char **why_r);

#endif
