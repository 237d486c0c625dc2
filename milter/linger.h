/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linger - keep a libmilter worker on its session between commands.
 *
 * Debian's libmilter runs sessions on a worker pool.  After each command
 * a worker waits 1 ms (a poll() with a 1 ms timeout, mi_rd_socket_ready)
 * for the session's next command; when none comes it hands the session
 * back: it writes to the pool's pipe, the pool thread wakes and rebuilds
 * its poll set, and when the MTA writes again the pool thread wakes a
 * worker (starting a new thread when none is idle).  An MTA that waits
 * for its own SMTP client, or simply did not get the CPU within 1 ms,
 * costs that round of thread switches: measured with bench-inbound.sh,
 * eight per message, about a third of postwarden's CPU.
 *
 * This module defines poll() and, for that one call of libmilter's
 * (one descriptor, POLLIN, 1 ms, made from libmilter's code), waits up to
 * the linger time instead, so that the worker that served a command
 * usually serves the next one, as libmilter's thread-per-session builds
 * do.  Every other poll() is passed through unchanged.  The cost is a
 * thread per session that was active within the linger time.
 */
#ifndef PW_LINGER_H
#define PW_LINGER_H

/* Wait up to ms for a session's next command (0: libmilter's 1 ms). */
void	pw_linger_enable(int ms);

#endif
