/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quickack - keep inet milter connections out of delayed-ACK mode.
 *
 * Over TCP, Postfix writes several small packets back to back (macros,
 * then the command; headers without replies) and Nagle's algorithm holds
 * each one after the first until we ACK it; Linux delays that ACK by up
 * to 40 ms once the connection looks interactive, which is after each of
 * our replies.  Measured with bench/bench-sign.sh at concurrency 1: 48.6 ms
 * per message over inet against 4.8 ms over a unix socket.  TCP_QUICKACK
 * ends that, but the kernel clears it again, so it is re-armed right after
 * every write libmilter makes: this module defines writev() (libmilter's
 * only write call), which calls the C library's and then re-arms the
 * option.  Re-arming is enabled only when the milter socket is inet; for
 * unix sockets writev() is a plain pass-through.
 */
#ifndef PW_QUICKACK_H
#define PW_QUICKACK_H

void	pw_quickack_enable(void);
/* 0 if libmilter's writev() reaches ours and the kernel has TCP_QUICKACK;
   else -1 and *why_r (malloc'd) says why (interposers.h). */
int	pw_quickack_probe(char **why_r);

#endif
