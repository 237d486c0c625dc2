/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_sign - DKIM signing of outbound mail with libopendkim (RFC 6376,
 * RSA-SHA256 and Ed25519-SHA256 per RFC 8463).
 *
 * Runs last (PW_PHASE_SIGN) at end of message over pw_msg_final_hdrs():
 * the headers exactly as they will be delivered, including those that
 * earlier policies add (List-Unsubscribe, ...).  One signature per key the
 * SigningTable names for the author address; each is inserted at index 0.
 * The body is kept by the glue (PW_NEED_BODY_BUFFER) because headers can
 * change until end of message and libopendkim wants headers first.
 *
 * Tenant binding: a key whose domain an organisation owns (org.h
 * pw_orgs_owner) signs only mail of that organisation (msg->comply.org,
 * set by pol_classify), whatever the SigningTable matched; so a customer
 * of a hosting provider cannot get mail signed as another customer.  Keys
 * of domains no organisation owns sign as the SigningTable says.
 *
 * The DKIM_LIB handle and the key set are per config snapshot, read-only,
 * and shared by all threads; DKIM handles never leave their message.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "dns/dns.h"
#include "keys/dkim_keys.h"
#include "keys/dkim_record.h"
#include "keys/rotation.h"
#include "parsers/addr.h"
#include "policy.h"
#include "snapshot.h"

#define DKS_MAX_KEYS	8

/* RFC 6376 §5.4.1 recommended set, plus RFC 8058 §4's List-Unsubscribe-Post. */
#define DKS_SIGN_HEADERS                                                       \
	"From, Reply-To, Subject, Date, To, Cc, Resent-Date, Resent-From, "    \
	"Resent-To, Resent-Cc, In-Reply-To, References, List-Id, List-Help, "  \
	"List-Unsubscribe, List-Unsubscribe-Post, List-Subscribe, List-Post, " \
	"List-Owner, List-Archive, Message-ID, MIME-Version, Content-Type, "   \
	"Content-Transfer-Encoding, Content-ID, Content-Description, Sender, " \
	"Feedback-ID"
#define DKS_OVERSIGN_HEADERS                                                   \
	"From, Subject, Date, To, List-Unsubscribe, List-Unsubscribe-Post"

struct dks_settings {
	char	*key_table;
	char	*signing_table;
	char	*canonicalization;
	char	*sign_headers;
	char	*oversign_headers;
	bool	 allow_unsafe_keys;
	bool	 multiple_signatures;
	long	 signature_ttl;
	char	*rotation_state;	/* keys/rotation.h */
	long	 rotation_overlap;
	long	 rotation_check_interval;
};

static const struct pw_setting dks_settings_tab[] = {
    PW_SET_STR("dkim_key_table", NULL, 0, struct dks_settings, key_table),
    PW_SET_STR("dkim_signing_table", NULL, 0, struct dks_settings,
	signing_table),
    PW_SET_STR("dkim_canonicalization", "relaxed/relaxed", 0,
	struct dks_settings, canonicalization),
    PW_SET_STR("dkim_sign_headers", DKS_SIGN_HEADERS, 0, struct dks_settings,
	sign_headers),
    PW_SET_STR("dkim_oversign_headers", DKS_OVERSIGN_HEADERS, 0,
	struct dks_settings, oversign_headers),
    PW_SET_BOOL("dkim_allow_unsafe_keys", "no", struct dks_settings,
	allow_unsafe_keys),
    PW_SET_BOOL("dkim_multiple_signatures", "yes", struct dks_settings,
	multiple_signatures),
    PW_SET_TIME("dkim_signature_ttl", "0", 0, 366L * 86400,
	struct dks_settings, signature_ttl),
    PW_SET_STR("dkim_rotation_state", PW_STATEDIR "/dkim-rotation", 0,
	struct dks_settings, rotation_state),
    PW_SET_TIME("dkim_rotation_overlap", "2d", 0, 366L * 86400,
	struct dks_settings, rotation_overlap),
    PW_SET_TIME("dkim_rotation_check_interval", "5m", 0, 86400,
	struct dks_settings, rotation_check_interval),
    PW_SET_END,
};

struct dks_conf {
	DKIM_LIB		*lib;
	struct pw_dkim_keys	*keys;
	dkim_canon_t		 hcanon, bcanon;
	char			**sign_hdrs;
	char			**oversign_hdrs;
	struct pw_rotations	*rot;		/* key rotations in progress */
	struct pw_dns		*dns;		/* the snapshot's resolver */
};

struct dks_state {
	DKIM	*dkim[DKS_MAX_KEYS];
	size_t	 n;
};

/* parse_canon - "relaxed/simple" into the two libopendkim values */
static int
parse_canon(const char *s, dkim_canon_t *h, dkim_canon_t *b)
{
	char hs[16], bs[16] = "simple";

	/* RFC 6376 §3.5 c=: a missing body part means "simple". */
	if (sscanf(s, "%15[a-z]/%15[a-z]", hs, bs) < 1)
		return -1;
	if (strcmp(hs, "relaxed") != 0 && strcmp(hs, "simple") != 0)
		return -1;
	if (strcmp(bs, "relaxed") != 0 && strcmp(bs, "simple") != 0)
		return -1;
	*h = strcmp(hs, "relaxed") == 0 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	*b = strcmp(bs, "relaxed") == 0 ? DKIM_CANON_RELAXED : DKIM_CANON_SIMPLE;
	return 0;
}

static void
dks_deinit(void *vconf)
{
	struct dks_conf *c = vconf;

	if (c == NULL)
		return;
	if (c->lib != NULL)
		dkim_close(c->lib);
	pw_dkim_keys_free(&c->keys);
	pw_rotations_free(&c->rot);
	pw_strv_free(&c->sign_hdrs);
	pw_strv_free(&c->oversign_hdrs);
	free(c);
}

/*
 * must_sign - add List-Unsubscribe and List-Unsubscribe-Post to a header
 * list that lacks them: RFC 8058 section 4 requires both in the signature,
 * and an admin's own dkim_sign_headers must not silently drop them.
 */
static char **
must_sign(char **v)
{
	static const char *const need[] = {"List-Unsubscribe",
					   "List-Unsubscribe-Post"};
	size_t n = 0;

	while (v[n] != NULL)
		n++;
	for (size_t j = 0; j < 2; j++) {
		size_t i;

		for (i = 0; i < n && !pw_strcaseeq(v[i], need[j]); i++)
			;
		if (i < n)
			continue;
		v = pw_realloc(v, (n + 2) * sizeof(*v));
		v[n++] = pw_strdup(need[j]);
		v[n] = NULL;
	}
	return v;
}

/* lib_setup - one DKIM_LIB for the snapshot, with our header lists */
static int
lib_setup(struct dks_conf *c, const struct dks_settings *s)
{
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF;
	uint64_t ttl = (uint64_t)s->signature_ttl;

	if ((c->lib = dkim_init(NULL, NULL)) == NULL)
		return -1;
	c->sign_hdrs = must_sign(pw_split_list(s->sign_headers, NULL));
	c->oversign_hdrs = must_sign(pw_split_list(s->oversign_headers, NULL));
	if (dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_SIGNHDRS,
	    c->sign_hdrs, sizeof(char **)) != DKIM_STAT_OK ||
	    dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_OVERSIGNHDRS,
	    c->oversign_hdrs, sizeof(char **)) != DKIM_STAT_OK)
		return -1;
	if (ttl > 0 && dkim_options(c->lib, DKIM_OP_SETOPT,
	    DKIM_OPTS_SIGNATURETTL, &ttl, sizeof(ttl)) != DKIM_STAT_OK)
		return -1;
	return 0;
}

/* check_one - warn when the published record of a key that signs is
   missing or is not its key */
static void
check_one(struct pw_dns *dns, struct pw_dns_budget *b,
    const struct pw_dkim_key *k, const char *what)
{
	enum pw_dkim_published pub;
	const char *why;

	pub = pw_dkim_published(dns, b, k->domain, k->selector, k->pkey, &why);
	if (pub == PW_DKIM_PUB_MISSING || pub == PW_DKIM_PUB_MISMATCH)
		pw_warn(NULL, "dkim_sign: %s: %s._domainkey.%s (%s): %s: "
		    "signatures with it will fail", k->where ? k->where :
		    k->name, k->selector, k->domain, what, why);
	else if (pub == PW_DKIM_PUB_TEMPFAIL)
		pw_info(NULL, "dkim_sign: %s: %s._domainkey.%s: not checked "
		    "(%s)", k->where ? k->where : k->name, k->selector,
		    k->domain, why);
}

/*
 * check_published - postwarden -n, startup and reload: the DNS record of
 * every key that signs (rotations followed as they stand, not moved on),
 * looked up through the shared resolver; 3 s for all of them.
 */
static void
check_published(struct dks_conf *c)
{
	struct pw_dns_budget b;

	pw_dns_budget_init(&b, 0, 3000);
	for (size_t i = 0; i < c->keys->nkeys; i++) {
		const struct pw_dkim_key *k = &c->keys->keys[i];
		struct pw_rotation *r;
		int depth = 0;

		if (strcmp(k->domain, "%") == 0)
			continue;	/* the From domain: not known here */
		while ((r = pw_rotation_find(c->rot, k->domain,
		    k->selector)) != NULL && depth++ < 8 &&
		    atomic_load(&r->phase) == PW_ROT_DONE)
			k = &r->key;
		check_one(c->dns, &b, k, r != NULL && atomic_load(&r->phase) !=
		    PW_ROT_DONE ? "signing, rotation pending or in overlap" :
		    "signing");
		if (r != NULL && atomic_load(&r->phase) == PW_ROT_OVERLAP)
			check_one(c->dns, &b, &r->key, "signing, new in the "
			    "rotation's overlap");
	}
}

static int
dks_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct dks_settings *s = vs;
	struct dks_conf *c;
	struct pw_buf errs = {0};
	char *kwhere, *swhere;

	if (s->key_table == NULL && s->signing_table == NULL)
		return 0;	/* signing not configured: idle */
	if (s->key_table == NULL || s->signing_table == NULL) {
		*error_r = pw_asprintf("%s: dkim_key_table and "
		    "dkim_signing_table go together; set both",
		    pw_config_where(cfg, s->key_table ? "dkim_key_table" :
		    "dkim_signing_table"));
		return -1;
	}
	c = pw_calloc(1, sizeof(*c));
	if (parse_canon(s->canonicalization, &c->hcanon, &c->bcanon) < 0) {
		*error_r = pw_asprintf("%s: dkim_canonicalization = %s: "
		    "expected relaxed|simple[/relaxed|simple]",
		    pw_config_where(cfg, "dkim_canonicalization"),
		    s->canonicalization);
		dks_deinit(c);
		return -1;
	}
	kwhere = pw_strdup(pw_config_where(cfg, "dkim_key_table"));
	swhere = pw_strdup(pw_config_where(cfg, "dkim_signing_table"));
	c->keys = pw_dkim_keys_load(s->key_table, kwhere, s->signing_table,
	    swhere, s->allow_unsafe_keys, s->multiple_signatures, &errs);
	free(kwhere);
	free(swhere);
	if (c->keys == NULL) {
		/* One line per problem; drop the last newline. */
		if (errs.len > 0 && errs.data[errs.len - 1] == '\n')
			errs.data[--errs.len] = '\0';
		*error_r = errs.data;
		dks_deinit(c);
		return -1;
	}
	c->rot = pw_rotations_load(s->rotation_state, true,
	    s->allow_unsafe_keys, &errs);
	if (c->rot == NULL) {
		if (errs.len > 0 && errs.data[errs.len - 1] == '\n')
			errs.data[--errs.len] = '\0';
		*error_r = errs.data;
		dks_deinit(c);
		return -1;
	}
	c->rot->overlap = s->rotation_overlap;
	c->rot->interval = s->rotation_check_interval;
	c->dns = pw_services(cfg)->dns;
	check_published(c);
	pw_buf_free(&errs);
	if (lib_setup(c, s) < 0) {
		*error_r = pw_asprintf("%s: libopendkim initialisation failed",
		    cfg->path);
		dks_deinit(c);
		return -1;
	}
	*conf_r = c;
	return 0;
}

/* author_addr - the single From address, or NULL with *why */
static const char *
author_addr(struct pw_msg *m, const char **why)
{
	const struct pw_hdr *from;
	const char **addrs;
	int n;

	if (pw_msg_hdr_count(m, "From") != 1) {
		*why = pw_msg_hdr_count(m, "From") == 0 ? "no From header" :
							  "several From headers";
		return NULL;
	}
	from = pw_msg_hdr(m, "From");
	n = pw_addr_parse_list(m->arena, from->value, &addrs, why);
	if (n < 0)
		return NULL;
	if (n != 1) {
		*why = n == 0 ? "From has no address" : "From has several "
							"addresses";
		return NULL;
	}
	return addrs[0];
}

/* feed_body - body chunk callback for pw_msg_body_foreach() */
static int
feed_body(void *ctx, const unsigned char *p, size_t len)
{
	struct dks_state *st = ctx;

	for (size_t i = 0; i < st->n; i++)
		if (dkim_body(st->dkim[i], (unsigned char *)p, len) !=
		    DKIM_STAT_OK)
			return -1;
	return 0;
}

static struct pw_metric m_sigs = PW_COUNTER("postwarden_dkim_signatures_total",
    "DKIM-Signature headers added, by d=, s= and key type", "domain",
    "selector", "algorithm");
static struct pw_metric m_sign_fail = PW_COUNTER(
    "postwarden_dkim_sign_failures_total", "Messages a selected key could "
    "not sign", NULL);

/* sign_fail - what to do when a selected key could not sign */
static enum pw_verdict
sign_fail(struct pw_msg *m, const char *what)
{
	pw_metric_inc(&m_sign_fail, NULL);
	pw_warn(m, "dkim_sign: %s", what);
	pw_msg_summary(m, "signed=error");
	if (m->cfg->core.on_internal_error == PW_ON_ERROR_ACCEPT)
		return PW_DUNNO;
	pw_msg_reply(m, "451", "4.3.0", "DKIM signing failed, try again later");
	return PW_TEMPFAIL;
}

/*
 * header_line - "Name:value" as it goes on the wire.  The MTA hands us
 * folded values with bare LF; libopendkim's DKIM_LIBFLAGS_FIXCRLF fixes
 * the body only, and with simple header canonicalization (RFC 6376 3.4.1)
 * a bare LF would be signed as is while the delivered message has CRLF.
 */
static void
header_line(struct pw_buf *b, const struct pw_hdr *h)
{
	pw_buf_puts(b, h->name);
	pw_buf_add(b, ":", 1);
	for (const char *p = h->value; *p; p++) {
		if (*p == '\n' && (p == h->value || p[-1] != '\r'))
			pw_buf_add(b, "\r", 1);
		pw_buf_add(b, p, 1);
	}
}

/* start_one - a DKIM handle for one key, headers fed */
static DKIM *
start_one(struct pw_msg *m, const struct dks_conf *c,
    const struct pw_dkim_key *k, const char *author_domain,
    const struct pw_hdr *hv, size_t hn)
{
	struct pw_buf line = {0};
	DKIM_STAT st;
	DKIM *d;
	const char *domain = strcmp(k->domain, "%") == 0 ? author_domain :
							   k->domain;

	d = dkim_sign(c->lib, (const unsigned char *)m->qid, NULL,
	    (dkim_sigkey_t)k->pem, (const unsigned char *)k->selector,
	    (const unsigned char *)domain, c->hcanon, c->bcanon,
	    k->alg == PW_DKIM_ED25519 ? DKIM_SIGN_ED25519SHA256 :
					DKIM_SIGN_RSASHA256,
	    -1, &st);
	if (d == NULL)
		return NULL;
	/* libopendkim 2.11 folds an Ed25519 DKIM-Signature differently from
	   the form it hashed, which only c=simple headers notice (dkimpy and
	   OpenDKIM both reject it): keep that header on one line. */
	if (k->alg == PW_DKIM_ED25519 && c->hcanon == DKIM_CANON_SIMPLE)
		(void)dkim_set_margin(d, 0);
	for (size_t i = 0; i < hn; i++) {
		line.len = 0;	/* one buffer for every header */
		header_line(&line, &hv[i]);
		st = dkim_header(d, (unsigned char *)line.data, line.len);
		if (st != DKIM_STAT_OK) {
			pw_buf_free(&line);
			dkim_free(d);
			return NULL;
		}
	}
	pw_buf_free(&line);
	if (dkim_eoh(d) != DKIM_STAT_OK) {
		dkim_free(d);
		return NULL;
	}
	return d;
}

/* key_domain - the d= a key signs with */
static const char *
key_domain(const struct pw_dkim_key *k, const char *author)
{
	return strcmp(k->domain, "%") == 0 ? pw_addr_domain(author) :
					     k->domain;
}

/* tenant_keys - drop the keys whose domain belongs to an organisation
   other than the message's; returns how many are left */
static size_t
tenant_keys(struct pw_msg *m, const char *author,
    const struct pw_dkim_key **keys, size_t n)
{
	const struct pw_orgs *orgs = pw_services(m->cfg)->orgs;
	const struct pw_org *tenant = m->comply.org;
	size_t j = 0;

	if (orgs == NULL)
		return n;
	/* A SASL login that no organisation lists (organisations_unknown_sasl
	   = pass) is nobody's submitter, even when its envelope or From
	   names an organisation's domain. */
	if (m->auth_authen != NULL && *m->auth_authen != '\0' &&
	    m->comply.org_how != PW_ORG_BY_SASL)
		tenant = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *d = key_domain(keys[i], author);
		const struct pw_org *owner = pw_orgs_owner(orgs, d);

		if (owner != NULL && owner != tenant) {
			pw_warn(m, "dkim_sign: key %s (d=%s) not used: %s "
			    "belongs to organisation %s, the mail to %s",
			    keys[i]->name, d, d, owner->name,
			    tenant ? tenant->name : "none");
			continue;
		}
		keys[j++] = keys[i];
	}
	return j;
}

static enum pw_verdict
dks_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct dks_conf *c = call->conf;
	struct dks_state *st = call->priv;
	const struct pw_dkim_key *keys[DKS_MAX_KEYS], *sel[DKS_MAX_KEYS];
	const struct pw_hdr *hv;
	const char *author, *why = NULL;
	struct pw_buf sum = {0};
	size_t nkeys, hn;

	if (m->hdrs_truncated) {
		/* Signing a header set we did not see whole would sign the
		   wrong thing; pass it unsigned and say so. */
		pw_info(m, "dkim_sign: not signed: headers over "
		    "max_header_bytes");
		pw_msg_summary(m, "signed=none (headers over max_header_bytes)");
		return PW_DUNNO;
	}
	if ((author = author_addr(m, &why)) == NULL) {
		pw_info(m, "dkim_sign: not signed: %s", why);
		pw_msg_summary(m, "signed=none (%s)", why);
		return PW_DUNNO;
	}
	if ((nkeys = pw_dkim_keys_select(c->keys, author, sel,
	    DKS_MAX_KEYS)) > 0)
		/* Key rotations: the old key, both, or the new one. */
		nkeys = pw_rotations_apply(c->rot, c->dns, sel, nkeys, keys,
		    DKS_MAX_KEYS);
	if (nkeys == 0) {
		pw_msg_summary(m, "signed=none (no SigningTable match for %s)",
		    author);
		return PW_DUNNO;
	}
	if ((nkeys = tenant_keys(m, author, keys, nkeys)) == 0) {
		pw_msg_summary(m, "signed=none (keys of another organisation)");
		return PW_DUNNO;
	}
	hn = pw_msg_final_hdrs(m, &hv);
	for (size_t i = 0; i < nkeys; i++) {
		st->dkim[st->n] = start_one(m, c, keys[i],
		    pw_addr_domain(author), hv, hn);
		if (st->dkim[st->n] == NULL)
			return sign_fail(m, "cannot start a signature");
		st->n++;
	}
	if (pw_msg_body_foreach(m, feed_body, st) < 0)
		return sign_fail(m, "body could not be hashed");
	for (size_t i = 0; i < st->n; i++) {
		unsigned char *sig;
		size_t len;
		DKIM_STAT s = dkim_eom(st->dkim[i], NULL);

		if (s != DKIM_STAT_OK || dkim_getsighdr_d(st->dkim[i],
		    strlen(DKIM_SIGNHEADER) + 2, &sig, &len) != DKIM_STAT_OK) {
			const char *e = dkim_geterror(st->dkim[i]);

			pw_warn(m, "dkim_sign: key %s: %s", keys[i]->name,
			    e ? e : dkim_getresultstr(s));
			pw_buf_free(&sum);
			return sign_fail(m, "signature not produced");
		}
		pw_edit_insert(m, 0, DKIM_SIGNHEADER, (char *)sig);
		pw_metric_inc(&m_sigs, PW_LV(strcmp(keys[i]->domain, "%") == 0 ?
		    pw_addr_domain(author) : keys[i]->domain,
		    keys[i]->selector, keys[i]->alg == PW_DKIM_ED25519 ?
		    "ed25519-sha256" : "rsa-sha256"));
		/* For pol_audit: the first signature's d= and s= (R12, R20). */
		if (m->signed_out.n++ == 0) {
			m->signed_out.d = pw_arena_strdup(m->arena,
			    strcmp(keys[i]->domain, "%") == 0 ?
				pw_addr_domain(author) : keys[i]->domain);
			m->signed_out.s = pw_arena_strdup(m->arena,
			    keys[i]->selector);
		}
		pw_buf_printf(&sum, "%s%s/%s(%s)", i ? "," : "",
		    strcmp(keys[i]->domain, "%") == 0 ?
			pw_addr_domain(author) : keys[i]->domain,
		    keys[i]->selector,
		    keys[i]->alg == PW_DKIM_ED25519 ? "ed25519" : "rsa");
	}
	pw_msg_summary(m, "signed=%s", sum.data);
	pw_buf_free(&sum);
	return PW_DUNNO;
}

static void
dks_cleanup(struct pw_call *call)
{
	struct dks_state *st = call->priv;

	for (size_t i = 0; i < st->n; i++)
		dkim_free(st->dkim[i]);
	st->n = 0;
}

const struct pw_policy pol_dkim_sign = {
    .name = "dkim_sign",
    .phase = PW_PHASE_SIGN,
    .needs = PW_NEED_HEADERS | PW_NEED_BODY_BUFFER,
    .dirs = PW_DIR_OUT,
    .msg_state_size = sizeof(struct dks_state),
    .settings = dks_settings_tab,
    .settings_size = sizeof(struct dks_settings),
    .init = dks_init,
    .deinit = dks_deinit,
    .eom = dks_eom,
    .cleanup = dks_cleanup,
};
