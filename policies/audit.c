/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * audit - the evidence row per (message, recipient) of an organisation's
 * outbound mail (compliance-rules.md R20; CASL s.13, CRTC 2016 advisory
 * on consent records), and the last check before commercial mail leaves:
 * it must carry a DKIM signature (R12; RFC 8058 §4).
 *
 * Registered in PW_PHASE_SIGN after pol_dkim_sign, so that it sees what
 * was signed (msg->signed_out: d=, s=) and runs after every decision of
 * the COMPLY phase (msg->comply.rcpts: consent basis, refusal reason,
 * token id).
 *
 * At end of message, for mail that will be accepted:
 *   - commercial mail of an organisation with unsub_mode = enforce that
 *     no key signed (no SigningTable match, a key error with
 *     on_internal_error = accept, headers over max_header_bytes) gets
 *     451 4.7.1: a one-click header without a signature that covers it is
 *     one mailbox providers ignore (RFC 8058 §4), and it must not be
 *     released that way; warn logs it;
 *   - one row per recipient ("delivered", or "removed" for those
 *     pol_consent removed) plus one per recipient refused at RCPT
 *     ("refused_rcpt", "tempfail_rcpt"), appended to the store's
 *     hash-chained audit table.  A row that cannot be written tempfails
 *     commercial mail (451 4.3.0: without it the sender cannot prove
 *     consent, s.13); for other classes it is logged and mail flows.
 * A message that ends otherwise (rejected or tempfailed by any policy,
 * aborted by the client, every recipient refused at RCPT) gets its rows
 * in cleanup, with that action and the reply text as reason; a failure
 * there can only be logged.
 *
 * A failure in the middle of a message's rows leaves the rows before it
 * in the chain; the message is then tempfailed and cleanup appends
 * "tempfailed" rows for the same queue id, which supersede them.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/org.h"
#include "comply.h"
#include "policy.h"
#include "snapshot.h"
#include "store/store.h"

struct aud_conf {
	struct pw_store_handle	*store;	/* the snapshot's */
};

static void
aud_deinit(void *vconf)
{
	struct aud_conf *c = vconf;

	if (c == NULL)
		return;
	free(c);
}

static int
aud_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	struct aud_conf *c;

	(void)vs;
	(void)error_r;
	/* Without organisations (pol_classify's key): idle.  An empty store
	   is refused by pol_consent. */
	if (pw_services(cfg)->orgs == NULL ||
	    cfg->core.store == NULL || *cfg->core.store == '\0')
		return 0;
	c = pw_calloc(1, sizeof(*c));
	c->store = pw_services(cfg)->store;
	*conf_r = c;
	return 0;
}

/* write_one - one row; 0 or -1 */
static int
write_one(struct pw_msg *m, struct pw_store *st,
    const struct pw_comply_rcpt *r, const char *rcpt, const char *action,
    const char *reason, pw_time_us now)
{
	struct pw_audit_row row;

	pw_comply_audit_row(m, r, rcpt, pw_time_us_sec(now), &row);
	row.time_us = now;
	if (row.action == NULL)
		row.action = action;
	if (row.reason == NULL)
		row.reason = reason;
	if (st == NULL || pw_store_audit_append(st, &row) < 0) {
		pw_warn(m, "audit: <%s> %s: row not written: %s", rcpt,
		    row.action, st ? pw_store_strerror() : "no store");
		return -1;
	}
	return 0;
}

/*
 * write_rows - a row for every recipient accepted at RCPT (action for
 * those without their own) and every one refused there.  Returns the
 * number of rows that could not be written.
 */
static size_t
write_rows(struct pw_msg *m, struct aud_conf *c, const char *action,
    const char *reason)
{
	struct pw_store *st = pw_store_handle_get(c->store, m);
	pw_time_us now = pw_now_us();	/* one time for the message's rows */
	size_t bad = 0;

	for (size_t i = 0; i < m->nrcpts; i++) {
		const struct pw_comply_rcpt *r =
		    pw_comply_rcpt(m, m->rcpts[i], false);

		bad += write_one(m, st, r, m->rcpts[i], action, reason,
		    now) < 0;
	}
	/* Records of recipients that never made it into m->rcpts. */
	for (size_t i = 0; i < m->comply.nrcpts; i++) {
		const struct pw_comply_rcpt *r = &m->comply.rcpts[i];
		bool accepted = false;

		for (size_t j = 0; j < m->nrcpts && !accepted; j++)
			accepted = strcmp(m->rcpts[j], r->rcpt) == 0;
		if (!accepted)
			bad += write_one(m, st, r, r->rcpt, "refused_rcpt",
			    NULL, now) < 0;
	}
	return bad;
}

/* unsigned_commercial - R12: never release it unsigned */
static enum pw_verdict
unsigned_commercial(struct pw_msg *m)
{
	const struct pw_org *o = m->comply.org;

	if (m->comply.class != PW_CLASS_COMMERCIAL ||
	    o->mode[PW_RULE_UNSUB] == PW_MODE_OFF || m->signed_out.n > 0)
		return PW_DUNNO;
	if (o->mode[PW_RULE_UNSUB] == PW_MODE_WARN) {
		pw_info(m, "audit: %s: commercial mail not DKIM-signed (warn: "
		    "released)", o->name);
		return PW_DUNNO;
	}
	pw_warn(m, "audit: %s: commercial mail not DKIM-signed: tempfail "
	    "(check the SigningTable and keys)", o->name);
	pw_msg_summary(m, "audit=unsigned");
	pw_msg_reply(m, "451", "4.7.1", "commercial mail could not be "
	    "DKIM-signed, try again later");
	return PW_TEMPFAIL;
}

static enum pw_verdict
aud_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	enum pw_verdict v;
	size_t bad;

	if (m->comply.org == NULL)
		return PW_DUNNO;
	if ((v = unsigned_commercial(m)) != PW_DUNNO)
		return v;
	/* A pending defer_if_permit tempfails the message after this
	   stage: cleanup writes its rows as such. */
	if (m->defer)
		return PW_DUNNO;
	bad = write_rows(m, call->conf, m->verdict == PW_QUARANTINE ?
	    "quarantined" : "delivered", NULL);
	if (bad == 0) {
		m->comply.audited = true;
		pw_msg_summary(m, "audit=ok");
		return PW_DUNNO;
	}
	pw_msg_summary(m, "audit=failed:%zu", bad);
	if (m->comply.class != PW_CLASS_COMMERCIAL) {
		/* Delivered all the same: cleanup must not record it as
		   anything else. */
		m->comply.audited = true;
		return PW_DUNNO;
	}
	pw_msg_reply(m, "451", "4.3.0", "audit record could not be written, "
	    "try again later");
	return PW_TEMPFAIL;
}

static void
aud_cleanup(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const char *action;

	if (m->comply.org == NULL || m->comply.audited || call->conf == NULL ||
	    (m->nrcpts == 0 && m->comply.nrcpts == 0))
		return;
	switch (m->verdict) {
	case PW_REJECT:
		action = "rejected";
		break;
	case PW_TEMPFAIL:
		action = "tempfailed";
		break;
	case PW_DISCARD:
		action = "discarded";
		break;
	case PW_ACCEPT:
		action = "delivered";	/* accepted early by a policy */
		break;
	default:
		action = m->defer ? "tempfailed" : "aborted";
		break;
	}
	m->comply.audited = true;
	(void)write_rows(m, call->conf, action,
	    m->verdict >= PW_TEMPFAIL ? m->reply.text :
	    m->defer ? m->defer_reply.text : NULL);
}

const struct pw_policy pol_audit = {
    .name = "audit",
    .phase = PW_PHASE_SIGN,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS,
    .dirs = PW_DIR_OUT,
    .init = aud_init,
    .deinit = aud_deinit,
    .eom = aud_eom,
    .cleanup = aud_cleanup,
};
