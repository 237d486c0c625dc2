/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsub_mailto - mailto unsubscribes (RFC 2369 §3.2, RFC 8058 §3.1, CASL
 * s.11(1)): inbound mail for an organisation's unsubscribe_mailto address
 * records the withdrawal in the store exactly as postwarden-unsubd does
 * for a one-click POST (a suppression with requested_at, effective_at and
 * the token id), so the very next commercial message to that recipient is
 * refused by pol_consent.
 *
 * pol_unsub generates "mailto:LOCAL+TOKEN@DOMAIN?subject=unsubscribe"
 * (unsub_hdr.h), so a recipient
 *   LOCAL+TOKEN@DOMAIN  carries a token (token.h): verified with the key
 *                       ring "unsubscribe_keys" and the lifetime
 *                       "unsubd_token_lifetime", exactly as the endpoint
 *                       does; the token names org, list and recipient;
 *   LOCAL@DOMAIN        (or a token that does not verify) is a request
 *                       for the From address (RFC 5322 §3.6.2) only if the
 *                       organisation sets unsubscribe_mailto_from = yes
 *                       (default no: anyone can put any From on a
 *                       message, so this trusts the From address; a From
 *                       whose DMARC check failed is never used).
 * LOCAL compares case-insensitively, DOMAIN after normalisation; TOKEN is
 * base64url and compares exactly.  An address used by several
 * organisations takes a token of any of them; the From fallback then
 * needs exactly one.
 *
 * Once recorded (or already in force: repeated mails record nothing, as
 * repeated POSTs) the message is dropped or delivered per the
 * organisation's unsubscribe_mailto_action (default discard): discard
 * removes the unsubscribe recipients and discards the message when no
 * other recipient is left.  A message that records nothing (no valid
 * token, From fallback not allowed or unusable) is delivered, so a person
 * can act on it, and logged.  The store unreachable or failing is 451
 * 4.3.0: the sending MTA retries and the request is not lost.
 *
 * Inbound only (PW_DIR_IN).  requested_at is the time of MAIL FROM, the
 * moment the request reached us; effective_at is the store's created_at.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "compliance/unsubd_conf.h"
#include "comply.h"
#include "parsers/addr.h"
#include "parsers/addrnorm.h"
#include "policy.h"
#include "snapshot.h"
#include "store/store.h"

/* One organisation's unsubscribe address, split once at init. */
struct umt_addr {
	const struct pw_org	*org;
	char			*local;		/* as configured */
	char			*domain;	/* normalised */
};

struct umt_conf {
	const struct pw_orgs	*orgs;		/* the snapshot's */
	const struct pw_keyring *ring;	/* NULL: tokens never verify */
	long			 lifetime;	/* unsubd_token_lifetime */
	struct umt_addr		*addrs;
	size_t			 naddrs;
	struct pw_store_handle	*store;	/* the snapshot's */
};

/* One recipient that is an unsubscribe address. */
struct umt_hit {
	const char	*rcpt;		/* as in msg->rcpts */
	const char	*token;		/* NULL: the plain address */
	size_t		 first;		/* index into conf->addrs */
	size_t		 n;		/* consecutive addrs[] entries: the
					   organisations using this address */
};

struct umt_state {
	pw_time_us	 requested;	/* at MAIL FROM */
	struct umt_hit	*hits;		/* arena */
	size_t		 nhits, cap;
};

enum umt_outcome { UMT_RECORDED, UMT_ALREADY, UMT_NONE, UMT_FAIL };

static void
umt_deinit(void *vconf)
{
	struct umt_conf *c = vconf;

	if (c == NULL)
		return;
	for (size_t i = 0; i < c->naddrs; i++) {
		free(c->addrs[i].local);
		free(c->addrs[i].domain);
	}
	free(c->addrs);
	free(c);
}

/* addr_cmp - sort by (local, domain) case-insensitively, so that the
   organisations sharing one address are adjacent */
static int
addr_cmp(const void *a, const void *b)
{
	const struct umt_addr *x = a, *y = b;
	int r = strcasecmp(x->local, y->local);

	return r != 0 ? r : strcmp(x->domain, y->domain);
}

/* collect - the unsubscribe_mailto of every organisation */
static int
collect(struct umt_conf *c, char **error_r)
{
	size_t n = pw_orgs_count(c->orgs);
	const char *why;

	c->addrs = pw_calloc(n + 1, sizeof(*c->addrs));
	for (size_t i = 0; i < n; i++) {
		const struct pw_org *o = pw_orgs_nth(c->orgs, i);
		const char *a = o->unsubscribe_mailto, *at;
		struct umt_addr *u;

		if (a == NULL || (at = strrchr(a, '@')) == NULL)
			continue;
		u = &c->addrs[c->naddrs];
		if (pw_domain_normalise(at + 1, strlen(at + 1), &u->domain,
		    &why) < 0) {
			*error_r = pw_asprintf("%s: organisation \"%s\": "
			    "unsubscribe_mailto = %s: %s", o->where, o->name,
			    a, why);
			return -1;
		}
		u->local = pw_strndup(a, (size_t)(at - a));
		u->org = o;
		c->naddrs++;
	}
	qsort(c->addrs, c->naddrs, sizeof(*c->addrs), addr_cmp);
	return 0;
}

static int
umt_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct pw_services *svc = pw_services(cfg);
	const struct pw_unsubd_settings *us =
	    pw_config_settings(cfg, pw_unsubd_owner.name);
	struct umt_conf *c;

	(void)vs;
	/* Idle without organisations (a bad file is the services' error). */
	if (svc->orgs == NULL)
		return 0;
	c = pw_calloc(1, sizeof(*c));
	c->lifetime = us != NULL ? us->token_lifetime : 0;
	c->orgs = svc->orgs;
	if (collect(c, error_r) < 0) {
		umt_deinit(c);
		return -1;
	}
	if (c->naddrs == 0) {
		umt_deinit(c);
		return 0;	/* no organisation takes mailto unsubscribes */
	}
	if (cfg->core.store == NULL || *cfg->core.store == '\0') {
		*error_r = pw_asprintf("%s: store is empty: mailto unsubscribes "
		    "(unsubscribe_mailto) are recorded in the store",
		    pw_config_where(cfg, "store"));
		umt_deinit(c);
		return -1;
	}
	/* Without a key ring only the From fallback can record anything. */
	c->ring = svc->ring;
	c->store = svc->store;
	*conf_r = c;
	return 0;
}

static enum pw_verdict
umt_mail(struct pw_call *call)
{
	struct umt_state *s = call->priv;

	s->requested = pw_now_us();
	return PW_DUNNO;
}

/*
 * match - is rcpt (without <>) an unsubscribe address?  Sets *first_r,
 * *n_r (the organisations using it) and *token_r (arena; NULL for the
 * plain address).  The longest configured local part wins, so that
 * "unsub+news@d" of one organisation is not read as "unsub@d" of another
 * with the token "news".
 */
static bool
match(struct pw_msg *m, const struct umt_conf *c, const char *rcpt,
    size_t *first_r, size_t *n_r, const char **token_r)
{
	const char *at = strrchr(rcpt, '@'), *why;
	size_t rl, best = 0, best_ll = 0;
	bool found = false;
	char *dom = NULL;

	if (at == NULL || at == rcpt ||
	    pw_domain_normalise(at + 1, strlen(at + 1), &dom, &why) < 0)
		return false;
	rl = (size_t)(at - rcpt);
	for (size_t i = 0; i < c->naddrs; i++) {
		const struct umt_addr *u = &c->addrs[i];
		size_t ll = strlen(u->local);

		if (strcmp(u->domain, dom) != 0 || rl < ll ||
		    strncasecmp(rcpt, u->local, ll) != 0 ||
		    (rl > ll && (rcpt[ll] != '+' || rl == ll + 1)) ||
		    (found && ll <= best_ll))
			continue;
		best = i;
		best_ll = ll;
		found = true;
	}
	free(dom);
	if (!found)
		return false;
	*token_r = rl == best_ll ? NULL :
	    pw_arena_strndup(m->arena, rcpt + best_ll + 1, rl - best_ll - 1);
	*first_r = best;
	*n_r = 1;
	while (best + *n_r < c->naddrs &&
	    addr_cmp(&c->addrs[best], &c->addrs[best + *n_r]) == 0)
		(*n_r)++;
	return true;
}

static enum pw_verdict
umt_rcpt(struct pw_call *call, const char *rcpt)
{
	struct pw_msg *m = call->msg;
	struct umt_state *s = call->priv;
	struct umt_hit h = {0};

	rcpt = pw_msg_strip_angle(m, rcpt);
	if (!match(m, call->conf, rcpt, &h.first, &h.n, &h.token))
		return PW_DUNNO;
	if (s->nhits == s->cap) {
		size_t cap = s->cap ? s->cap * 2 : 4;
		struct umt_hit *v = pw_arena_alloc(m->arena, cap * sizeof(*v));

		if (s->nhits > 0)
			memcpy(v, s->hits, s->nhits * sizeof(*v));
		s->hits = v;
		s->cap = cap;
	}
	h.rcpt = pw_arena_strdup(m->arena, rcpt);
	s->hits[s->nhits++] = h;
	return PW_DUNNO;
}

static struct pw_metric m_withdrawals = PW_COUNTER(
    "postwarden_withdrawals_total", "Consent withdrawals recorded (repeats "
    "of one in force are not), by organisation and channel", "organisation",
    "channel");

/* record - a withdrawal unless one in force covers it (as the endpoint
   does: RFC 8058 retries and repeated mails record nothing) */
static enum umt_outcome
record(struct pw_msg *m, struct pw_store *st, const char *org,
    const char *addr, const char *list, const char *reason,
    const char *token_id, pw_time_us requested, int64_t *id_r)
{
	struct pw_consent_events ev = {0};
	struct pw_consent_result cr;
	struct pw_suppression sup = {0};
	int rc;

	rc = pw_store_consent_check(st, org, addr, list[0] ? list : NULL,
	    time(NULL), &cr, &ev);
	pw_consent_events_free(&ev);
	if (rc < 0)
		return UMT_FAIL;
	if (rc == 0 && cr.state == PW_CSTATE_WITHDRAWN)
		return UMT_ALREADY;
	sup.org = org;
	sup.address = addr;
	sup.list = list;
	sup.reason = reason;
	sup.requested_us = requested;
	sup.token_id = token_id;
	if (pw_store_suppression_add(st, &sup) < 0)
		return UMT_FAIL;
	*id_r = sup.id;
	pw_metric_inc(&m_withdrawals, PW_LV(org, "mailto"));
	pw_info(m, "unsub_mailto: org=%s list=%s token=%s suppression=%lld "
	    "delay=%lds", org, list[0] ? list : "*", token_id ? token_id : "-",
	    (long long)sup.id,
	    (long)(sup.created_at - pw_time_us_sec(requested)));
	return UMT_RECORDED;
}

/* store_get - the shared store, or NULL with the reason set */
static struct pw_store *
store_get(struct umt_conf *c, struct pw_msg *m)
{
	struct pw_store *st = pw_store_handle_get(c->store, m);

	if (st == NULL)
		pw_store_set_error("%s: cannot open (see above)", pw_store_handle_spec(c->store));
	return st;
}

/* from_addr - the single From mailbox, normalised (malloc'd), or NULL */
static char *
from_addr(struct pw_msg *m)
{
	const struct pw_hdr *h;
	const char **v, *why;
	char *out = NULL;

	if (pw_msg_hdr_count(m, "From") != 1 ||
	    (h = pw_msg_hdr(m, "From")) == NULL ||
	    pw_addr_parse_list(m->arena, h->value, &v, &why) != 1 ||
	    pw_addr_normalise(v[0], strlen(v[0]), &out, &why) < 0)
		return NULL;
	return out;
}

/* one - handle one unsubscribe recipient; sets *org_r to the
   organisation whose action applies */
static enum umt_outcome
one(struct pw_msg *m, struct umt_conf *c, struct umt_state *s,
    const struct umt_hit *h, const struct pw_org **org_r)
{
	struct pw_token tok;
	enum pw_token_status ts = PW_TOKEN_MALFORMED;
	enum umt_outcome out;
	struct pw_store *st;
	const struct pw_org *o = NULL;
	int64_t id = 0;
	char *addr;

	*org_r = h->n == 1 ? c->addrs[h->first].org : NULL;
	memset(&tok, 0, sizeof(tok));
	if (h->token != NULL && c->ring != NULL) {
		ts = pw_token_verify(c->ring, h->token, strlen(h->token),
		    time(NULL), c->lifetime, NULL, &tok);
		for (size_t i = 0; ts == PW_TOKEN_OK && i < h->n; i++)
			if (strcmp(c->addrs[h->first + i].org->name,
			    tok.org) == 0)
				o = c->addrs[h->first + i].org;
		if (ts == PW_TOKEN_OK && o == NULL)
			ts = PW_TOKEN_WRONG_ORG;
	}
	if (ts == PW_TOKEN_OK) {
		*org_r = o;
		if ((st = store_get(c, m)) == NULL)
			out = UMT_FAIL;
		else
			out = record(m, st, o->name, tok.rcpt, tok.list,
			    "mailto", tok.id, s->requested, &id);
		pw_msg_summary(m, "unsub=%s(%s,token=%s)",
		    out == UMT_RECORDED ? "recorded" : out == UMT_ALREADY ?
		    "already" : "error", o->name, tok.id);
		pw_token_clear(&tok);
		return out;
	}
	pw_token_clear(&tok);
	/* the address names its organisation; the token itself is a
	   credential (RFC 8058 §6) and is not logged */
	if (h->token != NULL)
		pw_info(m, "unsub_mailto: %s+TOKEN@%s: token %s",
		    c->addrs[h->first].local, c->addrs[h->first].domain,
		    c->ring == NULL ? "not checked (unsubscribe_keys unset)" :
		    pw_token_status_str(ts));
	/* The plain address, or a token that does not verify. */
	o = *org_r;
	if (o == NULL || !o->mailto_from) {
		pw_msg_summary(m, "unsub=ignored(%s)", h->token == NULL ?
		    "no token" : pw_token_status_str(ts));
		return UMT_NONE;
	}
	/* RFC 7489 §6.6.2: the From domain's owner says this From is not
	   theirs; anyone could otherwise unsubscribe someone else */
	if (m->auth.dmarc.done && m->auth.dmarc.result == PW_AUTH_FAIL) {
		pw_msg_summary(m, "unsub=ignored(%s,From fails DMARC)",
		    o->name);
		return UMT_NONE;
	}
	if ((addr = from_addr(m)) == NULL) {
		pw_msg_summary(m, "unsub=ignored(%s,no usable From)", o->name);
		return UMT_NONE;
	}
	if ((st = store_get(c, m)) == NULL)
		out = UMT_FAIL;
	else
		out = record(m, st, o->name, addr, "", "mailto_from", NULL,
		    s->requested, &id);
	free(addr);
	pw_msg_summary(m, "unsub=%s(%s,from)", out == UMT_RECORDED ?
	    "recorded" : out == UMT_ALREADY ? "already" : "error", o->name);
	return out;
}

static enum pw_verdict
umt_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct umt_state *s = call->priv;
	const struct umt_conf *c = call->conf;
	const struct pw_org *o;
	size_t dropped = 0;

	for (size_t i = 0; i < s->nhits; i++) {
		switch (one(m, call->conf, s, &s->hits[i], &o)) {
		case UMT_FAIL:
			pw_warn(m, "unsub_mailto: %s@%s: store: %s",
			    c->addrs[s->hits[i].first].local,
			    c->addrs[s->hits[i].first].domain,
			    pw_store_strerror());
			pw_msg_reply(m, "451", "4.3.0", "unsubscribe request "
			    "could not be recorded, try again later");
			return PW_TEMPFAIL;
		case UMT_NONE:
			continue;	/* delivered: a person may act on it */
		case UMT_RECORDED:
		case UMT_ALREADY:
			break;
		}
		if (o != NULL && o->mailto_action == PW_MAILTO_DISCARD) {
			pw_msg_delrcpt(m, s->hits[i].rcpt);
			dropped++;
		}
	}
	/* Every recipient was an unsubscribe address being dropped. */
	if (dropped > 0 && pw_comply_live(m) == 0)
		return PW_DISCARD;
	return PW_DUNNO;
}

/* umt_decides - umt_mail only notes the time */
static bool
umt_decides(const void *conf)
{
	(void)conf;
	return false;
}

const struct pw_policy pol_unsub_mailto = {
    .name = "unsub_mailto",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_RCPTS | PW_NEED_HEADERS,
    .dirs = PW_DIR_IN,
    .msg_state_size = sizeof(struct umt_state),
    .init = umt_init,
    .deinit = umt_deinit,
    .mail_decides = umt_decides,
    .mail = umt_mail,
    .rcpt = umt_rcpt,
    .eom = umt_eom,
};
