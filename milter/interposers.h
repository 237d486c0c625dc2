/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * interposers - the daemon's overrides of library functions, checked at
 * startup.
 *
 * postwarden defines functions that libmilter and libopendkim import from
 * the C library and OpenSSL, and the dynamic linker binds those libraries'
 * calls to our definitions (the executable comes first in the lookup
 * order).  Together they are worth 3-8x of CPU per message:
 *   milterio     accept/read/poll/close: libmilter's session reads
 *                buffered (milter/milterio.h)
 *   keycache     PEM_read_bio_PrivateKey: signing keys parsed once
 *                (policies/keys/keycache.h)
 *   pubkeycache  d2i_PUBKEY_bio: verified-key decodes cached
 *                (policies/keys/pubkeycache.h)
 *   quickack     writev: TCP_QUICKACK re-armed on inet milter sockets
 *                (milter/quickack.h)
 * Nothing fails when one of them stops applying -- mail just costs more --
 * so each is proved at startup: the library still imports the function
 * (read from its dynamic relocations), its reference is bound to our
 * definition (its GOT slot, or the global lookup if not bound yet), and a
 * probe call through the function the library would call moves the
 * interposer's counter.  One line names the active ones:
 *	interposers: milterio keycache pubkeycache quickack
 * and each one that is not active gets a warning saying why.  postwarden
 * -n prints the same on stderr.
 *
 * Linking: milterio.o and quickack.o are daemon sources; keycache.o and
 * pubkeycache.o are also linked into the daemon directly (Makefile.am),
 * never pulled from libpolicies.a by whichever reference happens to need
 * them, so deleting a log line cannot drop one.
 */
#ifndef PW_INTERPOSERS_H
#define PW_INTERPOSERS_H

#include <stdio.h>

/*
 * How library LIB (a substring of its file name, "/libmilter.so") links
 * SYM: 1 = it imports SYM and the reference is bound to OURS, 0 = it does
 * not import SYM, -1 = bound to another definition, -2 = LIB not loaded.
 */
int	pw_interposed(const char *lib, const char *sym, const void *ours);

/*
 * Probe every interposer; log one line naming the active ones (to_stderr:
 * print it instead, for -n) and a warning for each that is not.  inet:
 * the milter socket is TCP (quickack applies).  Returns how many are
 * not active.
 */
int	pw_interposers_check(int inet, int to_stderr);

/* The caches' counters since pw_interposers_check() (the probes left
   out), logged once when the daemon stops. */
void	pw_interposers_report(void);

#endif
