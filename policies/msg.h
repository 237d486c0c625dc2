/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msg - per-message state shared by the policies: envelope, headers as
 * received, buffered body, verdict and reply, and the list of pending
 * header edits.  Every byte reachable from a pw_msg lives in its arena.
 *
 * A message belongs to the one thread handling its connection.
 */
#ifndef PW_MSG_H
#define PW_MSG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>
#include <sys/socket.h>

#include "base/arena.h"
#include "base/util.h"
#include "compliance/org.h"
#include "dns/dns.h"
#include "parsers/auth.h"

struct pw_config;
struct pw_policy;

#define PW_MAX_POLICIES	32

/* Headers that are instructions to postwarden (Postwarden-Class and
   Postwarden-List, read by pol_classify): never passed on, whoever set
   them and in either direction, since a list manager or a next hop that
   trusts this host could honour them.  msg.c lists them. */
#define PW_NPRIVATE_HDRS 2
extern const char *const pw_private_hdrs[PW_NPRIVATE_HDRS];

enum pw_verdict {		/* ordered by strength; see pw_msg_decide() */
	PW_DUNNO = 0,		/* no opinion: the next policy runs */
	PW_ACCEPT,		/* stop checking; deliver */
	PW_QUARANTINE,		/* deliver to hold; keep checking */
	PW_TEMPFAIL,		/* 4xx, stop */
	PW_REJECT,		/* 5xx, stop */
	PW_DISCARD,		/* accept and drop, stop; rarely right */
};

enum pw_dir {
	PW_DIR_IN = 1,		/* we are the receiver */
	PW_DIR_OUT = 2,		/* we are the sender */
};

/* The SMTP client as the MTA reported it; owned by the connection. */
struct pw_client {
	struct sockaddr_storage	 sa;
	bool			 has_addr;	/* false: unix, unknown */
	char			 addr[64];	/* text, "" if none */
	unsigned int		 port;		/* 0: not an SMTP client */
	char			*hostname;
	char			*helo;
	char			*daemon_name;	/* {daemon_name} */
	bool			 internal;	/* in internal_hosts */
};

struct pw_hdr {
	char	*name;
	char	*value;		/* raw, with its leading space and folding */
};

struct pw_hdrlist {
	struct pw_hdr	*v;
	size_t		 n;
	size_t		 cap;
};

struct pw_reply {
	const char	*rcode;		/* "550" */
	const char	*xcode;		/* "5.7.1" */
	const char	*text;
};

enum pw_edit_op { PW_EDIT_ADD, PW_EDIT_INSERT, PW_EDIT_CHANGE, PW_EDIT_DELETE };

struct pw_edit {
	enum pw_edit_op		 op;
	const char		*name;		/* arena */
	const char		*value;		/* arena; NULL for DELETE */
	int			 index;		/* INSERT: position, 0 = top.
						   CHANGE/DELETE: nth occurrence
						   of name, 1-based. */
	const struct pw_policy	*origin;	/* for logs */
	struct pw_edit		*next;
};

/* Outbound compliance state, written by pol_classify (COMPLY phase, first)
   and read by the later COMPLY policies: which organisation sends, the
   message class and how it was decided (compliance-rules.md R1, R2; the
   enums are the compliance model's, compliance/org.h). */

/* Per recipient of an organisation's mail: what pol_consent and pol_unsub
   decided, for the audit row pol_audit writes (R20).  Arena strings;
   kept in pw_comply.rcpts, also for recipients refused at RCPT. */
struct pw_comply_rcpt {
	const char	*rcpt;		/* as at RCPT, without <> */
	const char	*addr;		/* normalised (addrnorm.h); NULL: bad */
	const char	*consent;	/* state name; NULL: not checked */
	int64_t		 basis_id;	/* consent event relied on; 0: none */
	const char	*basis_type;
	time_t		 basis_expires;	/* 0: none */
	const char	*reason;	/* why refused, or NULL */
	const char	*refusal;	/* the same for the sender's reply:
					   "consent for ORG expired on
					   DATE"...; NULL: not refused */
	const char	*token_id;	/* unsubscribe token minted, or NULL */
	const char	*action;	/* NULL: the message's fate decides */
};

struct pw_comply {
	const struct pw_org	*org;	/* NULL: no organisation matched */
	enum pw_org_how		 org_how;
	enum pw_class		 class;
	enum pw_class_how	 class_how;
	bool			 class_final;	/* known at MAIL FROM and
						   cannot change: RCPT-time
						   decisions are allowed */
	const char		*list;		/* mailing list (List-Id or a
						   trusted Postwarden-List),
						   lower-case; NULL: none */
	const char		*foreign;	/* sender_binding: the first
						   identity outside org
						   ("From <a@b>"), arena;
						   NULL: none or not checked */
	struct pw_comply_rcpt	*rcpts;		/* comply.h; arena */
	size_t			 nrcpts;
	size_t			 rcpts_cap;
	bool			 audited;	/* rows written (pol_audit) */
};

/* What pol_dkim_sign added at end of message (first signature's d= and
   s=), for the audit rows and the "never release commercial mail
   unsigned" check (compliance-rules.md R12, R20). */
struct pw_sig_out {
	unsigned int	 n;		/* signatures added */
	const char	*d;		/* arena; NULL when n == 0 */
	const char	*s;
};

/* The body, kept only when some policy asked for it: in memory up to
   body_memory_limit, then in an unlinked temporary file. */
struct pw_body {
	struct pw_buf	 mem;
	FILE		*spill;
	size_t		 len;
};

struct pw_msg {
	struct pw_arena		*arena;
	const struct pw_client	*client;
	const struct pw_config	*cfg;	/* pinned snapshot */
	const char		*qid;	/* {i} macro, or "NOQUEUE" */
	enum pw_dir		 dir;
	const char		*dir_why;	/* internal, auth, local, ... */
	bool			 nonsmtp;	/* Postfix non_smtpd_milters
						   (sendmail command): a reply
						   at RCPT cannot refuse one
						   recipient, so no policy
						   decides there (consent.c) */
	const char		*auth_authen;	/* SASL login or NULL */
	const char		*env_from;	/* without <> */
	char			**rcpts;	/* without <> */
	size_t			 nrcpts;
	size_t			 rcpts_cap;
	struct pw_hdrlist	 hdrs;		/* as received */
	size_t			 hdr_bytes;
	bool			 hdrs_truncated; /* over max_header_bytes */
	struct pw_body		 body;
	bool			 keep_body;
	unsigned int		 needs;		/* of the active policies */
	char			**delrcpts;	/* to remove at EOM */
	size_t			 ndelrcpts;
	struct pw_edit		*edits;		/* in order */
	struct pw_edit		**edits_tail;
	enum pw_verdict		 verdict;
	struct pw_reply		 reply;
	bool			 defer;		/* defer_if_permit */
	struct pw_reply		 defer_reply;
	struct pw_auth		 auth;		/* VERIFY results (auth.h) */
	struct pw_dns_budget	 dns;		/* per message, all policies */
	bool			 dns_ready;	/* dns budget initialized */
	struct pw_comply	 comply;	/* COMPLY results (above) */
	struct pw_sig_out	 signed_out;	/* SIGN results (above) */
	unsigned int		 nprivate[PW_NPRIVATE_HDRS]; /* of each
						   pw_private_hdrs[] seen */
	struct pw_buf		 summary;	/* " key=value" pairs */
	const struct pw_policy	*current;	/* policy now running */
	unsigned int		 active;	/* bit i: policy i runs */
	void			*priv[PW_MAX_POLICIES];
};

struct pw_msg	*pw_msg_new(const struct pw_config *, const struct pw_client *);
void		 pw_msg_free(struct pw_msg **);

/* Envelope and content, copied into the arena. */
void	pw_msg_set_qid(struct pw_msg *, const char *);
void	pw_msg_add_rcpt(struct pw_msg *, const char *);
/* Returns false (and keeps nothing) once max_header_bytes is exceeded. */
bool	pw_msg_add_hdr(struct pw_msg *, const char *name, const char *value);
void	pw_msg_add_body(struct pw_msg *, const unsigned char *, size_t);
/* Calls fn for each piece of the buffered body, in order.  Returns 0, or
   -1 if reading the spill file failed. */
int	pw_msg_body_foreach(struct pw_msg *,
	    int (*fn)(void *ctx, const unsigned char *, size_t), void *ctx);

/* First header with this name (case-insensitive), or NULL; nth_r counts
   occurrences. */
const struct pw_hdr *pw_msg_hdr(const struct pw_msg *, const char *name);
size_t	pw_msg_hdr_count(const struct pw_msg *, const char *name);

/* Strip <> and surrounding space from an envelope address, in the arena. */
const char *pw_msg_strip_angle(struct pw_msg *, const char *);

/* Replies.  A terminal verdict must come with one. */
void	pw_msg_reply(struct pw_msg *, const char *rcode, const char *xcode,
	    const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A temporary error: tempfail at end of message unless something
   rejects (Postfix defer_if_permit). */
void	pw_msg_defer_if_permit(struct pw_msg *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Fold a stage result into the message verdict: returns the verdict the
   stage must act on now.  Panics on a terminal verdict without a reply. */
enum pw_verdict pw_msg_decide(struct pw_msg *, enum pw_verdict);

/* The message's DNS budget (msg->dns), shared by every check: set up at
   first use with the dns_max_queries cap, and given a fresh deadline of
   stage_ms (dns/dns.h PW_DNS_STAGE_MS). */
struct pw_dns_budget *pw_dns_msg_budget(struct pw_msg *, long stage_ms);

/* Add " key=value" to the one summary line logged per message. */
void	pw_msg_summary(struct pw_msg *, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));

/* Header edits: recorded here, applied by milter/ at end of message. */
void	pw_edit_add(struct pw_msg *, const char *name, const char *value);
void	pw_edit_insert(struct pw_msg *, int pos, const char *name,
	    const char *value);
void	pw_edit_change(struct pw_msg *, const char *name, int nth,
	    const char *value);
void	pw_edit_delete(struct pw_msg *, const char *name, int nth);
/* Delete every header with this name (recorded last one first, so that
   indexes do not shift under later deletions: CVE-2022-48521). */
void	pw_edit_delete_all(struct pw_msg *, const char *name);

/* Count a header the MTA reported if it is one of pw_private_hdrs[].
   Called for every header, also those not kept (max_header_bytes). */
void	pw_msg_seen_hdr(struct pw_msg *, const char *name);
/* Record the deletion of every private header seen, last one first (so
   that indexes do not shift: CVE-2022-48521).  Returns how many. */
size_t	pw_msg_strip_private(struct pw_msg *);

/* Remove a recipient at end of message (smfi_delrcpt: no DSN goes to the
   sender; the policy records why).  rcpt is as in msg->rcpts. */
void	pw_msg_delrcpt(struct pw_msg *, const char *rcpt);

/* The headers as they will be after all pending edits, in order;
   arena-owned vector.  The signer signs exactly these. */
size_t	pw_msg_final_hdrs(struct pw_msg *, const struct pw_hdr **vec_r);

#endif
