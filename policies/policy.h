/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * policy - the contract between the milter glue (milter/) and one check.
 *
 * A policy is one file in policies/ exporting exactly one symbol, its
 * "const struct pw_policy pol_<name>".  It never includes libmilter: it
 * reads the message through struct pw_msg, returns verdicts, sets replies
 * with pw_msg_reply() and records header edits that milter/ applies at
 * end of message.  Shared services (organisations, key ring, store,
 * resolver) come from the snapshot (snapshot.h), never opened by a
 * policy.  To add a check: write the file, list it in registry.c in phase
 * order, add it to Makefile.am.
 */
#ifndef PW_POLICY_H
#define PW_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "base/config.h"
#include "msg.h"

enum pw_phase {			/* policies run in this order at every stage */
	PW_PHASE_VERIFY = 1,	/* spf, dkim_verify, dmarc: read-only */
	PW_PHASE_COMPLY,	/* classify, unsub, consent: may reject, edit */
	PW_PHASE_SIGN,		/* dkim_sign: last; sees the final headers */
};

#define PW_NEED_RCPTS	0x01	/* the union of needs drives SMFIP_NO* */
#define PW_NEED_HEADERS	0x02
#define PW_NEED_BODY	0x04	/* body chunks streamed to .body */
#define PW_NEED_BODY_BUFFER 0x08 /* whole body kept for .eom (msg->body) */
#define PW_NEED_HELO	0x10

struct pw_call {		/* what a stage callback gets */
	struct pw_msg	*msg;	/* shared per-message state (msg.h) */
	void		*conf;	/* from init(); shared by all threads:
				   read-only or internally locked */
	void		*priv;	/* msg_state_size zeroed bytes, in the arena */
};

struct pw_policy {
	const char		*name;	/* "dkim_sign": log tag */
	enum pw_phase		 phase;
	unsigned int		 needs;
	unsigned int		 dirs;	/* PW_DIR_IN | PW_DIR_OUT it runs for */
	size_t			 msg_state_size;
	const struct pw_setting	*settings;	/* this policy's keys */
	size_t			 settings_size;	/* struct they fill */

	/* Per config snapshot: settings is the filled settings struct.
	   Returns 0, or -1 with *error_r set (malloc'd, "FILE:LINE: ..."
	   where a line is known).  *conf_r may stay NULL: the policy is then
	   idle for this snapshot (e.g. no key table configured). */
	int	(*init)(const struct pw_config *, const void *settings,
		    void **conf_r, char **error_r);
	void	(*deinit)(void *conf);

	/* Can .mail return a verdict with this conf?  NULL: it may.  When
	   no policy's can, the MTA is not made to wait for a reply to MAIL
	   FROM (SMFIP_NR_MAIL): one round trip less per message. */
	bool	(*mail_decides)(const void *conf);

	/* Per message.  Each may be NULL.  .rcpt refuses one recipient
	   with TEMPFAIL or REJECT, except when msg->nonsmtp (Postfix's
	   sendmail command cannot refuse one: decide at .eom instead). */
	enum pw_verdict (*mail)(struct pw_call *);
	enum pw_verdict (*rcpt)(struct pw_call *, const char *rcpt);
	enum pw_verdict (*header)(struct pw_call *, const struct pw_hdr *);
	enum pw_verdict (*eoh)(struct pw_call *);
	enum pw_verdict (*body)(struct pw_call *, const unsigned char *,
			    size_t);
	enum pw_verdict (*eom)(struct pw_call *);
	void		(*cleanup)(struct pw_call *); /* always: eom, abort */
};

/* registry.c: every policy in phase order. */
extern const struct pw_policy *const pw_policies[];
extern const size_t pw_npolicies;

/* Load a snapshot with every policy's settings, the shared services
   (snapshot.h) and postwarden-unsubd's keys (they share the file), as
   pw_config_load() does. */
struct pw_config *pw_policies_load(const char *path, struct pw_buf *errors);

/* What policy i (registry order) built in init(); NULL when idle. */
void	*pw_policy_conf(const struct pw_config *, size_t i);

#endif
