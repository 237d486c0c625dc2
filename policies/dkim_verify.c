/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dkim_verify - DKIM verification of inbound mail with libopendkim
 * (RFC 6376; rsa-sha256 and ed25519-sha256 per RFC 8463).
 *
 * Headers go to libopendkim at end of headers, the body is streamed
 * chunk by chunk (never buffered), and keys are fetched at end of message
 * through the shared resolver (dns_hooks.h), charged to the message's
 * DNS budget.  At most dkim_verify_max_signatures signatures are checked
 * (the prescreen callback marks the rest ignored: OpenDKIM #271).
 *
 * Each checked signature becomes one struct pw_dkim_res in msg->auth:
 * pass, fail (bad signature, body hash mismatch, revoked key, expired),
 * policy (key too small, rsa-sha1), permerror (key not found, bad
 * syntax, bad key) or temperror (the key query failed: never a fail;
 * libopendkim alone would read a SERVFAIL as "no key").
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include <opendkim/dkim.h>

#include "base/config.h"
#include "base/log.h"
#include "dns/dns.h"
#include "dns/dns_hooks.h"
#include "keys/pubkeycache.h"
#include "parsers/auth.h"
#include "parsers/authres.h"
#include "policy.h"
#include "snapshot.h"

struct dkv_settings {
	bool	 enable;
	long	 max_sigs;
	long	 min_key_bits;
};

static const struct pw_setting dkv_settings_tab[] = {
    PW_SET_BOOL("dkim_verify", "yes", struct dkv_settings, enable),
    PW_SET_INT("dkim_verify_max_signatures", "5", 1, PW_MAX_SIGS,
	struct dkv_settings, max_sigs),
    PW_SET_INT("dkim_verify_min_key_bits", "1024", 512, 16384,
	struct dkv_settings, min_key_bits),
    PW_SET_END,
};

struct dkv_conf {
	DKIM_LIB	*lib;		/* shared; holds a resolver ref */
	long		 max_sigs;
};

struct dkv_state {
	DKIM	*dkim;
	bool	 nosig;		/* no DKIM-Signature: nothing to do */
	bool	 broken;	/* libopendkim refused the message */
};

static void
dkv_deinit(void *vc)
{
	struct dkv_conf *c = vc;

	if (c == NULL)
		return;
	if (c->lib != NULL)
		dkim_close(c->lib);	/* also drops the resolver ref */
	free(c);
}

/* prescreen - ignore signatures past the cap, in header order */
static DKIM_CBSTAT
prescreen(DKIM *d, DKIM_SIGINFO **sigs, int nsigs)
{
	const struct dkv_conf *c = dkim_get_user_context(d);

	for (int i = 0; c != NULL && i < nsigs; i++)
		if (i >= c->max_sigs)
			dkim_sig_ignore(sigs[i]);
	return DKIM_CBSTAT_CONTINUE;
}

static int
dkv_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct dkv_settings *s = vs;
	unsigned int flags = DKIM_LIBFLAGS_FIXCRLF | DKIM_LIBFLAGS_BADSIGHANDLES;
	unsigned int bits = (unsigned int)s->min_key_bits;
	struct dkv_conf *c;
	struct pw_dns *dns;

	if (!s->enable)
		return 0;
	dns = pw_dns_ref(pw_services(cfg)->dns);
	c = pw_calloc(1, sizeof(*c));
	c->max_sigs = s->max_sigs;
	if ((c->lib = dkim_init(NULL, NULL)) == NULL ||
	    dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_FLAGS, &flags,
	    sizeof(flags)) != DKIM_STAT_OK ||
	    dkim_options(c->lib, DKIM_OP_SETOPT, DKIM_OPTS_MINKEYBITS, &bits,
	    sizeof(bits)) != DKIM_STAT_OK ||
	    dkim_set_prescreen(c->lib, prescreen) != DKIM_STAT_OK ||
	    pw_dns_dkim_attach(c->lib, dns) < 0) {
		*error_r = pw_asprintf("%s: libopendkim initialisation failed",
		    cfg->path);
		pw_dns_free(&dns);
		dkv_deinit(c);
		return -1;
	}
	pw_dns_free(&dns);	/* the library holds its own reference */
	*conf_r = c;
	return 0;
}

/* header_line - "name:value" with every folding line break as CRLF: the
   MTA hands folded values over with bare LFs, and libopendkim does not
   fix those in headers (a folded b= then reads as corrupt base64) */
static void
header_line(struct pw_buf *b, const struct pw_hdr *h)
{
	pw_buf_printf(b, "%s:", h->name);
	for (const char *p = h->value; *p; p++) {
		if (*p == '\n' && (p == h->value || p[-1] != '\r'))
			pw_buf_add(b, "\r", 1);
		pw_buf_add(b, p, 1);
	}
}

static enum pw_verdict
dkv_eoh(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct dkv_conf *c = call->conf;
	struct dkv_state *st = call->priv;
	DKIM_STAT s;

	m->auth.dkim_done = true;
	if (pw_msg_hdr_count(m, DKIM_SIGNHEADER) == 0) {
		st->nosig = true;
		return PW_DUNNO;
	}
	if (m->hdrs_truncated) {
		pw_warn(m, "dkim_verify: headers over max_header_bytes: "
		    "signatures not checked");
		st->broken = true;
		return PW_DUNNO;
	}
	st->dkim = dkim_verify(c->lib, (const unsigned char *)m->qid, NULL,
	    &s);
	if (st->dkim == NULL) {
		pw_warn(m, "dkim_verify: %s", dkim_getresultstr(s));
		st->broken = true;
		return PW_DUNNO;
	}
	dkim_set_user_context(st->dkim, c);
	for (size_t i = 0; i < m->hdrs.n; i++) {
		struct pw_buf line = {0};

		header_line(&line, &m->hdrs.v[i]);
		(void)dkim_header(st->dkim, (unsigned char *)line.data,
		    line.len);
		pw_buf_free(&line);
	}
	s = dkim_eoh(st->dkim);
	if (s == DKIM_STAT_NOSIG)
		st->nosig = true;
	else if (s != DKIM_STAT_OK)
		pw_debug(m, 1, "dkim_verify: eoh: %s", dkim_getresultstr(s));
	return PW_DUNNO;
}

static enum pw_verdict
dkv_body(struct pw_call *call, const unsigned char *p, size_t len)
{
	struct dkv_state *st = call->priv;

	if (st->dkim != NULL && !st->nosig)
		(void)dkim_body(st->dkim, (unsigned char *)p, len);
	return PW_DUNNO;
}

/* sig_result - RFC 8601 result and reason for one signature */
static enum pw_auth_result
sig_result(struct pw_msg *m, DKIM_SIGINFO *sig, bool capped,
    const char **why)
{
	int err = dkim_sig_geterror(sig);

	*why = NULL;
	if (DKIM_SIG_CHECK(sig))
		return PW_AUTH_PASS;
	switch (err) {
	case DKIM_SIGERROR_OK:
		if ((dkim_sig_getflags(sig) & DKIM_SIGFLAG_PROCESSED) == 0) {
			*why = "not verified";
			return PW_AUTH_PERMERROR;
		}
		*why = dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ?
		    "body hash mismatch" : "signature verification failed";
		return PW_AUTH_FAIL;
	case DKIM_SIGERROR_BADSIG:
		*why = dkim_sig_getbh(sig) == DKIM_SIGBH_MISMATCH ?
		    "body hash mismatch" : "signature verification failed";
		return PW_AUTH_FAIL;
	case DKIM_SIGERROR_KEYREVOKED:
		*why = "key revoked";
		return PW_AUTH_FAIL;
	case DKIM_SIGERROR_EXPIRED:
		*why = "signature expired";
		return PW_AUTH_FAIL;
	case DKIM_SIGERROR_FUTURE:
		*why = "signature in the future";
		return PW_AUTH_FAIL;
	case DKIM_SIGERROR_KEYFAIL:
		/* The key query failed: temporary, unless we refused to
		   send it because of the per-message cap. */
		*why = capped ? "too many DNS lookups" : "key query failed";
		return capped ? PW_AUTH_PERMERROR : PW_AUTH_TEMPERROR;
	case DKIM_SIGERROR_NOKEY:
		*why = "key not found";
		return PW_AUTH_PERMERROR;
	case DKIM_SIGERROR_KEYTOOSMALL:
		*why = "key too small";
		return PW_AUTH_POLICY;
	case DKIM_SIGERROR_DNSSYNTAX:
	case DKIM_SIGERROR_MULTIREPLY:
	case DKIM_SIGERROR_KEYVERSION:
	case DKIM_SIGERROR_KEYUNKNOWNHASH:
	case DKIM_SIGERROR_KEYHASHMISMATCH:
	case DKIM_SIGERROR_NOTEMAILKEY:
	case DKIM_SIGERROR_KEYTYPEMISSING:
	case DKIM_SIGERROR_KEYTYPEUNKNOWN:
	case DKIM_SIGERROR_KEYDECODE:
		*why = pw_arena_printf(m->arena, "bad key: %s",
		    dkim_sig_geterrorstr(err) ? dkim_sig_geterrorstr(err) : "?");
		return PW_AUTH_PERMERROR;
	default:
		*why = pw_arena_printf(m->arena, "bad syntax: %s",
		    dkim_sig_geterrorstr(err) ? dkim_sig_geterrorstr(err) : "?");
		return PW_AUTH_PERMERROR;
	}
}

static const char *
alg_name(DKIM_SIGINFO *sig)
{
	dkim_alg_t a;

	if (dkim_sig_getsignalg(sig, &a) != DKIM_STAT_OK)
		return NULL;
	return a == DKIM_SIGN_RSASHA256 ? "rsa-sha256" :
	    a == DKIM_SIGN_ED25519SHA256 ? "ed25519-sha256" :
	    a == DKIM_SIGN_RSASHA1 ? "rsa-sha1" : NULL;
}

/* b_prefix - the first 8 characters of b= (RFC 6008), folding removed */
static const char *
b_prefix(struct pw_msg *m, DKIM_SIGINFO *sig)
{
	const unsigned char *b = dkim_sig_gettagvalue(sig, false,
	    (unsigned char *)"b");
	char out[9];
	size_t n = 0;

	for (; b != NULL && *b != '\0' && n < 8; b++)
		if (*b > ' ' && *b < 0x7f)
			out[n++] = (char)*b;
	out[n] = '\0';
	return n > 0 ? pw_arena_strdup(m->arena, out) : NULL;
}

static void
collect(struct pw_msg *m, DKIM *d, bool capped)
{
	DKIM_SIGINFO **sigs;
	struct pw_buf sum = {0};
	int n;

	if (dkim_getsiglist(d, &sigs, &n) != DKIM_STAT_OK)
		return;
	for (int i = 0; i < n; i++) {
		struct pw_dkim_res *r;
		const unsigned char *s;
		unsigned int bits;

		if (dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_IGNORE ||
		    m->auth.ndkim >= PW_MAX_SIGS) {
			m->auth.dkim_skipped++;
			continue;
		}
		r = &m->auth.dkim[m->auth.ndkim++];
		r->result = sig_result(m, sigs[i], capped, &r->reason);
		if ((s = dkim_sig_getdomain(sigs[i])) != NULL)
			r->domain = pw_lowercase(pw_arena_strdup(m->arena,
			    (const char *)s));
		if ((s = dkim_sig_getselector(sigs[i])) != NULL)
			r->selector = pw_arena_strdup(m->arena,
			    (const char *)s);
		r->algorithm = alg_name(sigs[i]);
		/* RFC 8301 section 3.1: verifiers must not consider
		   rsa-sha1 signatures valid (libopendkim still does). */
		if (r->result == PW_AUTH_PASS && r->algorithm != NULL &&
		    strcmp(r->algorithm, "rsa-sha1") == 0) {
			r->result = PW_AUTH_POLICY;
			r->reason = "rsa-sha1 is not accepted (RFC 8301)";
		}
		r->b = b_prefix(m, sigs[i]);
		if ((dkim_sig_getflags(sigs[i]) & DKIM_SIGFLAG_KEYLOADED) &&
		    dkim_sig_getkeysize(sigs[i], &bits) == DKIM_STAT_OK)
			r->bits = bits;
		pw_buf_printf(&sum, "%s%s", i ? "," : "",
		    pw_auth_result_name(r->result));
		pw_debug(m, 1, "dkim_verify: d=%s s=%s: %s%s%s",
		    r->domain ? r->domain : "?", r->selector ? r->selector : "?",
		    pw_auth_result_name(r->result), r->reason ? ": " : "",
		    r->reason ? r->reason : "");
	}
	pw_debug(m, 2, "dkim_verify: %lu key decodes saved so far",
	    pw_pubkeycache_hits());
	if (m->auth.dkim_skipped > 0)
		pw_info(m, "dkim_verify: %u signature(s) over "
		    "dkim_verify_max_signatures not checked",
		    m->auth.dkim_skipped);
	pw_msg_summary(m, "dkim=%s", sum.data ? sum.data : "none");
	pw_buf_free(&sum);
}

static enum pw_verdict
dkv_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct dkv_state *st = call->priv;
	struct pw_dns_budget *b, *old;
	unsigned int lim;

	if (st->nosig || st->broken || st->dkim == NULL) {
		pw_msg_summary(m, "dkim=none");
		return PW_DUNNO;
	}
	b = pw_dns_msg_budget(m, PW_DNS_STAGE_MS);
	lim = b->limited;
	old = pw_dns_budget_bind(b);
	(void)dkim_eom(st->dkim, NULL);
	pw_dns_budget_bind(old);
	collect(m, st->dkim, b->limited > lim);
	return PW_DUNNO;
}

static void
dkv_cleanup(struct pw_call *call)
{
	struct dkv_state *st = call->priv;

	if (st->dkim != NULL)
		dkim_free(st->dkim);
	st->dkim = NULL;
}

const struct pw_policy pol_dkim_verify = {
    .name = "dkim_verify",
    .phase = PW_PHASE_VERIFY,
    .needs = PW_NEED_HEADERS | PW_NEED_BODY,
    .dirs = PW_DIR_IN,
    .msg_state_size = sizeof(struct dkv_state),
    .settings = dkv_settings_tab,
    .settings_size = sizeof(struct dkv_settings),
    .init = dkv_init,
    .deinit = dkv_deinit,
    .eoh = dkv_eoh,
    .body = dkv_body,
    .eom = dkv_eom,
    .cleanup = dkv_cleanup,
};
