/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_verify - SPF (RFC 7208) of inbound mail with libspf2, at MAIL FROM.
 *
 * Checks the MAIL FROM identity, or the HELO identity for the null
 * sender (RFC 7208 section 2.4: libspf2 then checks postmaster@HELO), and
 * optionally the HELO identity as well.  All DNS goes through the shared
 * resolver (dns_hooks.h) and is charged to the message's budget.
 *
 * libspf2 1.2.10 stays the evaluator; the DNS layer corrects where it
 * deviates from RFC 7208 (dns_hooks.h, spf_record.h): records are
 * checked against the RFC's syntax before libspf2 sees them, the lookup
 * and void lookup limits are counted across include: and redirect=
 * (permerror), a name that cannot be asked is NXDOMAIN (no match).
 *
 * Temporary failures never become "fail": a failed fetch of the record
 * itself comes back from libspf2 as "(invalid)" with SPF_E_DNS_ERROR.
 * libspf2 may read a failed lookup of a mechanism as "no match", so if a
 * lookup the result depends on failed temporarily, every result but
 * "pass" is reported as temperror (RFC 7208 section 5: the check ends
 * with temperror).  Lookups the result does not depend on cannot do
 * that: the explanation is never fetched by libspf2 (the hook keeps its
 * name, see below), and a failed PTR lookup or a failed address lookup
 * of a PTR name is skipped (5.5).  Hitting the per-message query cap is
 * a permerror, as RFC 7208 section 4.6.4 treats its own lookup limits.
 *
 * The result goes to msg->auth.spf for dmarc_verify and the A-R header.
 * spf_reject_fail = yes rejects a "fail" at MAIL FROM (550 5.7.23, RFC
 * 7372); by default DMARC decides.  The reply names the client address
 * and the domain in our own words and adds the exp= explanation (RFC
 * 7208 section 6.2) of the record that decided (after a redirect=, the
 * target's; never an include's): libspf2 names its target and domain
 * through the DNS hook, and spf_macro.c expands the text: libspf2 1.2.10
 * mangles that expansion (spaces become '%', later macros stay
 * unexpanded: "198.51.100.9%is%not%one%of%{d}s...").  %{p} is the
 * validated PTR name (5.5), looked up only when the text uses it.  A
 * failed fetch means no explanation (6.2).  The text comes from the
 * sender's DNS: only printable ASCII is kept, at most 200 characters;
 * URL escapes of upper-case macros keep their '%' (milter/mlfi.c writes
 * it "%%" for the MTA).
 * libspf2 passes every 127.0.0.0/8 and ::1 client as "localhost" before
 * any lookup.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <arpa/nameser.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <spf2/spf.h>

#include "base/config.h"
#include "base/log.h"
#include "dns/dns.h"
#include "dns/dns_hooks.h"
#include "parsers/auth.h"
#include "parsers/authres.h"
#include "parsers/spf_macro.h"
#include "policy.h"
#include "snapshot.h"

struct spf_settings {
	bool	 enable;
	bool	 reject_fail;
	bool	 check_helo;
	bool	 received_header;
};

static const struct pw_setting spf_settings_tab[] = {
    PW_SET_BOOL("spf_verify", "yes", struct spf_settings, enable),
    PW_SET_BOOL("spf_reject_fail", "no", struct spf_settings, reject_fail),
    PW_SET_BOOL("spf_check_helo", "no", struct spf_settings, check_helo),
    PW_SET_BOOL("spf_received_header", "no", struct spf_settings,
	received_header),
    PW_SET_END,
};

struct spf_conf {
	struct pw_dns		*dns;
	SPF_dns_server_t	*layer;
	SPF_server_t		*server;	/* read-only once built */
	struct spf_settings	 s;
	const char		*authserv_id;
};

struct spf_eval {
	enum pw_auth_result	 result;
	const char		*comment;	/* arena */
	const char		*received;	/* Received-SPF value, arena */
	const char		*exp_domain;	/* exp= of the deciding record */
	const char		*exp_target;	/* (dns_hooks.h), arena */
};

static void
spf_deinit(void *vc)
{
	struct spf_conf *c = vc;

	if (c == NULL)
		return;
	if (c->server != NULL)
		SPF_server_free(c->server);
	if (c->layer != NULL)
		SPF_dns_free(c->layer);	/* releases its resolver ref */
	pw_dns_free(&c->dns);
	free(c);
}

static int
spf_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct spf_settings *s = vs;
	struct spf_conf *c;

	if (!s->enable)
		return 0;
	c = pw_calloc(1, sizeof(*c));
	c->s = *s;
	c->authserv_id = cfg->core.authserv_id;
	c->dns = pw_dns_ref(pw_services(cfg)->dns);
	c->layer = pw_dns_spf_layer(c->dns);
	if ((c->server = SPF_server_new_dns(c->layer, 0)) == NULL) {
		*error_r = pw_asprintf("%s: libspf2 initialisation failed",
		    cfg->path);
		spf_deinit(c);
		return -1;
	}
	if (c->authserv_id != NULL)
		SPF_server_set_rec_dom(c->server, c->authserv_id);
	*conf_r = c;
	return 0;
}

/* map_result - libspf2's result as an RFC 8601 result */
static enum pw_auth_result
map_result(SPF_result_t r, SPF_errcode_t rc)
{
	switch (r) {
	case SPF_RESULT_PASS:
		return PW_AUTH_PASS;
	case SPF_RESULT_FAIL:
		return PW_AUTH_FAIL;
	case SPF_RESULT_SOFTFAIL:
		return PW_AUTH_SOFTFAIL;
	case SPF_RESULT_NEUTRAL:
		return PW_AUTH_NEUTRAL;
	case SPF_RESULT_NONE:
		return PW_AUTH_NONE;
	case SPF_RESULT_TEMPERROR:
		return PW_AUTH_TEMPERROR;
	case SPF_RESULT_PERMERROR:
		return PW_AUTH_PERMERROR;
	case SPF_RESULT_INVALID:
	default:
		/* The record itself could not be fetched. */
		return rc == SPF_E_DNS_ERROR ? PW_AUTH_TEMPERROR :
					       PW_AUTH_PERMERROR;
	}
}

/* evaluate - one SPF check; mailfrom NULL checks the HELO identity.  b
   is the stage's budget: both checks share its deadline. */
static void
evaluate(struct pw_msg *m, const struct spf_conf *c, struct pw_dns_budget *b,
    const char *mailfrom, struct spf_eval *ev)
{
	const struct pw_client *cl = m->client;
	struct pw_dns_budget *old;
	struct pw_spf_acct acct, *oldacct;
	unsigned int tf = b->tempfails, lim = b->limited;
	SPF_request_t *req = SPF_request_new(c->server);
	SPF_response_t *resp = NULL;
	SPF_errcode_t rc;
	const char *s;

	memset(ev, 0, sizeof(*ev));
	if (cl->sa.ss_family == AF_INET6)
		rc = SPF_request_set_ipv6(req,
		    ((const struct sockaddr_in6 *)&cl->sa)->sin6_addr);
	else
		rc = SPF_request_set_ipv4(req,
		    ((const struct sockaddr_in *)&cl->sa)->sin_addr);
	if (rc == SPF_E_SUCCESS && cl->helo != NULL && *cl->helo != '\0')
		rc = SPF_request_set_helo_dom(req, cl->helo);
	if (rc == SPF_E_SUCCESS && mailfrom != NULL)
		rc = SPF_request_set_env_from(req, mailfrom);
	if (rc != SPF_E_SUCCESS) {
		/* Unusable identity (e.g. a HELO that is not a domain). */
		ev->result = PW_AUTH_PERMERROR;
		ev->comment = pw_arena_printf(m->arena, "%s",
		    SPF_strerror(rc));
		SPF_request_free(req);
		return;
	}
	memset(&acct, 0, sizeof(acct));
	acct.ip = &cl->sa;
	old = pw_dns_budget_bind(b);
	oldacct = pw_dns_spf_bind(&acct);
	rc = SPF_request_query_mailfrom(req, &resp);
	pw_dns_spf_bind(oldacct);
	pw_dns_budget_bind(old);
	if (acct.exp_target != NULL) {
		ev->exp_domain = pw_arena_strdup(m->arena, acct.exp_domain);
		ev->exp_target = pw_arena_strdup(m->arena, acct.exp_target);
	}
	pw_dns_spf_acct_free(&acct);
	ev->result = map_result(resp ? SPF_response_result(resp) :
	    SPF_RESULT_INVALID, rc);
	if (acct.permerror != NULL) {
		/* What libspf2 1.2.10 misses, found by the DNS layer: a
		   record's syntax, the lookup limits (dns_hooks.h). */
		ev->result = PW_AUTH_PERMERROR;
		ev->comment = acct.permerror;
	} else if (b->limited > lim) {
		ev->result = PW_AUTH_PERMERROR;
		ev->comment = "too many DNS lookups";
	} else if (b->tempfails - tf > acct.skipped &&
	    ev->result != PW_AUTH_PASS) {
		ev->result = PW_AUTH_TEMPERROR;
		ev->comment = "temporary DNS failure";
	} else if (resp != NULL &&
	    (s = SPF_response_get_header_comment(resp)) != NULL) {
		const char *colon = strstr(s, ": ");

		/* "receiver: text": the receiver is in the A-R already. */
		ev->comment = pw_arena_strdup(m->arena, colon ? colon + 2 : s);
	}
	if (resp != NULL &&
	    (s = SPF_response_get_received_spf_value(resp)) != NULL)
		ev->received = pw_arena_strdup(m->arena, s);
	SPF_response_free(resp);
	SPF_request_free(req);
}

/* rev_name - the in-addr.arpa / ip6.arpa name of an address */
static void
rev_name(const struct sockaddr_storage *ss, char *out, size_t outsz)
{
	size_t o = 0;

	if (ss->ss_family == AF_INET6) {
		const unsigned char *a =
		    ((const struct sockaddr_in6 *)ss)->sin6_addr.s6_addr;

		for (int i = 15; i >= 0 && o + 4 < outsz; i--)
			o += (size_t)snprintf(out + o, outsz - o, "%x.%x.",
			    a[i] & 15, a[i] >> 4);
		snprintf(out + o, outsz - o, "ip6.arpa");
	} else {
		const unsigned char *a = (const unsigned char *)
		    &((const struct sockaddr_in *)ss)->sin_addr;

		snprintf(out, outsz, "%u.%u.%u.%u.in-addr.arpa", a[3], a[2],
		    a[1], a[0]);
	}
}

/* has_addr - does name have the client's address (A or AAAA)? */
static bool
has_addr(struct pw_msg *m, const struct spf_conf *c, struct pw_dns_budget *b,
    const char *name)
{
	const struct sockaddr_storage *ss = &m->client->sa;
	bool six = ss->ss_family == AF_INET6;
	const void *want = six ?
	    (const void *)&((const struct sockaddr_in6 *)ss)->sin6_addr :
	    (const void *)&((const struct sockaddr_in *)ss)->sin_addr;
	struct pw_dns_result r;
	bool hit = false;

	if (pw_dns_query(c->dns, b, name, six ? PW_DNS_T_AAAA : PW_DNS_T_A,
	    &r) == PW_DNS_ANSWER)
		for (size_t i = 0; i < r.n && !hit; i++)
			hit = r.len[i] == (six ? 16 : 4) &&
			    memcmp(r.data[i], want, six ? 16 : 4) == 0;
	pw_dns_result_free(&r);
	return hit;
}

/*
 * validated_ptr - %{p} (RFC 7208 7.3, 5.5): a PTR name of the client whose
 * addresses include the client's, the domain itself or a name under it
 * first; NULL ("unknown") if none.  At most 10 names are tried.
 */
static const char *
validated_ptr(struct pw_msg *m, const struct spf_conf *c,
    struct pw_dns_budget *b, const char *domain)
{
	char rev[80], name[256];
	struct pw_dns_result r;
	const char *found = NULL;
	size_t dl = domain ? strlen(domain) : 0;

	rev_name(&m->client->sa, rev, sizeof(rev));
	if (pw_dns_query(c->dns, b, rev, PW_DNS_T_PTR, &r) != PW_DNS_ANSWER) {
		pw_dns_result_free(&r);
		return NULL;
	}
	for (size_t i = 0; i < r.n && i < 10; i++) {
		size_t nl;
		bool under;

		if (r.len[i] <= 0 || ns_name_ntop(r.data[i], name,
		    sizeof(name)) < 0)
			continue;
		nl = strlen(name);
		if (nl > 0 && name[nl - 1] == '.')
			name[--nl] = '\0';
		under = dl > 0 && (strcasecmp(name, domain) == 0 ||
		    (nl > dl && name[nl - dl - 1] == '.' &&
		    strcasecmp(name + nl - dl, domain) == 0));
		if ((found == NULL || under) && has_addr(m, c, b, name)) {
			found = pw_arena_strdup(m->arena, name);
			if (under)
				break;
		}
	}
	pw_dns_result_free(&r);
	return found;
}

/*
 * explanation - the expanded exp= text of the record that decided (its
 * target and current domain from libspf2 through the DNS hook, see
 * spf_record.h), cleaned for an SMTP reply, or NULL (no exp=, a DNS or
 * syntax problem: RFC 7208 section 6.2 says to go on as without one).
 */
static const char *
explanation(struct pw_msg *m, const struct spf_conf *c,
    struct pw_dns_budget *b, const char *sender, const struct spf_eval *ev)
{
	struct pw_spf_macro_ctx x = {
	    .sender = sender, .domain = ev->exp_domain, .ip = &m->client->sa,
	    .helo = m->client->helo, .receiver = c->authserv_id,
	    .now = time(NULL)};
	const char *why;
	char **txt = NULL, *text = NULL, *o;

	if (ev->exp_target == NULL || ev->exp_domain == NULL)
		return NULL;
	if (pw_dns_txt(c->dns, b, ev->exp_target, &txt, &why) ==
	    PW_DNS_ANSWER && txt[0] != NULL && txt[1] == NULL) {
		/* %{p} costs DNS: only when the text asks for it */
		if (strstr(txt[0], "%{p") != NULL ||
		    strstr(txt[0], "%{P") != NULL)
			x.ptr = validated_ptr(m, c, b, ev->exp_domain);
		text = pw_spf_macro_expand(m->arena, txt[0], &x, true);
	}
	pw_strv_free(&txt);
	if (text == NULL)
		return NULL;
	/* Printable ASCII only, one line, at most 200 characters.  '%'
	   stays (URL escapes, 7.3): the milter writes it "%%" for the MTA
	   (milter/mlfi.c). */
	for (o = text; *o; o++)
		if (*o < 0x20 || *o > 0x7e)
			*o = ' ';
	if (o - text > 200)
		text[200] = '\0';
	return *text ? text : NULL;
}

/* domain_of - the domain an SPF check was about */
static const char *
domain_of(struct pw_msg *m, const char *mailfrom)
{
	const char *at = mailfrom ? strrchr(mailfrom, '@') : NULL;

	if (at != NULL)
		return pw_lowercase(pw_arena_strdup(m->arena, at + 1));
	if (mailfrom != NULL && *mailfrom != '\0')
		return pw_lowercase(pw_arena_strdup(m->arena, mailfrom));
	return m->client->helo ?
	    pw_lowercase(pw_arena_strdup(m->arena, m->client->helo)) : NULL;
}

static enum pw_verdict
spf_mail(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const struct spf_conf *c = call->conf;
	struct pw_spf_res *r = &m->auth.spf;
	const char *from = m->env_from && *m->env_from ? m->env_from : NULL;
	struct pw_dns_budget *b;
	struct spf_eval ev;

	if (!m->client->has_addr) {
		pw_msg_summary(m, "spf=none (no client address)");
		return PW_DUNNO;
	}
	/* One deadline for the stage, taken once: a second check must not
	   restart it (Postfix's milter_command_timeout is 30 s). */
	b = pw_dns_msg_budget(m, PW_DNS_STAGE_MS);
	evaluate(m, c, b, from, &ev);
	r->done = true;
	r->result = ev.result;
	r->mailfrom = from;
	r->helo = m->client->helo;
	r->domain = domain_of(m, from);
	r->reason = ev.comment;
	pw_msg_summary(m, "spf=%s", pw_auth_result_name(r->result));
	if (from != NULL && c->s.check_helo && m->client->helo != NULL &&
	    *m->client->helo != '\0') {
		struct spf_eval hev;

		evaluate(m, c, b, NULL, &hev);
		m->auth.spf_helo.done = true;
		m->auth.spf_helo.result = hev.result;
		m->auth.spf_helo.helo = m->client->helo;
		m->auth.spf_helo.domain = domain_of(m, NULL);
		m->auth.spf_helo.reason = hev.comment;
	}
	if (c->s.received_header && ev.received != NULL)
		pw_edit_insert(m, 0, "Received-SPF", ev.received);
	if (r->result == PW_AUTH_FAIL && c->s.reject_fail) {
		const char *sender = from ? from : pw_arena_printf(m->arena,
		    "postmaster@%s", r->domain ? r->domain : "unknown");

		r->explanation = explanation(m, c, b, sender, &ev);
		pw_msg_reply(m, "550", "5.7.23", "SPF check failed: %s is not "
		    "allowed to send mail for %s%s%s%s", m->client->addr,
		    r->domain ? r->domain : "this sender",
		    r->explanation ? " (" : "",
		    r->explanation ? r->explanation : "",
		    r->explanation ? ")" : "");
		return PW_REJECT;
	}
	return PW_DUNNO;
}

/* spf_decides - only spf_reject_fail makes MAIL FROM wait for us */
static bool
spf_decides(const void *conf)
{
	const struct spf_conf *c = conf;

	return c->s.reject_fail;
}

const struct pw_policy pol_spf_verify = {
    .name = "spf_verify",
    .phase = PW_PHASE_VERIFY,
    .needs = PW_NEED_HELO,
    .dirs = PW_DIR_IN,
    .settings = spf_settings_tab,
    .settings_size = sizeof(struct spf_settings),
    .init = spf_init,
    .deinit = spf_deinit,
    .mail_decides = spf_decides,
    .mail = spf_mail,
};
