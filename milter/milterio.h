/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milterio - libmilter's session I/O, made cheaper.
 *
 * Debian's libmilter runs sessions on a worker pool and reads each
 * command in four system calls: poll() and read() for the 5-byte header,
 * poll() and read() for the rest, plus a poll() after each command to see
 * whether the next is already there.  Postfix sends a macro packet before
 * nearly every event and no reply is awaited for most events, so the
 * packets of a message come in a few bursts: about 30 commands and 150
 * system calls per message, where a handful of reads would do.  And when
 * the next command is not there within 1 ms (the MTA waits for its SMTP
 * client, or just did not get the CPU), the worker hands the session back
 * to the pool: a pipe write, the pool thread's wake-up and poll-set
 * rebuild, then another wake-up for a worker, or a new thread.  Under load
 * that happened about eight times per inbound message.
 *
 * This module defines accept(), read(), poll() and close() and changes
 * them only for the sockets of libmilter's sessions (accepted from
 * libmilter's code):
 *   - read() fills a per-session buffer (16 KiB) and serves libmilter's
 *     small reads from it; poll() answers "readable" for a session with
 *     buffered bytes without a system call;
 *   - libmilter's "is the next command there?" poll (one descriptor,
 *     POLLIN, 1 ms, from libmilter's code) waits up to the linger time,
 *     so that the worker that served a command usually serves the next,
 *     as libmilter's thread-per-session builds do.  The price is a thread
 *     per session active within the linger time.
 * Everything else goes to the C library unchanged.
 *
 * Safety against a libmilter update: buffering is right only while
 * libmilter reads sessions with read() and waits with poll() alone.  A
 * recv() or readv() beside our read() would take bytes from behind the
 * ones we hold and reorder the stream.  Debian 12's libmilter
 * (8.17.1.9-2+deb12u2) never does: `nm -D --undefined-only
 * libmilter.so.1.0.1` lists read, poll, accept, close, write and writev
 * and no recv, recvfrom, recvmsg, readv, pread, select, ppoll, epoll or
 * _chk variant (writes cannot reorder what is read).  That is not
 * left to this comment: pw_milterio_enable() reads libmilter's dynamic
 * relocations at startup and buffers nothing unless it imports all of
 * accept/read/poll/close, bound to ours, and none of those others; then
 * pw_interposers_check() (interposers.h) logs a warning naming the call.
 * Likewise if libmilter is not found in the process (linked statically).
 */
#ifndef PW_MILTERIO_H
#define PW_MILTERIO_H

/* Before the first session; linger_ms 0 keeps libmilter's 1 ms.  -1: not
   enabled, libmilter does not read the way milterio handles (see above). */
int	pw_milterio_enable(int linger_ms);
/* 0 if milterio applies to the libmilter in the process; else -1 and
   *why_r (malloc'd) says why. */
int	pw_milterio_probe(char **why_r);

#endif
