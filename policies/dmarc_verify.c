/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_verify - DMARC (RFC 7489) for inbound mail, at end of message.
 *
 * Reads the SPF and DKIM outcomes from msg->auth (spf_verify and
 * dkim_verify run first), checks the RFC 5322.From header (exactly one
 * From with exactly one address that parses: the CVE-2019-16378 class of
 * bypass), looks the DMARC record up itself through the shared resolver
 * (_dmarc.<From domain>, then the organizational domain, RFC 7489 section
 * 6.6.3) and hands it to libopendmarc with opendmarc_policy_store_dmarc()
 * for parsing: libopendmarc never does DNS here.
 *
 * Alignment (relaxed: same organizational domain, from the Public Suffix
 * List; strict: same name) and the choice of p or sp are done here, as is
 * pct (RFC 7489 section 6.6.4): libopendmarc 1.4.2 reports strict
 * alignment for a parent domain, ignores pct and treats a temporary SPF
 * or DKIM error as a failure; its organizational domain of "b.com" is
 * "com" (see org_domain).
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

#include <opendmarc/dmarc.h>

#include "base/config.h"
#include "base/log.h"
#include "dns/dns.h"
#include "parsers/addr.h"
#include "parsers/auth.h"
#include "parsers/authres.h"
#include "policy.h"
#include "snapshot.h"
#include "store/dmarc_rows.h"
#include "store/store.h"

/* Exported by libopendmarc 1.4.2, not declared in dmarc.h. */
int	opendmarc_get_tld(u_char *, u_char *, size_t);

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
	bool			 rows_tried;
	struct pw_dmarc_rows	*rows;		/* writes to store */
};

/* libopendmarc's PSL table is process-wide: loaded once. */
static pthread_mutex_t psl_lock = PTHREAD_MUTEX_INITIALIZER;
static char *psl_loaded;
static OPENDMARC_LIB_T psl_lib;

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
	int rc = 0;

	pthread_mutex_lock(&psl_lock);
	if (psl_loaded == NULL) {
		if (access(path, R_OK) != 0 ||
		    strlen(path) >= sizeof(psl_lib.tld_source_file)) {
			*error_r = pw_asprintf("%s: dmarc_psl_file: cannot "
			    "read %s", pw_config_where(cfg, "dmarc_psl_file"),
			    path);
			rc = -1;
		} else {
			memset(&psl_lib, 0, sizeof(psl_lib));
			psl_lib.tld_type = OPENDMARC_TLD_TYPE_MOZILLA;
			strcpy((char *)psl_lib.tld_source_file, path);
			if (opendmarc_policy_library_init(&psl_lib) != 0) {
				*error_r = pw_asprintf("%s: dmarc_psl_file: "
				    "libopendmarc cannot load %s",
				    pw_config_where(cfg, "dmarc_psl_file"),
				    path);
				rc = -1;
			} else {
				psl_loaded = pw_strdup(path);
			}
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
 * org_domain - the organizational domain (RFC 7489 section 3.2, PSL), or
 * d itself.  libopendmarc 1.4.2's opendmarc_get_tld() answers "com" for
 * "b.com" (any one-character label right above the public suffix), which
 * would align every such domain with every other: b.com with x.com.  It
 * is right when another label comes first ("pw.b.com" gives "b.com"), so
 * we ask about "pw.<d>"; if the answer is that probe itself, d is a
 * public suffix and has no organizational domain but itself.
 */
static const char *
org_domain(struct pw_msg *m, const char *d)
{
	u_char buf[256];
	char *probe;
	int rc;

	if (strlen(d) + 4 >= sizeof(buf))
		return d;
	probe = pw_asprintf("pw.%s", d);
	memset(buf, 0, sizeof(buf));
	rc = opendmarc_get_tld((u_char *)probe, buf, sizeof(buf));
	if (rc != 0 || buf[0] == '\0' || pw_strcaseeq((char *)buf, probe)) {
		free(probe);
		return d;
	}
	free(probe);
	return pw_lowercase(pw_arena_strdup(m->arena, (char *)buf));
}

/* aligned - RFC 7489 section 3.1: strict = same name, relaxed = same
   organizational domain */
static bool
aligned(struct pw_msg *m, const char *from, const char *from_org,
    const char *id, bool strict)
{
	if (id == NULL)
		return false;
	if (strict)
		return pw_strcaseeq(from, id);
	return pw_strcaseeq(from_org, org_domain(m, id));
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

/* fetch_record - the one v=DMARC1 TXT record at _dmarc.domain: 1 found,
   0 none, -1 temporary failure (*why_r) */
static int
fetch_record(struct pw_msg *m, const struct dmv_conf *c, const char *domain,
    const char **rec_r, const char **why_r)
{
	char *name = pw_asprintf("_dmarc.%s", domain), **txt;
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
		/* RFC 7489 6.6.3: records not starting with v=DMARC1 are
		   discarded; more than one left means no policy. */
		if (strncmp(txt[i], "v=DMARC1", 8) != 0 ||
		    (txt[i][8] != '\0' && txt[i][8] != ';' &&
		    txt[i][8] != ' ' && txt[i][8] != '\t'))
			continue;
		if (found++ == 0)
			*rec_r = pw_arena_strdup(m->arena, txt[i]);
	}
	pw_strv_free(&txt);
	return found == 1 ? 1 : 0;
}

static enum pw_dmarc_policy
map_policy(int p)
{
	return p == DMARC_RECORD_P_REJECT ? PW_DMARC_P_REJECT :
	    p == DMARC_RECORD_P_QUARANTINE ? PW_DMARC_P_QUARANTINE :
	    p == DMARC_RECORD_P_NONE ? PW_DMARC_P_NONE : PW_DMARC_P_UNSET;
}

/* parse_record - p/sp/pct/adkim/aspf through libopendmarc */
static int
parse_record(struct pw_msg *m, const char *rec, const char *rec_domain,
    bool at_org, int *adkim_r, int *aspf_r)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	DMARC_POLICY_T *p = opendmarc_policy_connect_init((u_char *)"0.0.0.0",
	    0);
	int rc, pol = 0, sp = 0, pct = 100;

	if (p == NULL)
		return -1;
	rc = opendmarc_policy_store_dmarc(p, (u_char *)rec,
	    (u_char *)rec_domain, at_org ? (u_char *)rec_domain : NULL);
	if (rc == DMARC_PARSE_OKAY) {
		(void)opendmarc_policy_fetch_p(p, &pol);
		(void)opendmarc_policy_fetch_sp(p, &sp);
		(void)opendmarc_policy_fetch_pct(p, &pct);
		(void)opendmarc_policy_fetch_adkim(p, adkim_r);
		(void)opendmarc_policy_fetch_aspf(p, aspf_r);
		/* sp applies to a From below the domain of the record. */
		r->policy = map_policy(at_org && sp != 0 ? sp : pol);
		r->pct = pct < 0 || pct > 100 ? 100 : pct;
	}
	opendmarc_policy_connect_shutdown(p);
	return rc == DMARC_PARSE_OKAY && r->policy != PW_DMARC_P_UNSET ? 0 :
									 -1;
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
   if not recorded */
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
	if (!c->rows_tried) {
		c->rows_tried = true;
		if ((st = pw_store_handle_get(c->store, m)) == NULL ||
		    (c->rows = pw_dmarc_rows_new(st, &err)) == NULL) {
			/* Losing report rows must not stop mail. */
			pw_warn(m, "dmarc_store_results: %s: %s; DMARC "
			    "evaluations are logged only",
			    pw_store_handle_spec(c->store),
			    err ? err : "cannot open");
			free(err);
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
	int found, adkim = DMARC_RECORD_A_RELAXED, aspf = DMARC_RECORD_A_RELAXED;
	enum pw_verdict v;

	if ((from = from_domain(m, c, &v)) == NULL)
		return v;
	from = pw_lowercase(pw_arena_strdup(m->arena, from));
	r->done = true;
	r->from_domain = from;
	r->org_domain = org_domain(m, from);
	rec_domain = from;
	found = fetch_record(m, c, from, &rec, &why);
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
	} else if (parse_record(m, rec, rec_domain, rec_domain != from, &adkim,
	    &aspf) < 0) {
		r->result = PW_AUTH_PERMERROR;
		r->reason = "bad DMARC record";
	} else {
		evaluate(m, from, aspf == DMARC_RECORD_A_STRICT,
		    adkim == DMARC_RECORD_A_STRICT);
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
