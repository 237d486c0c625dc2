/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mlfi - the libmilter callbacks: translate between libmilter and
 * struct pw_msg, run the policies stage by stage, apply the verdict and
 * the recorded header edits at end of message, log one summary line.
 */
#ifndef PW_MLFI_H
#define PW_MLFI_H

#include <libmilter/mfapi.h>

extern struct smfiDesc pw_mlfi_desc;

/* Connections now open (for a graceful stop). */
int	pw_mlfi_active(void);

/* Start a graceful stop: new connections and new messages are refused
   with a temporary error, messages already past MAIL FROM finish. */
void	pw_mlfi_stop(void);

#endif
