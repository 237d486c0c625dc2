/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * feedback - bounces (RFC 3464 delivery status notifications) for an
 * organisation's mail become suppressions, so that addresses that do not
 * work stop being mailed (issue 17).
 *
 * A DSN reaches us two ways, and this check reads both:
 *   - inbound: another MTA returns a message we sent, to the
 *     organisation's envelope sender (null sender, multipart/report;
 *     report-type=delivery-status);
 *   - Postfix's own bounces of outbound mail, when main.cf says
 *     internal_mail_filter_classes = bounce (they then pass the
 *     non_smtpd_milters, seen here as local mail).
 * So it runs in both directions, and only for the null sender: any other
 * message costs one string compare at MAIL FROM.  The body is kept only
 * for those messages (m->keep_body, set at MAIL FROM).
 *
 * For each recipient whose Action is failed (parsers/dsn.h), the
 * organisation and the address come from, in this order:
 *   1. our unsubscribe token in the returned original's List-Unsubscribe
 *      (verified with unsubscribe_keys; an expired token still names
 *      them): the organisation, and the recipient when the DSN is about
 *      one recipient;
 *   2. the original's headers: the organisation of its From domain;
 *      the recipient is the DSN's Original-Recipient, else its
 *      Final-Recipient;
 *   3. the envelope: the organisation whose envelope sender domain the
 *      bounce is addressed to.
 * A bounce must then match a message we sent (the audit trail, R20): a
 * "delivered" row of that organisation to that recipient with the
 * original's Message-ID, or, when the DSN returns no Message-ID, any
 * such row in the last bounce_match_days days.  A DSN that matches
 * nothing (forged, or about mail we never sent) changes nothing.
 *
 * Hard failures (5.1.x, 5.2.1: dsn.h) suppress the address at once with
 * reason "bounce"; soft failures (4.x.x, 5.2.2...) are recorded and
 * suppress once bounce_soft_limit of them fell within bounce_soft_days
 * (an organisation's own values in the organisations file win).
 * Every failure is a feedback_event row (postwarden-ctl delivery
 * report).  pol_consent then refuses the address like a withdrawn one.
 *
 * The DSN itself is always delivered: the sender may want to read it.  A
 * DSN that cannot be tied to an organisation and a recipient is logged.
 * The store unreachable is 451 4.3.0: the bounce is retried, not lost.
 *
 * Complaints: inbound mail to an organisation's complaints_address (the
 * organisations file) is read as an ARF report (RFC 5965) and recorded
 * as postwarden-ctl complaints import does (compliance/complaint.h: a
 * suppression with reason "complaint").  The body is kept only for such
 * messages (m->keep_body, set at RCPT).  The report is delivered as is;
 * one that is not ARF or names nothing of ours is logged.  A recorded
 * complaint has the complaint rates computed again at once
 * (compliance/complaint_watch.h: the hold does not wait for the next
 * minute).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/complaint.h"
#include "compliance/complaint_watch.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "parsers/addr.h"
#include "parsers/addrnorm.h"
#include "parsers/arf.h"
#include "parsers/dsn.h"
#include "policy.h"
#include "snapshot.h"
#include "store/store.h"

#define FB_MAX_BYTES	(4L << 20)	/* larger "DSNs" are not read */

struct fb_settings {
	bool	bounces;
	long	soft_limit;
	long	soft_days;
	long	match_days;
};

static const struct pw_setting fb_settings_tab[] = {
    PW_SET_BOOL("bounce_processing", "yes", struct fb_settings, bounces),
    PW_SET_INT("bounce_soft_limit", "5", 1, 1000, struct fb_settings,
	soft_limit),
    PW_SET_INT("bounce_soft_days", "7", 1, 365, struct fb_settings,
	soft_days),
    PW_SET_INT("bounce_match_days", "30", 1, 3650, struct fb_settings,
	match_days),
    PW_SET_END,
};

/* One organisation's complaints_address, normalised once at init. */
struct fb_caddr {
	char			*addr;
	const struct pw_org	*org;
};

struct fb_conf {
	bool			 bounces;	/* bounce_processing */
	struct fb_caddr		*caddrs;	/* complaints addresses */
	size_t			 ncaddrs;
	const struct pw_orgs	*orgs;
	const struct pw_keyring	*ring;
	struct pw_store_handle	*store;
	struct pw_cwatch	*cwatch;	/* NULL: rates not watched */
	long			 soft_limit;
	long			 soft_days;
	long			 match_days;
};

struct fb_state {
	bool			 null_sender;
	const struct pw_org	*complaint_to;	/* a complaints_address is a
						   recipient */
};

static void
fb_deinit(void *vconf)
{
	struct fb_conf *c = vconf;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->ncaddrs; i++)
		free(c->caddrs[i].addr);
	free(c->caddrs);
	free(c);
}

/* caddrs_collect - the complaints_address of every organisation */
static int
caddrs_collect(struct fb_conf *c, char **error_r)
{
	size_t n = pw_orgs_count(c->orgs);
	const char *why;

	c->caddrs = pw_calloc(n + 1, sizeof(*c->caddrs));
	for (size_t i = 0; i < n; i++) {
		const struct pw_org *o = pw_orgs_nth(c->orgs, i);
		struct fb_caddr *a = &c->caddrs[c->ncaddrs];

		if (o->complaints_address == NULL)
			continue;
		if (pw_addr_normalise(o->complaints_address,
		    strlen(o->complaints_address), &a->addr, &why) < 0) {
			*error_r = pw_asprintf("%s: organisation \"%s\": "
			    "complaints_address = %s: %s", o->where, o->name,
			    o->complaints_address, why);
			return -1;
		}
		a->org = o;
		c->ncaddrs++;
	}
	return 0;
}

static int
fb_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct fb_settings *s = vs;
	const struct pw_services *svc = pw_services(cfg);
	struct fb_conf *c;

	if (svc->orgs == NULL)
		return 0;	/* nothing is ours to learn about */
	c = pw_calloc(1, sizeof(*c));
	c->orgs = svc->orgs;
	c->bounces = s->bounces;
	if (caddrs_collect(c, error_r) < 0) {
		fb_deinit(c);
		return -1;
	}
	if (!c->bounces && c->ncaddrs == 0) {
		fb_deinit(c);
		return 0;
	}
	if (cfg->core.store == NULL || *cfg->core.store == '\0') {
		*error_r = pw_asprintf("%s: store is empty: bounce processing "
		    "(bounce_processing = yes) and complaints_address record "
		    "suppressions in the store", pw_config_where(cfg, "store"));
		fb_deinit(c);
		return -1;
	}
	c->ring = svc->ring;
	c->store = svc->store;
	c->cwatch = svc->cwatch;
	c->soft_limit = s->soft_limit;
	c->soft_days = s->soft_days;
	c->match_days = s->match_days;
	*conf_r = c;
	return 0;
}

static enum pw_verdict
fb_mail(struct pw_call *call)
{
	struct fb_state *s = call->priv;
	struct pw_msg *m = call->msg;

	/* RFC 3464 §2: DSNs come from the null sender (RFC 5321 §4.5.5). */
	if (((const struct fb_conf *)call->conf)->bounces &&
	    m->env_from != NULL && *m->env_from == '\0') {
		s->null_sender = true;
		m->keep_body = true;
	}
	return PW_DUNNO;
}

/* fb_rcpt - is this inbound recipient an organisation's complaints
   address?  Then keep the body for fb_eom. */
static enum pw_verdict
fb_rcpt(struct pw_call *call, const char *rcpt)
{
	const struct fb_conf *c = call->conf;
	struct fb_state *s = call->priv;
	struct pw_msg *m = call->msg;
	const char *why;
	char *a = NULL;

	if (c->ncaddrs == 0 || m->dir != PW_DIR_IN || s->complaint_to != NULL)
		return PW_DUNNO;
	rcpt = pw_msg_strip_angle(m, rcpt);
	if (pw_addr_normalise(rcpt, strlen(rcpt), &a, &why) < 0)
		return PW_DUNNO;
	for (size_t i = 0; i < c->ncaddrs; i++)
		if (strcmp(c->caddrs[i].addr, a) == 0) {
			s->complaint_to = c->caddrs[i].org;
			m->keep_body = true;
			break;
		}
	free(a);
	return PW_DUNNO;
}

static bool
fb_decides(const void *conf)
{
	(void)conf;
	return false;
}

/* whole - the DSN as one buffer: its headers as received and the body */
static int
append(void *ctx, const unsigned char *p, size_t len)
{
	struct pw_buf *b = ctx;

	if (b->len + len > (size_t)FB_MAX_BYTES)
		return -1;
	pw_buf_add(b, p, len);
	return 0;
}

static int
whole(struct pw_msg *m, struct pw_buf *b)
{
	for (size_t i = 0; i < m->hdrs.n; i++)
		pw_buf_printf(b, "%s:%s\r\n", m->hdrs.v[i].name,
		    m->hdrs.v[i].value);
	pw_buf_puts(b, "\r\n");
	return pw_msg_body_foreach(m, append, b);
}

/* org_from_hdr - the organisation of the original's From domain */
static const struct pw_org *
org_from_hdr(struct pw_msg *m, const struct fb_conf *c, const char *from)
{
	const char **v, *why, *d;
	char *dom = NULL;
	const struct pw_org *o = NULL;

	if (from == NULL ||
	    pw_addr_parse_list(m->arena, from, &v, &why) != 1 ||
	    (d = pw_addr_domain(v[0])) == NULL ||
	    pw_domain_normalise(d, strlen(d), &dom, &why) < 0)
		return NULL;
	o = pw_orgs_by_from(c->orgs, dom);
	free(dom);
	return o;
}

/* org_from_env - the organisation whose envelope sender is a recipient
   of the bounce */
static const struct pw_org *
org_from_env(struct pw_msg *m, const struct fb_conf *c)
{
	for (size_t i = 0; i < m->nrcpts; i++) {
		const char *at = strrchr(m->rcpts[i], '@'), *why;
		const struct pw_org *o;
		char *dom = NULL;

		if (at == NULL || pw_domain_normalise(at + 1, strlen(at + 1),
		    &dom, &why) < 0)
			continue;
		o = pw_orgs_by_envelope(c->orgs, dom);
		free(dom);
		if (o != NULL)
			return o;
	}
	return NULL;
}

/* bare_msgid - "<a@b>" -> "a@b" as the audit rows keep it */
static const char *
bare_msgid(struct pw_msg *m, const char *v)
{
	const char *p, *e;

	if (v == NULL)
		return NULL;
	if ((p = strchr(v, '<')) != NULL && (e = strchr(p, '>')) != NULL)
		return pw_arena_strndup(m->arena, p + 1, (size_t)(e - p - 1));
	return *v ? v : NULL;
}

struct match_ctx {
	const char	*msgid;	/* NULL: any delivered row */
	bool		 found;
};

static int
match_row(const struct pw_audit_row *r, void *arg)
{
	struct match_ctx *x = arg;

	if (r->action == NULL || strcmp(r->action, "delivered") != 0)
		return 0;
	if (x->msgid != NULL && (r->message_id == NULL ||
	    strcmp(r->message_id, x->msgid) != 0))
		return 0;
	x->found = true;
	return 1;	/* stop */
}

/* sent - did we deliver this message to this recipient?  1, 0, -1 */
static int
sent(const struct fb_conf *c, struct pw_store *st, const char *org,
    const char *addr, const char *msgid)
{
	struct pw_audit_filter f = {org, addr, PW_NOTIME, PW_NOTIME};
	struct match_ctx x = {msgid, false};

	if (msgid == NULL)
		f.since = time(NULL) - c->match_days * 86400;
	if (pw_store_audit_list(st, &f, match_row, &x) < 0)
		return -1;
	return x.found;
}

/* suppress - record a suppression for (org, addr) unless one is in
   force; 1 recorded, 0 already, -1 */
static int
suppress(struct pw_msg *m, struct pw_store *st, const char *org,
    const char *addr, const char *token_id)
{
	struct pw_consent_events ev = {0};
	struct pw_consent_result cr;
	struct pw_suppression sup = {0};
	int rc;

	rc = pw_store_consent_check(st, org, addr, NULL, time(NULL), &cr, &ev);
	pw_consent_events_free(&ev);
	if (rc < 0)
		return -1;
	if (rc == 0 && cr.state == PW_CSTATE_WITHDRAWN)
		return 0;
	sup.org = org;
	sup.address = addr;
	sup.list = "";
	sup.reason = "bounce";
	sup.requested_us = pw_now_us();
	sup.requested_at = pw_time_us_sec(sup.requested_us);
	sup.token_id = token_id;
	if (pw_store_suppression_add(st, &sup) < 0)
		return -1;
	pw_info(m, "feedback: org=%s <%s>: suppressed (bounce) "
	    "suppression=%lld", org, addr, (long long)sup.id);
	return 1;
}

/*
 * one - act on one failed recipient.  Returns -1 when the store failed,
 * else 0; *what_r gets the summary word.
 */
static int
one(struct pw_msg *m, const struct fb_conf *c, struct pw_store *st,
    const struct pw_dsn *d, const struct pw_dsn_rcpt *r,
    const struct pw_org *org, const struct pw_token *tok,
    const char **what_r)
{
	const char *raw, *why, *msgid = bare_msgid(m, d->orig.message_id);
	const char *kind = r->kind == PW_DSN_HARD ? "bounce_hard" :
	    "bounce_soft";
	struct pw_feedback_row fr = {0};
	char *addr = NULL;
	int64_t n = 0;
	long limit = org->bounce_soft_limit > 0 ? org->bounce_soft_limit :
	    c->soft_limit;
	long days = org->bounce_soft_days > 0 ? org->bounce_soft_days :
	    c->soft_days;
	int rc;

	/* the token names the recipient of a one-recipient message */
	if (tok != NULL && d->n == 1)
		raw = tok->rcpt;
	else
		raw = r->original_rcpt ? r->original_rcpt : r->final_rcpt;
	if (pw_addr_normalise(raw, strlen(raw), &addr, &why) < 0) {
		pw_info(m, "feedback: <%s>: unusable address: %s", raw, why);
		*what_r = "unusable";
		return 0;
	}
	if ((rc = sent(c, st, org->name, addr, msgid)) <= 0) {
		free(addr);
		if (rc < 0)
			return -1;
		pw_log(LOG_NOTICE, m, "feedback: org=%s <%s> status=%s: no matching "
		    "message in the audit trail (message-id %s): ignored",
		    org->name, raw, r->status, msgid ? msgid : "none");
		*what_r = "unmatched";
		return 0;
	}
	fr.time_us = pw_now_us();
	fr.time = pw_time_us_sec(fr.time_us);
	fr.org = org->name;
	fr.address = addr;
	fr.kind = kind;
	fr.status = r->status;
	fr.message_id = msgid;
	fr.source = "dsn";
	if (pw_store_feedback_add(st, &fr) < 0) {
		free(addr);
		return -1;
	}
	if (r->kind == PW_DSN_SOFT) {
		rc = pw_store_feedback_count(st, org->name, addr, kind,
		    fr.time - days * 86400, &n);
		if (rc < 0) {
			free(addr);
			return -1;
		}
		pw_info(m, "feedback: org=%s <%s> status=%s: soft bounce "
		    "%lld of %ld in %ld days", org->name, addr, r->status,
		    (long long)n, limit, days);
		*what_r = "soft";
		if (n < limit) {
			free(addr);
			return 0;
		}
	} else {
		pw_info(m, "feedback: org=%s <%s> status=%s: hard bounce%s%s",
		    org->name, addr, r->status, r->diag ? ": " : "",
		    r->diag ? r->diag : "");
		*what_r = "hard";
	}
	rc = suppress(m, st, org->name, addr, tok ? tok->id : NULL);
	if (rc > 0)
		*what_r = r->kind == PW_DSN_SOFT ? "soft+suppressed" :
		    "hard+suppressed";
	free(addr);
	return rc < 0 ? -1 : 0;
}

/* complaint - an ARF report to a complaints_address */
static enum pw_verdict
complaint(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct fb_state *s = call->priv;
	const struct fb_conf *c = call->conf;
	struct pw_complaint_result res;
	struct pw_buf b = {0};
	struct pw_store *st;
	struct pw_arf a;
	const char *why = NULL;
	int rc;

	memset(&a, 0, sizeof(a));
	if (whole(m, &b) < 0) {
		pw_buf_free(&b);
		pw_info(m, "feedback: complaint to %s: body not readable or "
		    "over %ld bytes: not read", s->complaint_to->name,
		    FB_MAX_BYTES);
		return PW_DUNNO;
	}
	rc = pw_arf_parse(b.data, b.len, &a, &why);
	pw_buf_free(&b);
	if (rc <= 0) {
		pw_info(m, "feedback: mail to %s's complaints address is not "
		    "an ARF report%s%s: delivered as is",
		    s->complaint_to->name, rc < 0 ? ": " : "",
		    rc < 0 ? why : "");
		pw_msg_summary(m, "arf=%s", rc < 0 ? "malformed" : "none");
		pw_arf_free(&a);
		return PW_DUNNO;
	}
	if ((st = pw_store_handle_get(c->store, m)) == NULL ||
	    pw_complaint_record(c->orgs, c->ring, st, &a, "arf", &res) ==
	    PW_COMPLAINT_FAIL) {
		pw_arf_free(&a);
		pw_warn(m, "feedback: store: %s", pw_store_strerror());
		pw_msg_reply(m, "451", "4.3.0", "complaint could not be "
		    "recorded, try again later");
		return PW_TEMPFAIL;
	}
	if (res.outcome == PW_COMPLAINT_SUPPRESSED ||
	    res.outcome == PW_COMPLAINT_ALREADY)
		pw_cwatch_poke(c->cwatch);
	pw_info(m, "feedback: complaint (%s) org=%s <%s> from %s: %s",
	    a.feedback_type, res.org ? res.org->name : "-",
	    res.addr[0] ? res.addr : "-", res.how ? res.how : "-",
	    pw_complaint_outcome_name(res.outcome));
	pw_msg_summary(m, "arf=%s(%s,%s)",
	    res.outcome == PW_COMPLAINT_SUPPRESSED ? "suppressed" :
	    res.outcome == PW_COMPLAINT_ALREADY ? "already" :
	    res.outcome == PW_COMPLAINT_IGNORED ? "ignored" :
	    res.outcome == PW_COMPLAINT_UNMATCHED ? "unmatched" : "unknown",
	    res.org ? res.org->name : "-", res.how ? res.how : "-");
	pw_arf_free(&a);
	return PW_DUNNO;
}

static enum pw_verdict
fb_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct fb_state *s = call->priv;
	const struct fb_conf *c = call->conf;
	const struct pw_org *org = NULL;
	struct pw_token tok;
	bool have_tok = false;
	struct pw_buf b = {0};
	struct pw_store *st = NULL;
	struct pw_dsn d;
	const char *why = NULL, *how = NULL;
	enum pw_verdict v = PW_DUNNO;
	int rc;

	/* an ARF report may come from the null sender too */
	if (s->complaint_to != NULL)
		return complaint(call);
	if (!s->null_sender)
		return PW_DUNNO;
	memset(&d, 0, sizeof(d));
	memset(&tok, 0, sizeof(tok));
	if (whole(m, &b) < 0) {
		pw_info(m, "feedback: null sender, body not readable or over "
		    "%ld bytes: not read", FB_MAX_BYTES);
		pw_buf_free(&b);
		return PW_DUNNO;
	}
	rc = pw_dsn_parse(b.data, b.len, &d, &why);
	pw_buf_free(&b);
	if (rc == 0)
		return PW_DUNNO;	/* a null-sender message, not a DSN */
	if (rc < 0) {
		pw_info(m, "feedback: malformed DSN (%s): delivered as is",
		    why);
		pw_msg_summary(m, "dsn=malformed");
		return PW_DUNNO;
	}
	if (pw_unsub_token_find(c->ring, d.orig.list_unsubscribe, &tok)) {
		have_tok = true;
		org = pw_orgs_by_name(c->orgs, tok.org);
		how = "token";
	}
	if (org == NULL && (org = org_from_hdr(m, c, d.orig.from)) != NULL)
		how = "from";
	if (org == NULL && (org = org_from_env(m, c)) != NULL)
		how = "envelope";
	if (org == NULL) {
		pw_info(m, "feedback: DSN for %zu recipient(s) (first <%s> "
		    "%s): no organisation: delivered as is", d.n,
		    d.v[0].final_rcpt, d.v[0].status ? d.v[0].status : "-");
		pw_msg_summary(m, "dsn=unknown_org");
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		const char *what = NULL;

		if (d.v[i].kind == PW_DSN_OTHER) {
			if (d.v[i].action != NULL &&
			    strcmp(d.v[i].action, "failed") == 0)
				pw_info(m, "feedback: org=%s <%s> status=%s: "
				    "not about the address: nothing recorded",
				    org->name, d.v[i].final_rcpt,
				    d.v[i].status ? d.v[i].status : "-");
			continue;
		}
		if (st == NULL && (st = pw_store_handle_get(c->store, m)) ==
		    NULL)
			goto fail;
		if (one(m, c, st, &d, &d.v[i], org, have_tok ? &tok : NULL,
		    &what) < 0)
			goto fail;
		pw_msg_summary(m, "dsn=%s(%s,%s,%s)", what, org->name, how,
		    d.v[i].status);
	}
	goto out;
fail:
	pw_warn(m, "feedback: store: %s", pw_store_strerror());
	pw_msg_reply(m, "451", "4.3.0", "bounce could not be recorded, try "
	    "again later");
	v = PW_TEMPFAIL;
out:
	if (have_tok)
		pw_token_clear(&tok);
	pw_dsn_free(&d);
	return v;
}

const struct pw_policy pol_feedback = {
    .name = "feedback",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS | PW_NEED_BODY,
    .dirs = PW_DIR_IN | PW_DIR_OUT,
    .msg_state_size = sizeof(struct fb_state),
    .settings = fb_settings_tab,
    .settings_size = sizeof(struct fb_settings),
    .init = fb_init,
    .deinit = fb_deinit,
    .mail_decides = fb_decides,
    .mail = fb_mail,
    .rcpt = fb_rcpt,
    .eom = fb_eom,
};
