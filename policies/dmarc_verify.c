/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_verify - DMARC (RFC 7489) for inbound mail, at end of message.
 *
 * Reads the SPF and DKIM outcomes from msg->auth (spf_verify and
 * dkim_verify run first), checks the RFC 5322.From header (exactly one
 * From with exactly one address that parses: the CVE-2019-16378 class of
 * bypass), looks the DMARC record up itself through the shared resolver
 * (_dmarc.<From domain>, then the organizational domain, RFC 7489 section
 * 6.6.3) and parses it with our own parser (dmarc_record.c).
 *
 * libopendmarc: no part of it is used here any more.  Its organizational
 * domain code (opendmarc_get_tld) ignores the PSL's wildcard and
 * exception rules ("*.ck", "!www.ck", "*.kawasaki.jp", many private
 * entries): shop.co.ck and evil.co.ck both got "co.ck" and aligned with
 * each other.  Its record parser refuses a record whose p is missing or
 * invalid even when the rua is valid, which RFC 7489 6.6.3 makes p=none.
 * Before that, 1.4.2 already reported strict alignment for a parent
 * domain, ignored pct and treated a temporary SPF or DKIM error as a
 * failure, so alignment, p/sp and pct were ours already.  The library is
 * still linked for postwarden-ctl dnscheck (tools/ctl_dnscheck.c).
 *
 * Organizational domains come from libpsl (the matcher curl and wget
 * use) over the list file dmarc_psl_file: see org_domain().
 *
 * Temporary failures: a DMARC record that cannot be fetched, or a
 * temperror on an identifier that would be aligned when no other aligned
 * identifier passes, makes the result temperror, never fail.  When the
 * published policy is quarantine or reject, or the record itself is
 * missing and no identifier passes for the From domain itself (the
 * disposition depends on the missing answer), the message is deferred
 * (dmarc_on_temperror).
 */
#include "autoconf.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpsl.h>

#include "base/config.h"
#include "base/log.h"
#include "dns/dns.h"
#include "parsers/addr.h"
#include "parsers/auth.h"
#include "parsers/authres.h"
#include "parsers/dmarc_record.h"
#include "policy.h"
#include "snapshot.h"
#include "store/dmarc_rows.h"
#include "store/store.h"

enum dmv_action { DMV_REJECT, DMV_QUARANTINE, DMV_ACCEPT };
static const char *const reject_names[] = {"reject", "quarantine", "accept",
    NULL};
static const char *const quarantine_names[] = {"quarantine", "accept",
    NULL};
static const char *const from_check_names[] = {"warn", "enforce", NULL};

struct dmv_settings {
	int	 mode;		/* pw_mode */
	int	 on_reject;	/* dmv_action */
	int	 on_quarantine;	/* 0 quarantine, 1 accept */
	int	 on_temperror;	/* pw_on_error */
	int	 from_check;	/* 0 warn, 1 enforce */
	char	*psl_file;
	bool	 store_results;
};

static const struct pw_setting dmv_settings_tab[] = {
    PW_SET_ENUM("dmarc_mode", "enforce", pw_mode_names, struct dmv_settings,
	mode),
    PW_SET_ENUM("dmarc_on_reject", "reject", reject_names,
	struct dmv_settings, on_reject),
    PW_SET_ENUM("dmarc_on_quarantine", "quarantine", quarantine_names,
	struct dmv_settings, on_quarantine),
    PW_SET_ENUM("dmarc_on_temperror", "tempfail", pw_on_error_names,
	struct dmv_settings, on_temperror),
    PW_SET_ENUM("dmarc_from_check", "enforce", from_check_names,
	struct dmv_settings, from_check),
    PW_SET_STR("dmarc_psl_file", PW_PSL_FILE, 0, struct dmv_settings,
	psl_file),
    PW_SET_BOOL("dmarc_store_results", "yes", struct dmv_settings,
	store_results),
    PW_SET_END,
};

struct dmv_conf {
	struct dmv_settings	 s;
	struct pw_dns		*dns;
	struct pw_store_handle	*store;		/* the snapshot's; NULL: rows
						   not recorded */
	pthread_mutex_t		 rows_lock;
	time_t			 rows_retry;	/* no writer: next try */
	struct pw_dmarc_rows	*rows;		/* writes to store */
};

/*
 * The Public Suffix List, process-wide, loaded once.  psl_load_file()
 * on dmarc_psl_file, not psl_builtin(): the built-in list is a copy
 * compiled into libpsl5 when Debian built it (20230209 for 0.21.2-1),
 * which no package update refreshes, while the file is the one the admin
 * updates with the publicsuffix package (and can point elsewhere).  The
 * whole list is loaded and matched, ICANN and private sections alike:
 * RFC 7489 section 3.2 names the PSL without excluding a section, and
 * Mail::DMARC and OpenDMARC use all of it, so a github.io or
 * alces.network user is an organization of its own.  Lookups on a
 * loaded context only read it: no lock needed.
 */
static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static char *psl_loaded;
static psl_ctx_t *psl;

static void
dmv_deinit(void *vc)
{
	struct dmv_conf *c = vc;

	if (c == NULL)
		return;
	pw_dns_free(&c->dns);
	/* Before the services' deinit closes the store (reverse order). */
	pw_dmarc_rows_free(&c->rows);	/* writes what is queued */
	pthread_mutex_destroy(&c->rows_lock);
	free(c);
}

/* psl_load - read the Public Suffix List the first time; later snapshots
   naming another file are told that this needs a restart */
static int
psl_load(const struct pw_config *cfg, const char *path, char **error_r)
{
	psl_ctx_t *p;
	int rc = 0;

	pthread_mutex_lock(&psl_lock);
	if (psl_loaded == NULL) {
		/* libpsl reads the text list and its DAFSA form alike.  A
		   list without rules would leave only the implicit "*" rule,
		   making co.uk an organization: refused. */
		if (access(path, R_OK) != 0 ||
		    (p = psl_load_file(path)) == NULL) {
			*error_r = pw_asprintf("%s: dmarc_psl_file: cannot "
			    "read %s as a Public Suffix List",
			    pw_config_where(cfg, "dmarc_psl_file"), path);
			rc = -1;
		} else if (psl_suffix_count(p) == 0) {
			psl_free(p);
			*error_r = pw_asprintf("%s: dmarc_psl_file: %s has no "
			    "rules", pw_config_where(cfg, "dmarc_psl_file"),
			    path);
			rc = -1;
		} else {
			psl = p;
			psl_loaded = pw_strdup(path);
		}
	} else if (strcmp(psl_loaded, path) != 0) {
		pw_syslog(LOG_WARNING, "dmarc_psl_file changed to %s: still "
		    "using %s until restart", path, psl_loaded);
	}
	pthread_mutex_unlock(&psl_lock);
	return rc;
}

static int
dmv_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct dmv_settings *s = vs;
	struct dmv_conf *c;

	if (s->mode == PW_MODE_OFF)
		return 0;
	if (psl_load(cfg, s->psl_file, error_r) < 0)
		return -1;
	c = pw_calloc(1, sizeof(*c));
	c->s = *s;
	c->s.psl_file = NULL;	/* owned by the settings, not needed */
	c->dns = pw_dns_ref(pw_services(cfg)->dns);
	/* The row writer starts at the first evaluation, i.e. after the
	   daemon dropped its privileges: a database created by root here
	   would not be writable later. */
	pthread_mutex_init(&c->rows_lock, NULL);
	if (s->store_results && cfg->core.store != NULL)
		c->store = pw_services(cfg)->store;
	*conf_r = c;
	return 0;
}

/*
 * dname - a domain name as DMARC compares it: lowercase (ASCII here;
 * UTF-8 through libpsl, which lowercases as its list is stored) and
 * without the trailing dot of an absolute name.  libpsl does neither
 * itself: it answers "CO.CK" for "SHOP.CO.CK" and "ck." for
 * "shop.co.ck.".
 */
static char *
dname(struct pw_msg *m, const char *d)
{
	char *s = NULL, *low = NULL;
	const char *p;
	size_t n;

	for (p = d; *p != '\0' && (unsigned char)*p < 0x80; p++)
		;
	if (*p != '\0' && psl_str_to_utf8lower(d, "utf-8", NULL, &low) ==
	    PSL_SUCCESS) {
		s = pw_arena_strdup(m->arena, low);
		psl_free_string(low);
	}
	if (s == NULL)		/* ASCII, or UTF-8 libpsl cannot convert */
		s = pw_lowercase(pw_arena_strdup(m->arena, d));
	if ((n = strlen(s)) > 1 && s[n - 1] == '.')
		s[n - 1] = '\0';
	return s;
}

/*
 * org_domain - the organizational domain (RFC 7489 section 3.2): the
 * registrable domain by the full PSL algorithm, "*" wildcards and "!"
 * exceptions included (shop.co.ck under "*.ck", www.ck under "!www.ck",
 * x.shop.kawasaki.jp under "*.kawasaki.jp").  A public suffix itself
 * (co.ck) has no registrable domain: it is its own, as RFC 7489 leaves
 * it.  d is a dname().
 */
static const char *
org_domain(const char *d)
{
	const char *reg = psl_registrable_domain(psl, d);

	return reg != NULL ? reg : d;	/* reg points into d */
}

/* aligned - RFC 7489 section 3.1: strict = same name, relaxed = same
   organizational domain */
static bool
aligned(struct pw_msg *m, const char *from, const char *from_org,
    const char *id, bool strict)
{
	if (id == NULL)
		return false;
	id = dname(m, id);
	if (strict)
		return strcmp(from, id) == 0;
	return strcmp(from_org, org_domain(id)) == 0;
}

/* from_domain - the single RFC 5322.From domain, or NULL after a reply
   or a warning (*v_r says which) */
static const char *
from_domain(struct pw_msg *m, const struct dmv_conf *c, enum pw_verdict *v_r)
{
	size_t nfrom = pw_msg_hdr_count(m, "From");
	const char **addrs, *err = NULL, *why = NULL, *xcode = "5.7.1";
	const char *d;
	int n = -1;

	*v_r = PW_DUNNO;
	if (nfrom != 1)
		why = nfrom == 0 ? "no From header" : "more than one From header";
	else if ((n = pw_addr_parse_list(m->arena, pw_msg_hdr(m, "From")->value,
	    &addrs, &err)) < 0) {
		why = pw_arena_printf(m->arena, "From header cannot be parsed "
		    "(%s)", err);
		xcode = "5.6.0";
	} else if (n != 1)
		why = n == 0 ? "From header without an address" :
			       "From header with more than one address";
	if (why == NULL) {
		d = pw_addr_domain(addrs[0]);
		if (d != NULL && *d != '[')
			return d;
		why = "From address without a domain name";
	}
	m->auth.dmarc.done = true;
	m->auth.dmarc.result = PW_AUTH_PERMERROR;
	m->auth.dmarc.reason = why;
	pw_msg_summary(m, "dmarc=permerror (%s)", why);
	if (c->s.from_check == 1 && c->s.mode == PW_MODE_ENFORCE) {
		pw_msg_reply(m, "550", xcode, "%s (RFC 5322 section 3.6.2)",
		    why);
		*v_r = PW_REJECT;
	} else {
		pw_warn(m, "dmarc_verify: %s (warn only)", why);
	}
	return NULL;
}

/* fetch_record - the DMARC records at _dmarc.domain (TXT records that
   start with v=DMARC1, by dmarc_record.c): their number, the first in
   *rec_r; -1: temporary failure (*why_r) */
static int
fetch_record(struct pw_msg *m, const struct dmv_conf *c, const char *domain,
    const char **rec_r, const char **why_r)
{
	char *name = pw_asprintf("_dmarc.%s", domain), **txt;
	struct pw_dmarc_record rec;
	enum pw_dns_status st;
	int found = 0;

	st = pw_dns_txt(c->dns, pw_dns_msg_budget(m, PW_DNS_STAGE_MS), name,
	    &txt, why_r);
	free(name);
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		if (st == PW_DNS_LIMIT)
			*why_r = "too many DNS lookups";
		return -1;
	}
	for (size_t i = 0; txt != NULL && txt[i] != NULL; i++) {
		/* RFC 7489 6.6.3 step 2: records not starting with
		   v=DMARC1 are discarded. */
		if (pw_dmarc_record_parse(txt[i], strlen(txt[i]), &rec) < 0)
			continue;
		if (found++ == 0)
			*rec_r = pw_arena_strdup(m->arena, txt[i]);
	}
	pw_strv_free(&txt);
	return found;
}

/*
 * use_record - the policy (p, or sp for a From below the record's
 * domain), pct, adkim and aspf of a record fetch_record() found; -1: the
 * record asks for no DMARC processing.  RFC 7489 section 6.6.3 step 6:
 * "If a retrieved policy record does not contain a valid "p" tag, or
 * contains an "sp" tag that is not valid, then: 1. if a "rua" tag is
 * present and contains at least one syntactically valid reporting URI,
 * the Mail Receiver SHOULD act as if a record containing a valid "v" tag
 * and "p=none" was retrieved, and continue processing; 2. otherwise, the
 * Mail Receiver applies no DMARC processing to this message."  The
 * second case is reported as permerror, the A-R result RFC 7489 section
 * 11.2 gives to "a syntactically incorrect DMARC record", and no policy
 * applies.  The RFC 9989 tags (np, psd, t) are parsed but do not change
 * the outcome yet.
 */
static int
use_record(struct pw_msg *m, const char *txt, bool at_org, bool *adkim_r,
    bool *aspf_r)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	struct pw_dmarc_record rec;
	enum pw_dmarc_policy p, sp;

	if (pw_dmarc_record_parse(txt, strlen(txt), &rec) < 0)
		return -1;		/* cannot happen: fetch_record() */
	p = rec.p;
	sp = rec.sp;
	if (p == PW_DMARC_P_UNSET || (rec.bad & PW_DMARC_BAD_SP) != 0) {
		if (rec.rua_valid == 0)
			return -1;
		pw_info(m, "dmarc: %s: record without a valid p%s but with "
		    "a valid rua: p=none (RFC 7489 6.6.3)", r->from_domain,
		    (rec.bad & PW_DMARC_BAD_SP) != 0 ? " or sp" : "");
		p = sp = PW_DMARC_P_NONE;
	}
	*adkim_r = rec.adkim_strict;
	*aspf_r = rec.aspf_strict;
	/* sp applies to a From below the domain of the record. */
	r->policy = at_org && sp != PW_DMARC_P_UNSET ? sp : p;
	r->pct = rec.pct;
	return 0;
}

/* evaluate - result and alignment from msg->auth; see the file comment */
static void
evaluate(struct pw_msg *m, const char *from, bool strict_spf,
    bool strict_dkim)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	const struct pw_spf_res *spf = &m->auth.spf;
	bool maybe = false;

	if (spf->done && aligned(m, from, r->org_domain, spf->domain,
	    strict_spf)) {
		if (spf->result == PW_AUTH_PASS)
			r->spf_aligned = true;
		else if (spf->result == PW_AUTH_TEMPERROR)
			maybe = true;
	}
	for (size_t i = 0; i < m->auth.ndkim; i++) {
		const struct pw_dkim_res *d = &m->auth.dkim[i];

		if (!aligned(m, from, r->org_domain, d->domain, strict_dkim))
			continue;
		if (d->result == PW_AUTH_PASS)
			r->dkim_aligned = true;
		else if (d->result == PW_AUTH_TEMPERROR)
			maybe = true;
	}
	if (r->spf_aligned || r->dkim_aligned)
		r->result = PW_AUTH_PASS;
	else if (maybe) {
		r->result = PW_AUTH_TEMPERROR;
		r->reason = "an aligned identifier had a temporary error";
	} else
		r->result = PW_AUTH_FAIL;
}

/* disposition - what the policy asks for, after pct (RFC 7489 6.6.4:
   a message not sampled gets the next policy down) */
static enum pw_dmarc_policy
disposition(const struct pw_dmarc_res *r)
{
	enum pw_dmarc_policy p = r->policy;

	if (r->result != PW_AUTH_FAIL)
		return PW_DMARC_P_NONE;
	if (r->pct < 100 && (int)arc4random_uniform(100) >= r->pct)
		p = p == PW_DMARC_P_REJECT ? PW_DMARC_P_QUARANTINE :
					     PW_DMARC_P_NONE;
	return p;
}

/* rows_get - the row writer, started with the store on first use; NULL
   if not recorded.  A store that cannot be opened (down at the first
   evaluation) is tried again a minute later, not given up for good. */
#define ROWS_RETRY_S	60

static struct pw_dmarc_rows *
rows_get(struct pw_msg *m, const struct dmv_conf *cc)
{
	struct dmv_conf *c = (struct dmv_conf *)cc;	/* only rows_* */
	struct pw_dmarc_rows *rows;
	struct pw_store *st;
	char *err = NULL;

	if (c->store == NULL)
		return NULL;
	pthread_mutex_lock(&c->rows_lock);
	if (c->rows == NULL && time(NULL) >= c->rows_retry) {
		if ((st = pw_store_handle_get(c->store, m)) == NULL ||
		    (c->rows = pw_dmarc_rows_new(st, &err)) == NULL) {
			/* Losing report rows must not stop mail. */
			pw_warn(m, "dmarc_store_results: %s: %s; DMARC "
			    "evaluations are logged only (next try in %d s)",
			    pw_store_handle_spec(c->store),
			    err ? err : "cannot open", ROWS_RETRY_S);
			free(err);
			c->rows_retry = time(NULL) + ROWS_RETRY_S;
		}
	}
	rows = c->rows;
	pthread_mutex_unlock(&c->rows_lock);
	return rows;
}

static void
store_row(struct pw_msg *m, const struct dmv_conf *c)
{
	struct pw_dmarc_rows *rows;
	const struct pw_dmarc_res *r = &m->auth.dmarc;
	struct pw_buf dr = {0}, dd = {0};
	struct pw_dmarc_row row;

	for (size_t i = 0; i < m->auth.ndkim; i++) {
		pw_buf_printf(&dr, "%s%s", i ? "," : "",
		    pw_auth_result_name(m->auth.dkim[i].result));
		pw_buf_printf(&dd, "%s%s", i ? "," : "",
		    m->auth.dkim[i].domain ? m->auth.dkim[i].domain : "");
	}
	memset(&row, 0, sizeof(row));
	row.time = time(NULL);
	row.from_domain = r->from_domain;
	row.source_ip = m->client->addr;
	row.policy = pw_dmarc_policy_name(r->policy);
	row.disposition = pw_dmarc_policy_name(r->disposition);
	row.spf_result = pw_auth_result_name(m->auth.spf.result);
	row.spf_domain = m->auth.spf.domain ? m->auth.spf.domain : "";
	row.dkim_result = dr.data ? dr.data : "none";
	row.dkim_domain = dd.data ? dd.data : "";
	pw_info(m, "dmarc: from=%s ip=%s policy=%s disposition=%s spf=%s/%s "
	    "dkim=%s/%s", row.from_domain, row.source_ip, row.policy,
	    row.disposition, row.spf_result, row.spf_domain, row.dkim_result,
	    row.dkim_domain);
	if ((rows = rows_get(m, c)) != NULL)
		pw_dmarc_rows_add(rows, &row);	/* written within 0.5 s */
	pw_buf_free(&dr);
	pw_buf_free(&dd);
}

/* act - the verdict for the result, by mode and the on_* settings */
static enum pw_verdict
act(struct pw_msg *m, const struct dmv_conf *c)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	bool enforce = c->s.mode == PW_MODE_ENFORCE;

	if (r->result == PW_AUTH_TEMPERROR &&
	    ((r->policy == PW_DMARC_P_UNSET && !r->spf_aligned &&
	    !r->dkim_aligned) ||
	    r->policy == PW_DMARC_P_QUARANTINE ||
	    r->policy == PW_DMARC_P_REJECT)) {
		pw_info(m, "dmarc: %s: temperror (%s)%s", r->from_domain,
		    r->reason ? r->reason : "?", enforce &&
		    c->s.on_temperror == PW_ON_ERROR_TEMPFAIL ? "" :
		    " (not deferred)");
		if (enforce && c->s.on_temperror == PW_ON_ERROR_TEMPFAIL)
			pw_msg_defer_if_permit(m, "DMARC check for %s could "
			    "not be completed, try again later",
			    r->from_domain);
		return PW_DUNNO;
	}
	if (r->result != PW_AUTH_FAIL || r->disposition == PW_DMARC_P_NONE)
		return PW_DUNNO;
	if (!enforce) {
		pw_warn(m, "dmarc: %s: fail, policy %s (warn only)",
		    r->from_domain, pw_dmarc_policy_name(r->disposition));
		return PW_DUNNO;
	}
	if (r->disposition == PW_DMARC_P_REJECT &&
	    c->s.on_reject == DMV_REJECT) {
		pw_msg_reply(m, "550", "5.7.1", "Email from %s rejected per "
		    "its DMARC policy", r->from_domain);
		return PW_REJECT;
	}
	if ((r->disposition == PW_DMARC_P_REJECT &&
	    c->s.on_reject == DMV_QUARANTINE) ||
	    (r->disposition == PW_DMARC_P_QUARANTINE &&
	    c->s.on_quarantine == 0)) {
		pw_msg_reply(m, "250", "2.7.0", "DMARC policy of %s: "
		    "quarantine", r->from_domain);
		return PW_QUARANTINE;
	}
	return PW_DUNNO;
}

static enum pw_verdict
dmv_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const struct dmv_conf *c = call->conf;
	struct pw_dmarc_res *r = &m->auth.dmarc;
	const char *from, *rec = NULL, *why = NULL, *rec_domain;
	bool adkim_strict = false, aspf_strict = false;
	int found;
	enum pw_verdict v;

	if ((from = from_domain(m, c, &v)) == NULL)
		return v;
	from = dname(m, from);
	r->done = true;
	r->from_domain = from;
	r->org_domain = org_domain(from);
	rec_domain = from;
	found = fetch_record(m, c, from, &rec, &why);
	/* RFC 7489 6.6.3 step 3: the organizational domain is asked only
	   when the From domain's set of records is empty: two records at
	   the From domain do not send us on to the parent's. */
	if (found == 0 && strcmp(r->org_domain, from) != 0) {
		rec_domain = r->org_domain;
		found = fetch_record(m, c, rec_domain, &rec, &why);
	}
	if (found < 0) {
		/* No record known.  An identifier that passes for the From
		   domain itself is aligned under any adkim/aspf: the outcome
		   is then pass or none whatever the record says, so act()
		   has nothing to defer for. */
		evaluate(m, from, true, true);
		r->result = PW_AUTH_TEMPERROR;
		r->reason = pw_arena_printf(m->arena, "DMARC record lookup: "
		    "%s", why ? why : "temporary failure");
	} else if (found == 0) {
		r->result = PW_AUTH_NONE;
	} else if (found > 1) {
		/* RFC 7489 6.6.3 step 5: "If the remaining set contains
		   multiple records or no records, policy discovery
		   terminates and DMARC processing is not applied to this
		   message." */
		r->result = PW_AUTH_NONE;
		r->reason = pw_arena_printf(m->arena, "%d DMARC records at "
		    "_dmarc.%s, none applies", found, rec_domain);
		pw_info(m, "dmarc: %s: %s (RFC 7489 6.6.3)", from, r->reason);
	} else if (use_record(m, rec, rec_domain != from, &adkim_strict,
	    &aspf_strict) < 0) {
		r->result = PW_AUTH_PERMERROR;
		r->reason = "bad DMARC record";
	} else {
		evaluate(m, from, aspf_strict, adkim_strict);
		r->disposition = disposition(r);
		store_row(m, c);
	}
	pw_msg_summary(m, "dmarc=%s", pw_auth_result_name(r->result));
	return act(m, c);
}

const struct pw_policy pol_dmarc_verify = {
    .name = "dmarc_verify",
    .phase = PW_PHASE_VERIFY,
    .needs = PW_NEED_HEADERS,
    .dirs = PW_DIR_IN,
    .settings = dmv_settings_tab,
    .settings_size = sizeof(struct dmv_settings),
    .init = dmv_init,
    .deinit = dmv_deinit,
    .eom = dmv_eom,
};
