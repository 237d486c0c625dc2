/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * consent - consent on record for every recipient of commercial mail
 * (compliance-rules.md R5; CASL s.6(1)(a), s.10, s.13).
 *
 * For each recipient of a message pol_classify found commercial, the
 * store (store.h) gives the current state of (organisation, normalised
 * address, list) for the message's list (msg->comply.list: List-Id or a
 * trusted Postwarden-List; none: mail on no particular list): express,
 * or implied and not expired, passes; nothing on record, expired, or
 * withdrawn/suppressed (which always wins until a later express consent,
 * consent.h) does not.  Consent or a withdrawal recorded without a list
 * covers every list of the organisation; one recorded for a list covers
 * that list only (and not mail on no list).
 * Transactional and other mail needs no consent (it is still audited).
 *
 * When the organisation's consent_mode is enforce:
 *   - class known at MAIL FROM (msg->comply.class_final) and
 *     missing_consent = refuse_at_rcpt: 550 5.7.1 at RCPT for that
 *     recipient only, when no consent holds for any list (the message's
 *     list is only known at end of headers; a recipient with consent
 *     for some list, or withdrawn from one list, is decided at end of
 *     message); the text says which: "<addr>: no consent on record
 *     for ORG", "<addr>: consent for ORG expired on YYYY-MM-DD" or
 *     "<addr>: consent for ORG withdrawn on YYYY-MM-DD";
 *   - otherwise at end of message: drop_at_eom (and refuse_at_rcpt when
 *     the class was only known from headers, or when the message came
 *     from the sendmail command, msg->nonsmtp, where the MTA cannot
 *     refuse one recipient) removes the recipient (smfi_delrcpt) and
 *     pol_audit records it as "removed"; reject_message rejects the
 *     whole message;
 *   - every recipient refused: the message is rejected (550 5.7.1; for
 *     the sendmail command Postfix bounces it to the sender).
 * warn logs what enforce would do.  The store unreachable, unreadable or
 * locked past its busy timeout is 451 4.3.0 (at RCPT for that recipient,
 * else for the message): commercial mail never passes unchecked.
 *
 * The decision of each recipient (state, basis event id, type, expiry,
 * reason) goes to msg->comply.rcpts for pol_audit (R20).  The store is
 * opened at first use and shared by all threads (store_sqlite keeps a
 * connection pool).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "comply.h"
#include "parsers/addrnorm.h"
#include "policy.h"
#include "snapshot.h"
#include "store/store.h"

struct cns_conf {
	struct pw_store_handle	*store;	/* the snapshot's */
};

static void
cns_deinit(void *vconf)
{
	struct cns_conf *c = vconf;

	if (c == NULL)
		return;
	free(c);
}

static int
cns_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	struct cns_conf *c;

	(void)vs;
	/* Without organisations (pol_classify's key) nothing is commercial:
	   idle.  The key is unset when pw_config_where() names no line. */
	if (pw_services(cfg)->orgs == NULL)
		return 0;
	if (cfg->core.store == NULL || *cfg->core.store == '\0') {
		*error_r = pw_asprintf("%s: store is empty: consent checks of "
		    "commercial mail need a store",
		    pw_config_where(cfg, "store"));
		return -1;
	}
	c = pw_calloc(1, sizeof(*c));
	c->store = pw_services(cfg)->store;
	*conf_r = c;
	return 0;
}

/* applies - is this a message whose recipients need consent? */
static bool
applies(const struct pw_msg *m)
{
	const struct pw_org *o = m->comply.org;

	return o != NULL && m->comply.class == PW_CLASS_COMMERCIAL &&
	       o->mode[PW_RULE_CONSENT] != PW_MODE_OFF;
}

/* whose - "ORG", or "ORG list L" for mail on a list */
static const char *
whose(struct pw_msg *m)
{
	if (m->comply.list == NULL)
		return m->comply.org->name;
	return pw_arena_printf(m->arena, "%s list %s", m->comply.org->name,
	    m->comply.list);
}

/* record - copy a consent result into the recipient's record */
static void
record(struct pw_msg *m, struct pw_comply_rcpt *r,
    const struct pw_consent_result *res, int rc)
{
	const struct pw_consent_event *b = res->basis;
	char date[21];

	r->consent = pw_consent_state_name(res->state);
	if (b != NULL) {
		r->basis_id = b->id;
		r->basis_type = pw_consent_type_name(b->type);
		r->basis_expires = res->valid_until != PW_NOTIME ?
		    res->valid_until : pw_consent_expiry(b);
	}
	if (rc == 1)
		return;
	switch (res->state) {
	case PW_CSTATE_EXPIRED:
		r->reason = pw_arena_printf(m->arena, "%s consent expired %s",
		    b ? pw_consent_type_name(b->type) : "implied",
		    pw_date_format(r->basis_expires, date));
		/* Expiry is exclusive at 00:00Z of that day (consent.h). */
		r->refusal = pw_arena_printf(m->arena, "consent for %s "
		    "expired on %.10s", whose(m), date);
		break;
	case PW_CSTATE_WITHDRAWN:
		/* A negative id is a suppression (store.h). */
		r->reason = pw_arena_printf(m->arena, "%s %s",
		    b && b->id < 0 ? "suppressed" : "consent withdrawn",
		    b ? pw_date_format(b->obtained_at, date) : "");
		r->refusal = pw_arena_printf(m->arena, "consent for %s "
		    "withdrawn%s%.10s", whose(m), b ? " on " : "",
		    b ? date : "");
		break;
	default:
		r->reason = "no consent on record";
		break;
	}
}

/* refusal - what the sender is told about one recipient */
static const char *
refusal(struct pw_msg *m, const struct pw_comply_rcpt *r)
{
	/* Nothing on record, or an address nothing can be on record for. */
	if (r->refusal == NULL)
		return pw_arena_printf(m->arena, "no consent on record for %s",
		    whose(m));
	return r->refusal;
}

/* some_list - does consent hold for some list of the organisation?  At
   RCPT the message's list is not known yet (headers come later). */
static bool
some_list(const struct pw_consent_events *ev, time_t now)
{
	struct pw_consent_result res;

	for (size_t i = 0; i < ev->n; i++) {
		if (ev->v[i].list == NULL || ev->v[i].list[0] == '\0')
			continue;
		pw_consent_evaluate(ev->v, ev->n, ev->v[i].list, now, &res);
		if (res.state == PW_CSTATE_EXPRESS ||
		    res.state == PW_CSTATE_IMPLIED)
			return true;
	}
	return false;
}

/*
 * why_suppressed - a suppression the feedback loop recorded (pol_feedback:
 * the address bounced; a complaint) says so in the refusal, so that the
 * sender knows the address itself is the problem.  Only refusals pay for
 * the lookup; a failed one leaves the plain text.
 */
static void
why_suppressed(struct pw_msg *m, struct pw_store *st, struct pw_comply_rcpt *r,
    const struct pw_consent_result *res)
{
	const char *what = NULL;
	char *reason = NULL;

	if (res->state != PW_CSTATE_WITHDRAWN || res->basis == NULL ||
	    res->basis->id >= 0 ||
	    pw_store_suppression_reason(st, -res->basis->id, &reason) != 1)
		return;
	if (strcmp(reason, "bounce") == 0)
		what = "the address bounced";
	else if (strcmp(reason, "complaint") == 0)
		what = "the recipient complained";
	if (what != NULL) {
		r->reason = pw_arena_printf(m->arena, "%s (%s)", r->reason,
		    reason);
		r->refusal = pw_arena_printf(m->arena, "%s: %s", r->refusal,
		    what);
	}
	free(reason);
}

/*
 * check - look up one recipient: 1 consent holds, 0 it does not (reason
 * in r), -1 the store cannot answer now.
 */
static int
check(struct pw_msg *m, struct cns_conf *c, struct pw_comply_rcpt *r,
    bool *some_list_r)
{
	struct pw_consent_events ev = {0};
	struct pw_consent_result res;
	struct pw_store *st;
	const char *why;
	char *addr;
	int rc;

	if (r->addr == NULL) {
		if (pw_addr_normalise(r->rcpt, strlen(r->rcpt), &addr,
		    &why) < 0) {
			/* Nothing can be on record for it. */
			r->consent = pw_consent_state_name(PW_CSTATE_NONE);
			r->reason = pw_arena_printf(m->arena, "address not "
			    "usable: %s", why);
			return 0;
		}
		r->addr = pw_arena_strdup(m->arena, addr);
		free(addr);
	}
	if ((st = pw_store_handle_get(c->store, m)) == NULL)
		return -1;
	/* A second look (end of message, on a list) starts afresh. */
	r->consent = NULL;
	r->reason = r->refusal = NULL;
	r->basis_id = 0;
	r->basis_type = NULL;
	r->basis_expires = 0;
	rc = pw_store_consent_check(st, m->comply.org->name, r->addr,
	    m->comply.list, time(NULL), &res, &ev);
	if (rc >= 0)
		record(m, r, &res, rc);
	if (rc == 0) {
		why_suppressed(m, st, r, &res);
		if (some_list_r != NULL)
			*some_list_r = some_list(&ev, time(NULL));
	}
	if (rc < 0)
		pw_warn(m, "consent: store: %s", pw_store_strerror());
	pw_consent_events_free(&ev);
	return rc;
}

static void
store_down(struct pw_msg *m)
{
	/* R5: never fail open for commercial mail. */
	pw_msg_reply(m, "451", "4.3.0", "consent records unavailable, try "
	    "again later");
	pw_msg_summary(m, "consent=tempfail");
}

/* refused - count one recipient refused or removed for lack of consent */
static void
refused(struct pw_msg *m, const struct pw_comply_rcpt *r, size_t n)
{
	char reason[40];

	snprintf(reason, sizeof(reason), "consent_%s", r->consent ?
	    r->consent : "none");
	pw_comply_refused(m, reason, n);
}

static enum pw_verdict
cns_rcpt(struct pw_call *call, const char *rcpt)
{
	struct pw_msg *m = call->msg;
	const struct pw_org *o = m->comply.org;
	struct pw_comply_rcpt *r;
	bool some = false;
	int rc;

	/* Only a class that cannot change any more allows a decision per
	   recipient now (§5.1), and only where the MTA can refuse one
	   recipient (not the sendmail command): the rest is decided at end
	   of message. */
	if (!applies(m) || !m->comply.class_final || m->nonsmtp)
		return PW_DUNNO;
	r = pw_comply_rcpt(m, rcpt, true);
	r->consent = NULL;
	r->reason = NULL;
	r->refusal = NULL;
	r->action = NULL;
	if ((rc = check(m, call->conf, r, &some)) < 0) {
		r->action = "tempfail_rcpt";
		store_down(m);
		return PW_TEMPFAIL;
	}
	/* Consent for one list only depends on the message's list (List-Id,
	   known at end of headers): decided at end of message, which looks
	   again at every recipient of mail on a list. */
	if (rc == 1 || some)
		return PW_DUNNO;
	if (o->mode[PW_RULE_CONSENT] == PW_MODE_WARN) {
		pw_info(m, "consent: <%s>: %s for %s (warn: not refused)",
		    rcpt, r->reason, o->name);
		return PW_DUNNO;
	}
	if (o->missing_consent != PW_NOCONSENT_REFUSE_AT_RCPT)
		return PW_DUNNO;	/* removed or rejected at EOM */
	r->action = "refused_rcpt";
	refused(m, r, 1);
	pw_info(m, "consent: <%s>: %s for %s: refused", rcpt, r->reason,
	    o->name);
	pw_msg_reply(m, "550", "5.7.1", "<%s>: %s", rcpt, refusal(m, r));
	return PW_REJECT;
}

/* refuse_at_eom - act on the recipients without consent */
static enum pw_verdict
refuse_at_eom(struct pw_msg *m, struct pw_comply_rcpt **bad, size_t nbad)
{
	const struct pw_org *o = m->comply.org;

	for (size_t i = 0; i < nbad; i++)
		pw_info(m, "consent: <%s>: %s for %s%s", bad[i]->rcpt,
		    bad[i]->reason, o->name,
		    o->mode[PW_RULE_CONSENT] == PW_MODE_WARN ?
			" (warn: not refused)" : "");
	if (o->mode[PW_RULE_CONSENT] == PW_MODE_WARN) {
		pw_msg_summary(m, "consent=missing(warn):%zu", nbad);
		return PW_DUNNO;
	}
	if (nbad == m->nrcpts || o->missing_consent == PW_NOCONSENT_REJECT) {
		pw_msg_summary(m, "consent=refused:%zu/%zu", nbad, m->nrcpts);
		for (size_t i = 0; i < nbad; i++)
			refused(m, bad[i], 1);
		if (nbad == 1 || nbad < m->nrcpts)
			pw_msg_reply(m, "550", "5.7.1", "<%s>: %s%s",
			    bad[0]->rcpt, refusal(m, bad[0]),
			    nbad > 1 ? " (and other recipients)" : "");
		else
			pw_msg_reply(m, "550", "5.7.1", "no valid consent for "
			    "%s for any of the %zu recipients", o->name, nbad);
		return PW_REJECT;
	}
	/* drop_at_eom, and refuse_at_rcpt when the class came from headers
	   or the sendmail command submitted the message */
	for (size_t i = 0; i < nbad; i++) {
		pw_msg_delrcpt(m, bad[i]->rcpt);
		bad[i]->action = "removed";
		refused(m, bad[i], 1);
	}
	pw_msg_summary(m, "consent=removed:%zu/%zu", nbad, m->nrcpts);
	return PW_DUNNO;
}

static enum pw_verdict
cns_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct pw_comply_rcpt **bad;
	enum pw_verdict v;
	size_t nbad = 0;

	if (!applies(m) || m->nrcpts == 0)
		return PW_DUNNO;
	bad = pw_arena_alloc(m->arena, m->nrcpts * sizeof(*bad));
	for (size_t i = 0; i < m->nrcpts; i++) {
		struct pw_comply_rcpt *r = pw_comply_rcpt(m, m->rcpts[i], true);

		/* Decided at RCPT (warn, or left for EOM): the same answer,
		   unless the message is on a list, which RCPT did not know
		   (a withdrawal from that list, or consent for it only). */
		if ((r->consent == NULL || (m->comply.list != NULL &&
		    r->action == NULL)) && check(m, call->conf, r, NULL) < 0) {
			store_down(m);
			return PW_TEMPFAIL;
		}
		if (r->reason != NULL)
			bad[nbad++] = r;
	}
	if (nbad == 0) {
		pw_msg_summary(m, "consent=ok:%zu", m->nrcpts);
		return PW_DUNNO;
	}
	v = refuse_at_eom(m, bad, nbad);
	return v;
}

const struct pw_policy pol_consent = {
    .name = "consent",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS,
    .dirs = PW_DIR_OUT,
    .init = cns_init,
    .deinit = cns_deinit,
    .rcpt = cns_rcpt,
    .eom = cns_eom,
};
