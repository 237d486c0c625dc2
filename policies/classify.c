/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * classify - which organisation sends an outbound message, and its class
 * (compliance-rules.md R1, R2, R3).  First of the COMPLY phase: the later
 * compliance policies read the result in msg->comply.
 *
 * Organisation (org.h): by SASL login or envelope sender at MAIL FROM, by
 * the From domain at end of headers.  Mail that matches no organisation
 * follows organisations_unmatched (default: pass, logged as org=none).
 *
 * Class, in decreasing trust (§5.2):
 *   1. "Postwarden-Class: commercial | transactional | other" set by the
 *      organisation's own submitters: matched by SASL login, or submitting
 *      from internal_hosts or the local sendmail command without another
 *      SASL identity.  Ignored from anyone else and when the organisation
 *      sets class_header_mode = off.  Always removed before the message
 *      leaves: it is an instruction to us, not to the recipient.  The
 *      glue removes it from every message, in both directions
 *      (pw_msg_strip_private, msg.h); here it is only read and logged.
 *   2. The organisation's default_class.
 *   3. Bulk signals (List-Unsubscribe, List-Id, Precedence: bulk...), which
 *      can only make mail commercial, never exempt it (CASL s.1(2): "one
 *      of its purposes").  A transactional or other label on mail with
 *      bulk signals is logged as mislabelled (R3); a label from the header
 *      stands unless class_header_mode = enforce.
 * The class is final at MAIL FROM when nothing later can change it
 * (commercial by default, no trusted header possible): only then may
 * later policies decide per recipient at RCPT (§5.1).
 *
 * Tenant binding (sender_binding, per organisation): the envelope sender
 * and every From and Sender address of mail from the organisation's SASL
 * logins (and, with sender_binding_internal = yes, from internal hosts
 * without SASL) must be its own (pw_org_may_send_as); otherwise 550 5.7.1
 * naming the identity (enforce) or a warning (warn).  Such mail never
 * gets its class from the header.  pol_dkim_sign does the other half: a
 * key of a domain an organisation owns signs only that organisation's
 * mail.  organisations_unknown_sasl = reject refuses, at MAIL FROM, SASL
 * logins that no organisation lists.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/org.h"
#include "comply.h"
#include "parsers/addr.h"
#include "policy.h"
#include "snapshot.h"

#define CLASS_HDR	"Postwarden-Class"
#define LIST_HDR	"Postwarden-List"
#define LIST_MAX	64	/* PW_TOKEN_MAX_LIST: the name goes in tokens */

enum unmatched { UNM_PASS, UNM_TEMPFAIL, UNM_REJECT };
static const char *const unmatched_names[] = {"pass", "tempfail", "reject",
    NULL};
enum unknown_sasl { UNK_PASS, UNK_REJECT };
static const char *const unknown_sasl_names[] = {"pass", "reject", NULL};

struct cls_settings {
	int	 unmatched;
	int	 unknown_sasl;
};

static const struct pw_setting cls_settings_tab[] = {
    PW_SET_ENUM("organisations_unmatched", "pass", unmatched_names,
	struct cls_settings, unmatched),
    PW_SET_ENUM("organisations_unknown_sasl", "pass", unknown_sasl_names,
	struct cls_settings, unknown_sasl),
    PW_SET_END,
};

struct cls_conf {
	const struct pw_orgs *orgs;	/* the snapshot's */
	enum unmatched	 unmatched;
	enum unknown_sasl unknown_sasl;
};

/* Headers whose presence means list or campaign mail (§5.2 item 3).  The
   ESP names are conventions, not standards. */
static const char *const bulk_hdrs[] = {
    "List-Unsubscribe", "List-Unsubscribe-Post", "List-Id", "Feedback-ID",
    "X-Mailgun-Tag", "X-SMTPAPI", "X-MC-Tags", "X-SES-Configuration-Set",
    NULL,
};

static void
cls_deinit(void *vconf)
{
	struct cls_conf *c = vconf;

	if (c == NULL)
		return;
	free(c);
}

static int
cls_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct cls_settings *s = vs;
	const struct pw_services *svc = pw_services(cfg);
	struct cls_conf *c;

	(void)error_r;
	if (svc->orgs == NULL)
		return 0;	/* no organisations: outbound rules idle */
	c = pw_calloc(1, sizeof(*c));
	c->unmatched = (enum unmatched)s->unmatched;
	c->unknown_sasl = (enum unknown_sasl)s->unknown_sasl;
	c->orgs = svc->orgs;
	*conf_r = c;
	return 0;
}

/* internal_submitter - from internal_hosts or the local sendmail command,
   without a SASL identity */
static bool
internal_submitter(const struct pw_msg *m)
{
	if (m->auth_authen != NULL && *m->auth_authen != '\0')
		return false;
	return (m->client != NULL && m->client->internal) ||
	       (m->dir_why != NULL && strcmp(m->dir_why, "local") == 0);
}

/* header_trusted - may this submitter self-classify for org? */
static bool
header_trusted(const struct pw_msg *m, const struct pw_org *o)
{
	if (o == NULL || o->mode[PW_RULE_CLASS_HEADER] == PW_MODE_OFF ||
	    o->class_header_from == PW_CLASSHDR_NOBODY)
		return false;
	/* A submitter writing as someone outside its organisation does not
	   classify that mail, even where sender_binding only warns. */
	if (m->comply.foreign != NULL)
		return false;
	if (m->comply.org_how == PW_ORG_BY_SASL)
		return o->class_header_from != PW_CLASSHDR_INTERNAL;
	/* Authenticated as someone the organisation does not list: not its
	   submitter, wherever the connection comes from. */
	return o->class_header_from != PW_CLASSHDR_SASL &&
	       internal_submitter(m);
}

static enum pw_verdict
cls_mail(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct cls_conf *c = call->conf;
	const struct pw_org *o;

	o = pw_orgs_match(c->orgs, m->auth_authen, m->env_from, NULL,
	    &m->comply.org_how);
	if (c->unknown_sasl == UNK_REJECT && m->auth_authen != NULL &&
	    *m->auth_authen != '\0' && m->comply.org_how != PW_ORG_BY_SASL) {
		/* A provider that lists every customer login: an unknown one
		   is a customer it forgot or an account that should not
		   send. */
		pw_info(m, "classify: SASL login %s belongs to no "
		    "organisation: rejected", m->auth_authen);
		pw_msg_summary(m, "org=none(sasl %s)", m->auth_authen);
		pw_msg_reply(m, "550", "5.7.1", "SASL login %s is not "
		    "allowed to send: it belongs to no sender organisation",
		    m->auth_authen);
		return PW_REJECT;
	}
	if (o == NULL)
		return PW_DUNNO;	/* the From domain may match at EOH */
	m->comply.org = o;
	m->comply.class = o->default_class;
	m->comply.class_how = PW_CLASS_BY_ORG;
	/* Bulk signals only ever make mail commercial: a commercial default
	   is final unless a trusted header could lower it. */
	m->comply.class_final = o->default_class == PW_CLASS_COMMERCIAL &&
				!header_trusted(m, o);
	return PW_DUNNO;
}

/* bulk_signals - the list or campaign markers present, or NULL */
static char *
bulk_signals(const struct pw_msg *m)
{
	struct pw_buf b = {0};

	for (size_t i = 0; i < m->hdrs.n; i++) {
		const struct pw_hdr *h = &m->hdrs.v[i];
		const char *v = h->value;
		bool hit = pw_strncaseeq(h->name, "X-Campaign", 10);

		for (const char *const *n = bulk_hdrs; !hit && *n; n++)
			hit = pw_strcaseeq(h->name, *n);
		/* RFC 2076: non-standard, but bulk senders set it. */
		if (!hit && pw_strcaseeq(h->name, "Precedence")) {
			char *t = pw_strdup(v), *w = pw_trim(t);

			hit = pw_strcaseeq(w, "bulk") || pw_strcaseeq(w, "list") ||
			      pw_strcaseeq(w, "junk");
			free(t);
		}
		if (hit && (b.data == NULL || strstr(b.data, h->name) == NULL))
			pw_buf_printf(&b, "%s%s", b.len ? "," : "", h->name);
	}
	return b.data;
}

/* header_class - the trusted Postwarden-Class value; 0, or -1 if unusable */
static int
header_class(struct pw_msg *m, enum pw_class *class_r)
{
	const struct pw_hdr *h = pw_msg_hdr(m, CLASS_HDR);
	char *v, *params;
	int r = 0;

	/* Two labels that disagree say nothing; one label is enough. */
	if (pw_msg_hdr_count(m, CLASS_HDR) != 1) {
		pw_warn(m, "classify: %zu %s headers: ignored",
		    pw_msg_hdr_count(m, CLASS_HDR), CLASS_HDR);
		return -1;
	}
	v = pw_strdup(h->value);
	/* "transactional; basis=6(6)(b)": the basis is the sender's claim,
	   logged because under CASL s.13 the burden of proof stays with it. */
	if ((params = strchr(v, ';')) != NULL)
		*params++ = '\0';
	if (pw_class_parse(pw_trim(v), class_r) == 0) {
		if (params != NULL && *pw_trim(params) != '\0')
			pw_info(m, "classify: %s: %s; %s", CLASS_HDR,
			    pw_class_name(*class_r), pw_trim(params));
	} else if (pw_strcaseeq(pw_trim(v), "consent-request")) {
		*class_r = PW_CLASS_COMMERCIAL;	/* a CEM itself (R6) */
	} else if (pw_strcaseeq(pw_trim(v), "non-commercial") ||
		   pw_strcaseeq(pw_trim(v), "exempt")) {
		*class_r = PW_CLASS_OTHER;
	} else {
		pw_warn(m, "classify: %s: unknown class \"%.64s\": ignored",
		    CLASS_HDR, pw_trim(v));
		r = -1;
	}
	free(v);
	return r;
}

/* untrusted_class_header - say that a Postwarden-Class is ignored (the
   glue removes it from every message: pw_msg_strip_private) */
static void
untrusted_class_header(struct pw_msg *m, bool trusted)
{
	if (pw_msg_hdr_count(m, CLASS_HDR) == 0 || trusted)
		return;
	if (m->comply.foreign != NULL)
		pw_info(m, "classify: %s from a submitter writing as %s: "
		    "ignored and removed", CLASS_HDR, m->comply.foreign);
	else
		pw_info(m, "classify: %s from an untrusted submitter: ignored "
		    "and removed", CLASS_HDR);
}

/* unmatched - outbound mail of no known organisation */
static enum pw_verdict
unmatched(struct pw_msg *m, const struct cls_conf *c)
{
	pw_msg_summary(m, "org=none");
	switch (c->unmatched) {
	case UNM_PASS:
		return PW_DUNNO;
	case UNM_TEMPFAIL:
		pw_msg_reply(m, "451", "4.7.1", "sender organisation not "
		    "recognised; contact the postmaster");
		return PW_TEMPFAIL;
	case UNM_REJECT:
		pw_comply_refused(m, "organisation_unknown", 1);
		pw_msg_reply(m, "550", "5.7.1", "sender organisation not "
		    "recognised; contact the postmaster");
		return PW_REJECT;
	}
	return PW_DUNNO;
}

/* from_org - the organisation of the single From address, if any */
static const struct pw_org *
from_org(struct pw_msg *m, const struct cls_conf *c)
{
	const struct pw_hdr *h = pw_msg_hdr(m, "From");
	const char **addrs, *why;
	const struct pw_org *o;

	/* Several From addresses or headers name no single author. */
	if (h == NULL || pw_msg_hdr_count(m, "From") != 1 ||
	    pw_addr_parse_list(m->arena, h->value, &addrs, &why) != 1)
		return NULL;
	if ((o = pw_orgs_by_from(c->orgs, pw_addr_domain(addrs[0]))) != NULL)
		m->comply.org_how = PW_ORG_BY_FROM;
	return o;
}

/* binding_applies - is this message held to org's sender_binding? */
static bool
binding_applies(const struct pw_msg *m, const struct pw_org *o)
{
	if (o == NULL || o->mode[PW_RULE_SENDER_BINDING] == PW_MODE_OFF)
		return false;
	if (m->comply.org_how == PW_ORG_BY_SASL)
		return true;
	return o->bind_internal && internal_submitter(m);
}

/* foreign_identity - the first of envelope sender, From and Sender
   addresses that o's submitters may not use, as "what <addr>"; NULL */
static const char *
foreign_identity(struct pw_msg *m, const struct pw_org *o)
{
	static const char *const hdrs[] = {"From", "Sender"};
	const char **addrs, *why;
	int n;

	/* The null sender (bounces, RFC 5321 4.5.5) names nobody. */
	if (m->env_from != NULL && *m->env_from != '\0' &&
	    !pw_org_may_send_as(o, m->env_from))
		return pw_arena_printf(m->arena, "envelope sender <%s>",
		    m->env_from);
	for (size_t i = 0; i < m->hdrs.n; i++) {
		const struct pw_hdr *h = &m->hdrs.v[i];
		size_t k;

		for (k = 0; k < 2 && !pw_strcaseeq(h->name, hdrs[k]); k++)
			;
		if (k == 2)
			continue;
		/* What cannot be read cannot be shown to be its own. */
		if ((n = pw_addr_parse_list(m->arena, h->value, &addrs,
		    &why)) <= 0)
			return pw_arena_printf(m->arena, "%s header without "
			    "a readable address", hdrs[k]);
		for (int j = 0; j < n; j++)
			if (!pw_org_may_send_as(o, addrs[j]))
				return pw_arena_printf(m->arena, "%s <%s>",
				    hdrs[k], addrs[j]);
	}
	return NULL;
}

/* sender_binding - refuse or log mail that o's submitters send as
   someone else; sets comply.foreign */
static enum pw_verdict
sender_binding(struct pw_msg *m, const struct pw_org *o)
{
	const char *who;

	if (!binding_applies(m, o) || (who = foreign_identity(m, o)) == NULL)
		return PW_DUNNO;
	m->comply.foreign = who;
	if (o->mode[PW_RULE_SENDER_BINDING] == PW_MODE_WARN) {
		pw_warn(m, "classify: sender_binding: %s is not an address of "
		    "organisation %s (warn only)", who, o->name);
		pw_msg_summary(m, "binding=warn");
		return PW_DUNNO;
	}
	pw_info(m, "classify: sender_binding: %s is not an address of "
	    "organisation %s: rejected", who, o->name);
	pw_msg_summary(m, "org=%s(%s) binding=reject", o->name,
	    pw_org_how_name(m->comply.org_how));
	pw_msg_reply(m, "550", "5.7.1", "%s is not allowed: not an address "
	    "of sender organisation %s", who, o->name);
	return PW_REJECT;
}

/* list_name - the list of a List-Id ("Description <label.domain>", RFC
   2919) or Postwarden-List ("label") value: lower-cased (RFC 2919 section
   3 compares case-insensitively), 1..LIST_MAX of [a-z0-9._-] so that it
   fits in a token; NULL when unusable */
static const char *
list_name(struct pw_msg *m, const char *value)
{
	const char *lt = strrchr(value, '<'), *gt;
	char *v;
	size_t n;

	if (lt != NULL) {
		if ((gt = strchr(lt, '>')) == NULL)
			return NULL;
		v = pw_strndup(lt + 1, (size_t)(gt - lt - 1));
	} else
		v = pw_strdup(value);
	n = strlen(pw_trim(v));
	if (n == 0 || n > LIST_MAX || strspn(pw_trim(v),
	    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")
	    != n) {
		free(v);
		return NULL;
	}
	value = pw_arena_strdup(m->arena, pw_lowercase(pw_trim(v)));
	free(v);
	return value;
}

/* message_list - the mailing list the message belongs to: a
   Postwarden-List from the organisation's own submitters (never from
   one writing as someone else), else its List-Id; NULL: none.  Consent,
   withdrawals and unsubscribe tokens are per (organisation, list). */
static const char *
message_list(struct pw_msg *m, const struct pw_org *o)
{
	const char *hdr = NULL, *l;
	const struct pw_hdr *h;

	if (pw_msg_hdr_count(m, LIST_HDR) > 0) {
		if (m->comply.foreign == NULL && (m->comply.org_how ==
		    PW_ORG_BY_SASL || internal_submitter(m)))
			hdr = LIST_HDR;
		else
			pw_info(m, "classify: %s from an untrusted submitter: "
			    "ignored and removed", LIST_HDR);
	}
	if (hdr == NULL && pw_msg_hdr_count(m, "List-Id") > 0)
		hdr = "List-Id";
	if (hdr == NULL)
		return NULL;
	/* Two names say nothing: mail on no list, for which only consent
	   given for every list of the organisation counts. */
	if (pw_msg_hdr_count(m, hdr) != 1) {
		pw_warn(m, "classify: %zu %s headers: the message is on no "
		    "list of %s", pw_msg_hdr_count(m, hdr), hdr, o->name);
		return NULL;
	}
	h = pw_msg_hdr(m, hdr);
	if ((l = list_name(m, h->value)) == NULL)
		pw_warn(m, "classify: %s \"%.80s\": not a list name of up to "
		    "%d characters [A-Za-z0-9._-]: the message is on no list "
		    "of %s", hdr, pw_trim(pw_arena_strdup(m->arena, h->value)),
		    LIST_MAX, o->name);
	return l;
}

static enum pw_verdict
cls_eoh(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct cls_conf *c = call->conf;
	struct pw_comply *k = &m->comply;
	enum pw_class hc;
	char *signals;
	bool trusted;

	if (k->org == NULL && (k->org = from_org(m, c)) != NULL) {
		k->class = k->org->default_class;
		k->class_how = PW_CLASS_BY_ORG;
	}
	if (sender_binding(m, k->org) == PW_REJECT)
		return PW_REJECT;
	trusted = header_trusted(m, k->org);
	untrusted_class_header(m, trusted);
	if (m->hdrs_truncated)
		pw_warn(m, "classify: headers over max_header_bytes: a %s "
		    "beyond the limit is not read (but removed)", CLASS_HDR);
	if (k->org == NULL)
		return unmatched(m, c);
	if (trusted && pw_msg_hdr_count(m, CLASS_HDR) > 0 &&
	    header_class(m, &hc) == 0) {
		k->class = hc;
		k->class_how = PW_CLASS_BY_HEADER;
	}
	if (k->class != PW_CLASS_COMMERCIAL &&
	    (signals = bulk_signals(m)) != NULL) {
		/* R3: CASL s.6(6) exempts mail "solely" transactional. */
		pw_warn(m, "classify: mislabelled: %s %s (by %s) but carries "
		    "%s", k->org->name, pw_class_name(k->class),
		    pw_class_how_name(k->class_how), signals);
		pw_msg_summary(m, "mislabelled=%s", signals);
		free(signals);
		if (k->class_how != PW_CLASS_BY_HEADER ||
		    k->org->mode[PW_RULE_CLASS_HEADER] == PW_MODE_ENFORCE) {
			k->class = PW_CLASS_COMMERCIAL;
			k->class_how = PW_CLASS_BY_HEURISTIC;
		}
	}
	pw_msg_summary(m, "org=%s(%s) class=%s(%s)", k->org->name,
	    pw_org_how_name(k->org_how), pw_class_name(k->class),
	    pw_class_how_name(k->class_how));
	if ((k->list = message_list(m, k->org)) != NULL)
		pw_msg_summary(m, "list=%s", k->list);
	return PW_DUNNO;
}

/* cls_decides - cls_mail only records the organisation, unless unknown
   SASL logins are refused there */
static bool
cls_decides(const void *conf)
{
	const struct cls_conf *c = conf;

	return c != NULL && c->unknown_sasl == UNK_REJECT;
}

const struct pw_policy pol_classify = {
    .name = "classify",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_HEADERS,
    .dirs = PW_DIR_OUT,
    .settings = cls_settings_tab,
    .settings_size = sizeof(struct cls_settings),
    .init = cls_init,
    .deinit = cls_deinit,
    .mail_decides = cls_decides,
    .mail = cls_mail,
    .eoh = cls_eoh,
};
