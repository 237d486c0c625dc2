/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsub - one-click unsubscribe headers on commercial mail
 * (compliance-rules.md R4, R10, R11; RFC 2369, RFC 8058, CASL s.11).
 *
 * A commercial message of an organisation whose unsub_mode is not off
 * must leave with exactly one valid List-Unsubscribe (angle-bracketed
 * URIs, exactly one https, optional mailto, no http) and exactly one
 * "List-Unsubscribe-Post: List-Unsubscribe=One-Click".  Valid headers set
 * by the sender are kept.  Missing or invalid ones are, per the
 * organisation's unsub_invalid:
 *   replace (default)  removed and replaced by ours:
 *       List-Unsubscribe: <BASE/TOKEN>, <mailto:LOCAL+TOKEN@DOMAIN?...>
 *       List-Unsubscribe-Post: List-Unsubscribe=One-Click
 *     where TOKEN (token.h) names the organisation and the recipient, so
 *     the endpoint needs no database row; minted with the organisation's
 *     token_key_id from the key ring in unsubscribe_keys.
 *   reject  550 5.7.1 naming what is wrong.
 * warn logs what enforce would do.
 *
 * RFC 8058 §3.1: the URI "MUST contain enough information to identify the
 * mail recipient", and a header is per message, so a generated header
 * needs exactly one recipient (R4).  The organisation's multi_recipient:
 *   rcpt_limit   452 4.5.3 to the second and later RCPT when the class is
 *                known at MAIL FROM (clients retry them in separate
 *                transactions, RFC 5321 §4.5.3.1.10); when the class is
 *                only known from the headers, or the message comes from
 *                the sendmail command (no reply at RCPT can refuse one
 *                recipient there), it cannot be applied at RCPT, and a
 *                message with several recipients is rejected at end of
 *                message (for the sendmail command, Postfix bounces it to
 *                the sender, who learns why; removing the extra
 *                recipients would lose their copy silently);
 *   reject       550 5.7.1 at end of message;
 *   mailto_only  one per-message mailto-only List-Unsubscribe, no Post
 *                header (no one-click; the unsubscribe mail's sender is
 *                the recipient).
 * Recipients pol_consent removed do not count.
 *
 * The headers are added at end of message, before pol_dkim_sign, which
 * signs (and by default oversigns) both (RFC 8058 §4); pol_audit then
 * refuses to release commercial mail that carries them unsigned (R12).
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "comply.h"
#include "parsers/addrnorm.h"
#include "parsers/unsub_hdr.h"
#include "policy.h"
#include "snapshot.h"

#define LU	"List-Unsubscribe"
#define LUP	"List-Unsubscribe-Post"

struct uns_conf {
	const struct pw_keyring	*ring;	/* the snapshot's; NULL: none */
};

static void
uns_deinit(void *vconf)
{
	free(vconf);
}

/*
 * check_orgs - at load time (and so in postwarden -n), every organisation
 * whose unsubscribe rule is on needs the key ring and a key id that is in
 * it; otherwise each of its commercial messages would get a 451.
 */
static int
check_orgs(const struct pw_services *svc, char **error_r)
{
	struct pw_buf bad = {0};

	for (size_t i = 0; i < pw_orgs_count(svc->orgs); i++) {
		const struct pw_org *o = pw_orgs_nth(svc->orgs, i);

		if (o->mode[PW_RULE_UNSUB] == PW_MODE_OFF)
			continue;
		if (svc->ring == NULL)
			pw_buf_printf(&bad, "%s%s: [org %s] generates unsubscribe "
			    "headers, but unsubscribe_keys is not set",
			    bad.len ? "\n" : "", o->where, o->name);
		else if (o->token_key_id >= 0 &&
			 !pw_keyring_has(svc->ring,
			 (unsigned int)o->token_key_id))
			pw_buf_printf(&bad, "%s%s: [org %s] token_key_id %d is "
			    "not in the key ring %s", bad.len ? "\n" : "",
			    o->where, o->name, o->token_key_id,
			    svc->keys_path);
	}
	if (bad.len == 0)
		return 0;
	*error_r = bad.data;
	return -1;
}

static int
uns_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct pw_services *svc = pw_services(cfg);
	struct uns_conf *c;

	(void)vs;
	/* Without organisations: idle. */
	if (svc->orgs == NULL)
		return 0;
	/* Without a key ring, organisations whose mail needs a generated
	   header get 451 (logged) rather than mail without a working
	   unsubscribe link; check_orgs says so at load time. */
	if (check_orgs(svc, error_r) < 0)
		return -1;
	c = pw_calloc(1, sizeof(*c));
	c->ring = svc->ring;
	*conf_r = c;
	return 0;
}

/* applies - commercial mail of an organisation that wants the headers */
static bool
applies(const struct pw_msg *m)
{
	const struct pw_org *o = m->comply.org;

	return o != NULL && m->comply.class == PW_CLASS_COMMERCIAL &&
	       o->mode[PW_RULE_UNSUB] != PW_MODE_OFF;
}

static enum pw_verdict
uns_rcpt(struct pw_call *call, const char *rcpt)
{
	struct pw_msg *m = call->msg;
	const struct pw_org *o = m->comply.org;
	struct pw_comply_rcpt *r;

	/* m->nrcpts counts the recipients accepted so far.  The sendmail
	   command (msg->nonsmtp) cannot be told 452 for one recipient:
	   Postfix would keep the whole message in its maildrop and retry it
	   forever; the message is decided at end of message instead. */
	if (!applies(m) || !m->comply.class_final || m->nonsmtp ||
	    m->nrcpts == 0 || o->multi_recipient != PW_MULTI_RCPT_LIMIT)
		return PW_DUNNO;
	if (o->mode[PW_RULE_UNSUB] == PW_MODE_WARN) {
		pw_info(m, "unsub: <%s>: second recipient of a commercial "
		    "message (warn: not limited)", rcpt);
		return PW_DUNNO;
	}
	r = pw_comply_rcpt(m, rcpt, true);
	r->action = "tempfail_rcpt";
	r->reason = "commercial: one recipient per message";
	pw_msg_reply(m, "452", "4.5.3", "Too many recipients: %s sends "
	    "commercial mail one recipient per message (personal one-click "
	    "unsubscribe link); send <%s> in another transaction", o->name,
	    rcpt);
	return PW_TEMPFAIL;
}

/* live_rcpt - the one recipient still receiving the message */
static const char *
live_rcpt(const struct pw_msg *m)
{
	for (size_t i = 0; i < m->nrcpts; i++)
		if (!pw_comply_removed(m, m->rcpts[i]))
			return m->rcpts[i];
	return NULL;
}

static void
replace_headers(struct pw_msg *m, const char *lu, const char *post)
{
	pw_edit_delete_all(m, LU);
	pw_edit_delete_all(m, LUP);
	pw_edit_add(m, LU, pw_arena_printf(m->arena, " %s", lu));
	if (post != NULL)
		pw_edit_add(m, LUP, " " PW_UNSUB_POST_VALUE);
}

static enum pw_verdict
internal(struct pw_msg *m, const char *what)
{
	pw_warn(m, "unsub: %s: cannot add List-Unsubscribe: %s",
	    m->comply.org->name, what);
	pw_msg_summary(m, "unsub=error");
	pw_msg_reply(m, "451", "4.3.0", "unsubscribe link could not be "
	    "generated, try again later");
	return PW_TEMPFAIL;
}

/* mailto_only - one per-message mailto header, no one-click (R4) */
static enum pw_verdict
mailto_only(struct pw_msg *m)
{
	const struct pw_org *o = m->comply.org;
	const char *why, *uri, *lu;

	if (o->unsubscribe_mailto == NULL)
		return internal(m, "multi_recipient = mailto_only without "
				   "unsubscribe_mailto");
	if ((uri = pw_unsub_mailto_uri(m->arena, o->unsubscribe_mailto, NULL,
	    &why)) == NULL ||
	    (lu = pw_unsub_build(m->arena, NULL, uri, &why)) == NULL)
		return internal(m, why);
	pw_warn(m, "unsub: %s: %zu recipients: mailto-only List-Unsubscribe, "
	    "one-click unavailable", o->name, pw_comply_live(m));
	replace_headers(m, lu, NULL);
	pw_msg_summary(m, "unsub=mailto-only");
	return PW_DUNNO;
}

/* generate - our headers with a token for the single recipient */
static enum pw_verdict
generate(struct pw_msg *m, const struct uns_conf *c)
{
	const struct pw_org *o = m->comply.org;
	const char *rcpt = live_rcpt(m), *why;
	const char *https, *mailto = NULL, *lu;
	struct pw_comply_rcpt *r;
	char *addr = NULL, *token = NULL, id[17];
	int kid;

	if (rcpt == NULL)
		return PW_DUNNO;
	if (c->ring == NULL)
		return internal(m, "unsubscribe_keys is not set");
	kid = o->token_key_id >= 0 ? o->token_key_id :
				     pw_keyring_latest(c->ring);
	if (kid < 0 || !pw_keyring_has(c->ring, (unsigned int)kid))
		return internal(m, "token_key_id is not in the key ring");
	r = pw_comply_rcpt(m, rcpt, true);
	if (r->addr == NULL) {
		if (pw_addr_normalise(rcpt, strlen(rcpt), &addr, &why) < 0) {
			pw_msg_reply(m, "550", "5.1.3", "<%s>: %s", rcpt, why);
			return PW_REJECT;
		}
		r->addr = pw_arena_strdup(m->arena, addr);
		free(addr);
	}
	/* The token names the message's list: its one-click POST withdraws
	   that list only (unsubd offers "all lists" on its page). */
	if (pw_token_mint(c->ring, (unsigned int)kid, o->name,
	    m->comply.list ? m->comply.list : "", r->addr,
	    time(NULL), &token, id, &why) < 0)
		return internal(m, why);
	https = pw_unsub_https_uri(m->arena, o->unsubscribe_url, token, &why);
	if (https != NULL && o->unsubscribe_mailto != NULL)
		mailto = pw_unsub_mailto_uri(m->arena, o->unsubscribe_mailto,
		    token, &why);
	free(token);
	if (https == NULL || (o->unsubscribe_mailto != NULL && mailto == NULL) ||
	    (lu = pw_unsub_build(m->arena, https, mailto, &why)) == NULL)
		return internal(m, why);
	r->token_id = pw_arena_strdup(m->arena, id);
	replace_headers(m, lu, PW_UNSUB_POST_VALUE);
	pw_msg_summary(m, "unsub=generated token=%s", id);
	return PW_DUNNO;
}

static enum pw_verdict
uns_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const struct pw_org *o = m->comply.org;
	enum pw_unsub_status st;
	const char *why, *what;
	size_t live;

	if (!applies(m))
		return PW_DUNNO;
	if ((st = pw_comply_unsub_status(m, &why)) == PW_UNSUB_VALID) {
		pw_msg_summary(m, "unsub=kept");
		return PW_DUNNO;
	}
	what = st == PW_UNSUB_MISSING ? "no List-Unsubscribe" : why;
	if (o->mode[PW_RULE_UNSUB] == PW_MODE_WARN) {
		pw_info(m, "unsub: %s: %s (warn: not changed)", o->name, what);
		pw_msg_summary(m, "unsub=%s(warn)", st == PW_UNSUB_MISSING ?
		    "missing" : "invalid");
		return PW_DUNNO;
	}
	if (o->unsub_invalid == PW_UNSUB_INVALID_REJECT) {
		pw_msg_summary(m, "unsub=rejected");
		pw_comply_refused(m, "unsubscribe_invalid", 1);
		pw_msg_reply(m, "550", "5.7.1", "commercial mail needs a valid "
		    "List-Unsubscribe with one https URI and "
		    "List-Unsubscribe-Post: " PW_UNSUB_POST_VALUE " (RFC 8058): "
		    "%s", what);
		return PW_REJECT;
	}
	if (st == PW_UNSUB_INVALID)
		pw_info(m, "unsub: %s: %s: replaced", o->name, what);
	if ((live = pw_comply_live(m)) <= 1)
		return generate(m, call->conf);
	if (o->multi_recipient == PW_MULTI_MAILTO_ONLY)
		return mailto_only(m);
	/* rcpt_limit could not act (class only known from the headers, or
	   the sendmail command), or reject: a one-click link must name its
	   one recipient. */
	pw_msg_summary(m, "unsub=rejected(%zu rcpts)", live);
	pw_comply_refused(m, "unsubscribe_multi_recipient", 1);
	pw_msg_reply(m, "550", "5.7.1", "commercial mail must be sent one "
	    "recipient per message (personal one-click unsubscribe link, "
	    "RFC 8058)");
	return PW_REJECT;
}

const struct pw_policy pol_unsub = {
    .name = "unsub",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS,
    .dirs = PW_DIR_OUT,
    .init = uns_init,
    .deinit = uns_deinit,
    .rcpt = uns_rcpt,
    .eom = uns_eom,
};
