/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint_hold - an organisation whose complaint rate reached
 * complaint_rate_hold sends no commercial mail until an administrator
 * releases it (issue 17; the mailbox providers' ceiling is 0.3%).
 *
 * The rate and the hold state come from the snapshot's complaint watcher
 * (compliance/complaint_watch.h): computed by a thread every
 * complaint_rate_interval and at each complaint, kept in the store, read
 * here from memory.  Nothing is computed per message.
 *
 * At end of message, for outbound commercial mail (pol_classify's class)
 * of a held organisation:
 *   complaint_hold_action = tempfail: 451 4.7.1 (the sender's MTA keeps
 *     the message and retries; after the release it goes);
 *   complaint_hold_action = hold: accepted into the MTA's hold queue
 *     (the milter quarantine action: Postfix "postsuper -H" releases
 *     it, "postsuper -d" deletes it); pol_audit records it as
 *     "quarantined".
 * Transactional and other mail of the organisation flows: receipts and
 * password resets are not what recipients complain about, and holding
 * them would hurt the recipients.  An organisation at complaint_rate_warn
 * only gets "complaints=warn" in the summary line (the watcher logs the
 * level once).  Before the store was ever read the state is unknown and
 * commercial mail gets 451 4.3.0, as when the consent store is down.
 *
 * With tempfail, commercial mail whose class is known at MAIL FROM
 * (msg->comply.class_final) gets its 451 at RCPT already, each recipient
 * audited "tempfail_rcpt": a sender retrying a held organisation's mail
 * does not send the body each time.  Otherwise the decision is at end of
 * message, where the class is final.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/complaint_watch.h"
#include "compliance/org.h"
#include "comply.h"
#include "policy.h"
#include "snapshot.h"

struct ch_conf {
	struct pw_cwatch	*watch;		/* the snapshot's */
	enum pw_chold_action	 action;
};

static void
ch_deinit(void *vconf)
{
	free(vconf);
}

static int
ch_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct pw_services *svc = pw_services(cfg);
	struct ch_conf *c;

	(void)vs;
	(void)error_r;
	if (svc->cwatch == NULL)
		return 0;	/* no organisations, no store, or all off */
	c = pw_calloc(1, sizeof(*c));
	c->watch = svc->cwatch;
	c->action = svc->hold_action;
	*conf_r = c;
	return 0;
}

static bool
ch_decides(const void *conf)
{
	(void)conf;
	return false;
}

#define CH_TEXT "commercial mail of %s is held: too many complaints (an " \
	"administrator must release it)"

/* ch_rcpt - a held organisation's commercial mail, tempfail, class known
   now: 451 for this recipient (the MTA then never sends the body) */
static enum pw_verdict
ch_rcpt(struct pw_call *call, const char *rcpt)
{
	const struct ch_conf *c = call->conf;
	struct pw_msg *m = call->msg;
	const struct pw_org *o = m->comply.org;
	struct pw_comply_rcpt *r;
	struct pw_crate_eval e;

	if (o == NULL || m->comply.class != PW_CLASS_COMMERCIAL ||
	    !m->comply.class_final || m->nonsmtp ||
	    c->action != PW_CHOLD_TEMPFAIL ||
	    pw_cwatch_get(c->watch, o->name, &e) == 0 || !e.held)
		return PW_DUNNO;	/* unknown: decided at end of message */
	r = pw_comply_rcpt(m, rcpt, true);
	r->action = "tempfail_rcpt";
	r->reason = pw_arena_printf(m->arena, CH_TEXT, o->name);
	pw_info(m, "complaint_hold: %s is held for its complaint rate: <%s> "
	    "tempfailed", o->name, r->rcpt);
	pw_msg_reply(m, "451", "4.7.1", CH_TEXT, o->name);
	return PW_TEMPFAIL;
}

static enum pw_verdict
ch_eom(struct pw_call *call)
{
	const struct ch_conf *c = call->conf;
	struct pw_msg *m = call->msg;
	const struct pw_org *o = m->comply.org;
	struct pw_crate_eval e;
	char rate[32];

	if (o == NULL || m->comply.class != PW_CLASS_COMMERCIAL)
		return PW_DUNNO;
	if (pw_cwatch_get(c->watch, o->name, &e) == 0) {
		pw_warn(m, "complaint_hold: %s: complaint rates not known yet "
		    "(store): tempfail", o->name);
		pw_msg_summary(m, "complaints=unknown");
		pw_msg_reply(m, "451", "4.3.0", "complaint rate of %s not "
		    "known yet, try again later", o->name);
		return PW_TEMPFAIL;
	}
	pw_crate_format(rate, sizeof(rate), e.complaints, e.delivered);
	if (!e.held) {
		if (e.level == PW_CRATE_WARN)
			pw_msg_summary(m, "complaints=warn(%s)", rate);
		return PW_DUNNO;
	}
	pw_msg_summary(m, "complaints=held(%s)", rate);
	if (c->action == PW_CHOLD_QUARANTINE) {
		pw_info(m, "complaint_hold: %s is held for its complaint rate: "
		    "commercial mail to the hold queue", o->name);
		/* the text is the quarantine reason the MTA logs */
		pw_msg_reply(m, "250", "2.0.0", "postwarden: complaint rate "
		    "hold of %s", o->name);
		return PW_QUARANTINE;
	}
	pw_info(m, "complaint_hold: %s is held for its complaint rate: "
	    "commercial mail tempfailed", o->name);
	pw_msg_reply(m, "451", "4.7.1", CH_TEXT, o->name);
	return PW_TEMPFAIL;
}

const struct pw_policy pol_complaint_hold = {
    .name = "complaint_hold",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS,
    .dirs = PW_DIR_OUT,
    .init = ch_init,
    .deinit = ch_deinit,
    .mail_decides = ch_decides,
    .rcpt = ch_rcpt,
    .eom = ch_eom,
};
