/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_rows - DMARC evaluation rows, written to the store in batches by
 * a thread of their own.
 *
 * One row per inbound message used to cost a transaction of its own:
 * about 0.14 ms of the milter's 0.64 ms of CPU per message in
 * bench-inbound.sh, and a milter thread waiting on the disk.  Rows are
 * now copied to a queue and written every half second (sooner when 256
 * are waiting), all in one transaction.  A crash loses at most that half
 * second of rows (they feed aggregate reports; a stop or reload writes
 * everything first).  A batch the store refuses (down, locked) stays in
 * the queue and is tried again a second later, so a store that comes
 * back gets every row; when the store cannot keep up, rows beyond 50,000
 * waiting are dropped with a warning: mail is never held for them.
 */
#ifndef PW_DMARC_ROWS_H
#define PW_DMARC_ROWS_H

#include "store/store.h"

struct pw_dmarc_rows;

/* A queue writing to st (which it does not own).  NULL with *error_r
   set if the thread cannot be started. */
struct pw_dmarc_rows *pw_dmarc_rows_new(struct pw_store *st, char **error_r);
/* Copy one row into the queue.  Never waits for the store. */
void	pw_dmarc_rows_add(struct pw_dmarc_rows *, const struct pw_dmarc_row *);
/* Write what is queued, stop the thread, free; *q becomes NULL. */
void	pw_dmarc_rows_free(struct pw_dmarc_rows **q);

#endif
