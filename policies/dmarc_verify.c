/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_verify - DMARC for inbound mail by RFC 9989 (which obsoletes RFC
 * 7489 and RFC 9091), at end of message.
 *
 * Reads the SPF and DKIM outcomes from msg->auth (spf_verify and
 * dkim_verify run first), checks the RFC 5322.From header (exactly one
 * From with exactly one address that parses: the CVE-2019-16378 class of
 * bypass), finds the DMARC record itself through the shared resolver and
 * parses it with our own parser (dmarc_record.c).
 *
 * Policy discovery and organizational domains (dmarc_org_domain):
 * tree-walk (the default) is RFC 9989 section 4.10: a walk up the DNS
 * from the From domain, at most eight queries, psd=y/psd=n honoured (see
 * walk_step(), walk_org(), discover()).  psl is RFC 7489 section 6.6.3
 * with the Public Suffix List through libpsl, kept as an explicit option
 * for a transition; the RFC 9989 tags np and t apply in both.
 *
 * Tags (RFC 9989): np (a From domain that does not exist, NXDOMAIN
 * through the shared resolver: check_exists()), psd (the walk), t=y
 * (the policy is not applied: disposition()).  pct, rf and ri are not
 * RFC 9989 tags and change nothing: a record with pct=0 is applied in
 * full (use_record()).
 *
 * libopendmarc: no part of it is used here.  Its organizational domain
 * code (opendmarc_get_tld) ignores the PSL's wildcard and exception rules
 * ("*.ck", "!www.ck"), its record parser (1.4.2) refuses a record whose
 * p is missing or invalid even when the rua is valid and knows none of
 * np, psd, t; it reports strict alignment for a parent domain, ignores
 * pct and treats a temporary SPF or DKIM error as a failure.  The library
 * is still linked for postwarden-ctl dnscheck (tools/ctl_dnscheck.c).
 *
 * Temporary failures: a DMARC record that cannot be fetched, a temporary
 * failure anywhere in a tree walk whose answer matters (the inherited
 * record, or an organizational domain needed for relaxed alignment), the
 * existence check for np when it decides the policy, or a temperror on an
 * identifier that would be aligned when no other aligned identifier
 * passes: the result is temperror, never fail.  When the published policy
 * is quarantine or reject, or the record itself is unknown and no
 * identifier passes for the From domain itself (the disposition depends
 * on the missing answer), the message is deferred (dmarc_on_temperror).
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
enum dmv_org { DMV_ORG_TREE_WALK, DMV_ORG_PSL };
static const char *const org_names[] = {"tree-walk", "psl", NULL};

struct dmv_settings {
	int	 mode;		/* pw_mode */
	int	 on_reject;	/* dmv_action */
	int	 on_quarantine;	/* 0 quarantine, 1 accept */
	int	 on_temperror;	/* pw_on_error */
	int	 from_check;	/* 0 warn, 1 enforce */
	int	 org;		/* dmv_org */
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
    PW_SET_ENUM("dmarc_org_domain", "tree-walk", org_names,
	struct dmv_settings, org),
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
	/* The list is read only when it is used: with the tree walk a
	   missing publicsuffix package is no error. */
	if (s->org == DMV_ORG_PSL && psl_load(cfg, s->psl_file, error_r) < 0)
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
 * psl_org - the organizational domain by the Public Suffix List (RFC 7489
 * section 3.2; dmarc_org_domain = psl only): the registrable domain by
 * the full PSL algorithm, "*" wildcards and "!" exceptions included
 * (shop.co.ck under "*.ck", www.ck under "!www.ck", x.shop.kawasaki.jp
 * under "*.kawasaki.jp").  A public suffix itself (co.ck) has no
 * registrable domain: it is its own, as RFC 7489 leaves it.  d is a
 * dname().
 */
static const char *
psl_org(const char *d)
{
	const char *reg = psl_registrable_domain(psl, d);

	return reg != NULL ? reg : d;	/* reg points into d */
}

/*
 * The DNS Tree Walk, RFC 9989 section 4.10.  From a start name, ask
 * _dmarc.<name>; then, if the start name has 8 labels or more, jump to its
 * last 7 labels ("If x >= 8, remove the left-most (highest-numbered)
 * labels from the subject domain until 7 labels remain"), else drop one
 * label; then one label at a time up to and including the top-level
 * label.  So at most eight queries ("Author Domains with more than eight
 * labels do not result in more than eight DNS queries"), every one
 * through the shared resolver and its cache, charged to the message's
 * DNS budget.
 *
 * At each name the TXT records not starting with v=DMARC1 are discarded
 * and, when several DMARC records remain, "they are all discarded" and
 * the walk goes on (step 2; RFC 7489 6.6.3 step 5 ended discovery
 * there).  A single remaining record with psd=n or psd=y stops the walk
 * (steps 2 and 6); at the start name itself only psd=n does, as the
 * draft text we could read has it (a psd=y there cannot make a name
 * below the start the organizational domain, 4.10.2 rule 2).
 *
 * A temporary failure (or the per-message query cap) at any name ends
 * the walk as failed: what lies above is unknown, so neither the
 * organizational domain nor an inherited policy is known, and the caller
 * makes that temperror, never fail.
 *
 * The walk is resumable: policy discovery asks the start name first and
 * walks on only when it needs to (section 4.10.2's note: no walk is
 * needed when the From domain has a record and the identifiers are the
 * From domain itself, or alignment is strict).
 */
#define DMV_WALK_MAX		8	/* RFC 9989 4.10: eight queries */
#define DMV_WALK_SHORTCUT	8	/* step 4: "If x >= 8" */
#define DMV_WALK_KEEP		7	/* step 4: "until 7 labels remain" */

struct walk_rec {
	const char	*domain;	/* a suffix of walk.start */
	const char	*txt;		/* the one DMARC record there */
	char		 psd;		/* 'y', 'n' or 'u' */
};

struct walk {
	const char	*start;		/* a dname() */
	const char	*next;		/* the next name to ask; NULL: over */
	int		 nq;		/* queries asked */
	int		 at_start;	/* DMARC records at start; -1: not asked */
	bool		 failed;	/* temporary failure: the rest unknown */
	const char	*why;
	int		 nrec;
	struct walk_rec	 recs[DMV_WALK_MAX];	/* longest name first */
};

static void
walk_init(struct walk *w, const char *start)
{
	memset(w, 0, sizeof(*w));
	w->start = start;
	w->next = start;
	w->at_start = -1;
}

static int
labels(const char *d)
{
	int n = 1;

	for (; *d != '\0'; d++)
		if (*d == '.')
			n++;
	return n;
}

/* parent - d without its left-most label; NULL for a single label */
static const char *
parent(const char *d)
{
	const char *dot = strchr(d, '.');

	return dot != NULL && dot[1] != '\0' ? dot + 1 : NULL;
}

/* walk_step - ask the next name; false when the walk is over */
static bool
walk_step(struct pw_msg *m, const struct dmv_conf *c, struct walk *w)
{
	struct pw_dmarc_record rec;
	const char *asked = w->next, *next, *txt = NULL;
	bool first = asked == w->start;
	int n, x;

	if (asked == NULL)
		return false;
	w->nq++;
	n = fetch_record(m, c, asked, &txt, &w->why);
	if (first)
		w->at_start = n;
	if (n < 0) {
		w->failed = true;
		w->next = NULL;
		return false;
	}
	/* steps 4 and 7: the next target */
	next = parent(asked);
	if (first && (x = labels(asked)) >= DMV_WALK_SHORTCUT)
		for (next = asked; x-- > DMV_WALK_KEEP; )
			next = parent(next);
	w->next = next;
	if (n == 1 && pw_dmarc_record_parse(txt, strlen(txt), &rec) == 0) {
		w->recs[w->nrec].domain = asked;
		w->recs[w->nrec].txt = txt;
		w->recs[w->nrec].psd = rec.psd;
		w->nrec++;
		/* steps 2 and 6: psd=n stops anywhere, psd=y above the
		   start name */
		if (rec.psd == 'n' || (rec.psd == 'y' && !first))
			w->next = NULL;
	}
	if (w->nq >= DMV_WALK_MAX)	/* by construction; a guard */
		w->next = NULL;
	return w->next != NULL;
}

static void
walk_finish(struct pw_msg *m, const struct dmv_conf *c, struct walk *w)
{
	while (walk_step(m, c, w))
		;
}

/*
 * walk_org - the organizational domain from a finished walk, RFC 9989
 * section 4.10.2: over the names with a valid record, longest first,
 * "1. If a valid DMARC Policy Record contains the 'psd' tag set to 'n'
 * ('psd=n'), this is the Organizational Domain [...] 2. If a valid DMARC
 * Policy Record, other than the one for the domain where the Tree Walk
 * started, contains the 'psd' tag set to 'y' ('psd=y'), the
 * Organizational Domain is the domain one label below this one [...]
 * 3. Otherwise, select the DMARC Policy Record found at the name with
 * the fewest number of labels. [...] If this process does not determine
 * the Organizational Domain, then the initial target domain is the
 * Organizational Domain."  NULL: the walk failed, unknown.
 */
static const char *
walk_org(const struct walk *w)
{
	const char *d, *below;

	if (w->failed)
		return NULL;
	for (int i = 0; i < w->nrec; i++) {
		d = w->recs[i].domain;
		if (w->recs[i].psd == 'n')
			return d;
		if (w->recs[i].psd == 'y' && d != w->start) {
			/* the label of start just left of d */
			for (below = w->start; parent(below) != d; )
				below = parent(below);
			return below;
		}
	}
	return w->nrec > 0 ? w->recs[w->nrec - 1].domain : w->start;
}


/* One evaluation: the From domain, its walk, its organizational domain. */
struct dmv_eval {
	const struct dmv_conf	*c;
	const char		*from;		/* a dname() */
	struct walk		 fw;		/* the From domain's walk */
	const char		*rec;		/* the record that applies */
	const char		*rec_domain;	/* where it was found */
	enum pw_dmarc_policy	 sub;		/* sp, else p (a subdomain) */
	enum pw_dmarc_policy	 nx;		/* np, else sub (RFC 9989) */
};

/* from_org - the From domain's organizational domain; NULL: unknown (a
   temporary failure in the walk) */
static const char *
from_org(struct pw_msg *m, struct dmv_eval *e)
{
	if (e->c->s.org == DMV_ORG_PSL)
		return psl_org(e->from);
	walk_finish(m, e->c, &e->fw);
	return walk_org(&e->fw);
}

/* is_below - d is p or a name under it */
static bool
is_below(const char *d, const char *p)
{
	size_t dl = strlen(d), pl = strlen(p);

	return dl == pl ? strcmp(d, p) == 0 :
	    dl > pl && d[dl - pl - 1] == '.' && strcmp(d + dl - pl, p) == 0;
}

/*
 * aligned - identifier alignment (RFC 9989 "Identifier Alignment
 * Explained", RFC 7489 3.1):
 * strict = the same name, relaxed = the same organizational domain.  1:
 * aligned, 0: not, -1: unknown (a walk met a temporary failure).  An
 * organizational domain is always the name itself or a parent of it, so
 * an identifier that is not the From's organizational domain or below it
 * cannot share it and needs no walk of its own; one that has not even the
 * top-level label in common with the From domain needs no walk at all.
 */
static int
aligned(struct pw_msg *m, struct dmv_eval *e, const char *id, bool strict)
{
	const char *fo, *io;
	struct walk w;

	if (id == NULL)
		return 0;
	id = dname(m, id);
	if (strcmp(e->from, id) == 0)
		return 1;
	if (strict || strcmp(strrchr(id, '.') ? strrchr(id, '.') + 1 : id,
	    strrchr(e->from, '.') ? strrchr(e->from, '.') + 1 : e->from) != 0)
		return 0;
	if ((fo = from_org(m, e)) == NULL)
		return -1;
	if (!is_below(id, fo))
		return 0;
	if (e->c->s.org == DMV_ORG_PSL)
		io = psl_org(id);
	else {
		walk_init(&w, id);
		walk_finish(m, e->c, &w);
		if ((io = walk_org(&w)) == NULL)
			return -1;
	}
	return strcmp(io, fo) == 0;
}

/*
 * discover - the record that applies to the From domain; its number (-1:
 * unknown, a temporary failure: *why_r; 0: none, DMARC does not apply;
 * 1; more: several at one name, RFC 7489 mode only).
 *
 * Tree walk (RFC 9989 section 4.10.1): "Policy discovery first starts
 * with a query for a valid DMARC Policy Record at the name created by
 * prepending the label '_dmarc' to the Author Domain [...] If a valid
 * DMARC Policy Record is found there, then this is the DMARC Policy
 * Record to be applied".  Otherwise the record "will be the record found
 * at any of the following locations, listed from highest preference to
 * lowest: the Author Domain; the Organizational Domain of the Author
 * Domain; the PSD of the Author Domain", and "PSD policy is not used for
 * Organizational Domains that have published a DMARC Policy Record".
 *
 * PSL (dmarc_org_domain = psl, RFC 7489 section 6.6.3): the From domain,
 * then the organizational domain by the list, asked only when the From
 * domain's set is empty; several records end discovery (step 5).
 */
static int
discover(struct pw_msg *m, struct dmv_eval *e, const char **why_r)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	struct walk *w = &e->fw;
	const char *org;
	int found;

	e->rec_domain = e->from;
	if (e->c->s.org == DMV_ORG_PSL) {
		r->org_domain = org = psl_org(e->from);
		found = fetch_record(m, e->c, e->from, &e->rec, why_r);
		if (found == 0 && strcmp(org, e->from) != 0) {
			e->rec_domain = org;
			found = fetch_record(m, e->c, org, &e->rec, why_r);
		}
		return found;
	}
	walk_step(m, e->c, w);
	if (w->at_start < 0) {
		*why_r = w->why;
		return -1;
	}
	if (w->at_start == 1) {
		e->rec = w->recs[0].txt;
		return 1;
	}
	if (w->at_start > 1)
		pw_info(m, "dmarc: %s: %d DMARC records at _dmarc.%s "
		    "discarded, the tree walk goes on (RFC 9989 4.10 "
		    "step 2)", e->from, w->at_start, e->from);
	walk_finish(m, e->c, w);
	if ((org = walk_org(w)) == NULL) {
		*why_r = w->why;
		return -1;
	}
	r->org_domain = org;
	for (int i = 0; i < w->nrec; i++)
		if (strcmp(w->recs[i].domain, org) == 0) {
			e->rec = w->recs[i].txt;
			e->rec_domain = w->recs[i].domain;
			return 1;
		}
	for (int i = 0; i < w->nrec; i++)
		if (w->recs[i].psd == 'y') {
			e->rec = w->recs[i].txt;
			e->rec_domain = w->recs[i].domain;
			return 1;
		}
	return 0;
}

/*
 * use_record - the policy of the record discover() found: p at the From
 * domain itself; below it sp, or np when the From domain does not exist
 * (decided later by check_exists(), only when it matters).  RFC 9989
 * section 4.10.1: "If a retrieved policy record does not contain a valid
 * 'p' tag, or contains an 'sp' or 'np' tag that is not valid, then: If a
 * 'rua' tag is present and contains at least one syntactically valid
 * reporting URI, the Mail Receiver MUST act as if a record containing
 * 'p=none' was retrieved and continue processing; Otherwise, the Mail
 * Receiver applies no DMARC processing to this message" (-1 here,
 * reported as permerror, the A-R result RFC 7489 section 11.2 gives to a
 * syntactically incorrect record).  RFC 7489 6.6.3 step 6 said the same
 * with SHOULD and without np.
 *
 * pct is not a tag of RFC 9989 and "unknown tags MUST be ignored": a
 * record with pct=0 is applied in full (RFC 7489 applied the next policy
 * down).  Its replacement is t=y (testing), see disposition().  rf and
 * ri never changed the outcome.
 */
static int
use_record(struct pw_msg *m, struct dmv_eval *e, bool *adkim_r,
    bool *aspf_r)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	struct pw_dmarc_record rec;
	enum pw_dmarc_policy p, sp, np;

	if (pw_dmarc_record_parse(e->rec, strlen(e->rec), &rec) < 0)
		return -1;		/* cannot happen: fetch_record() */
	p = rec.p;
	sp = rec.sp;
	np = rec.np;
	if (p == PW_DMARC_P_UNSET ||
	    (rec.bad & (PW_DMARC_BAD_SP | PW_DMARC_BAD_NP)) != 0) {
		if (rec.rua_valid == 0)
			return -1;
		pw_info(m, "dmarc: %s: record without a valid p%s but with "
		    "a valid rua: p=none (RFC 9989 4.10.1)", r->from_domain,
		    (rec.bad & (PW_DMARC_BAD_SP | PW_DMARC_BAD_NP)) != 0 ?
		    ", sp or np" : "");
		p = sp = np = PW_DMARC_P_NONE;
	}
	*adkim_r = rec.adkim_strict;
	*aspf_r = rec.aspf_strict;
	e->sub = sp != PW_DMARC_P_UNSET ? sp : p;
	e->nx = np != PW_DMARC_P_UNSET ? np : e->sub;
	r->policy = strcmp(e->rec_domain, e->from) != 0 ? e->sub : p;
	r->policy_domain = e->rec_domain;
	r->testing = rec.testing;
	r->pct = 100;
	return 0;
}

/* evaluate - result and alignment from msg->auth; see the file comment.
   Only identifiers that passed or had a temporary error are compared
   (RFC 9989 4.10.2: walks start at passing identifiers only). */
static void
evaluate(struct pw_msg *m, struct dmv_eval *e, bool strict_spf,
    bool strict_dkim)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	const struct pw_spf_res *spf = &m->auth.spf;
	bool maybe = false;
	int a;

	if (spf->done && (spf->result == PW_AUTH_PASS ||
	    spf->result == PW_AUTH_TEMPERROR) &&
	    (a = aligned(m, e, spf->domain, strict_spf)) != 0) {
		if (spf->result == PW_AUTH_PASS && a > 0)
			r->spf_aligned = true;
		else
			maybe = true;
	}
	for (size_t i = 0; i < m->auth.ndkim; i++) {
		const struct pw_dkim_res *d = &m->auth.dkim[i];

		if ((d->result != PW_AUTH_PASS &&
		    d->result != PW_AUTH_TEMPERROR) ||
		    (a = aligned(m, e, d->domain, strict_dkim)) == 0)
			continue;
		if (d->result == PW_AUTH_PASS && a > 0)
			r->dkim_aligned = true;
		else
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

/*
 * check_exists - np (RFC 9989 4.10.1): the policy "is taken from the
 * sp= tag (if any) if the RFC5322.From domain exists and the np= tag (if
 * any) if the RFC5322.From domain does not exist"; a name does not exist
 * when the answer is NXDOMAIN (RFC 8020).  Asked through the shared
 * resolver only for a From domain below the record's domain, and only
 * when the answer changes the policy of a message that did not pass.  A
 * temporary failure leaves the policy unknown: temperror, with the
 * stricter of the two so that act() defers.
 */
static void
check_exists(struct pw_msg *m, struct dmv_eval *e)
{
	struct pw_dmarc_res *r = &m->auth.dmarc;
	struct pw_dns_result res;
	enum pw_dns_status st;

	if (strcmp(e->rec_domain, e->from) == 0 || e->nx == e->sub ||
	    (r->result != PW_AUTH_FAIL && r->result != PW_AUTH_TEMPERROR))
		return;
	st = pw_dns_query(e->c->dns, pw_dns_msg_budget(m, PW_DNS_STAGE_MS),
	    e->from, PW_DNS_T_A, &res);
	if (st == PW_DNS_NXDOMAIN) {
		r->policy = e->nx;
		r->nonexistent = true;
	} else if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		r->policy = e->nx > e->sub ? e->nx : e->sub;
		r->result = PW_AUTH_TEMPERROR;
		r->reason = pw_arena_printf(m->arena, "existence of %s (np): "
		    "%s", e->from, st == PW_DNS_LIMIT ? "too many DNS lookups" :
		    res.why ? res.why : "temporary failure");
	}
	pw_dns_result_free(&res);
}

/*
 * disposition - what the policy asks for.  RFC 9989, the t tag: with
 * t=y the Domain Owner asks "that the actor performing the DMARC
 * verification check not apply the policy": the result stays fail (and
 * is reported), the message is handled as under p=none.  RFC 7489's pct
 * sampling is gone (see use_record()).
 */
static enum pw_dmarc_policy
disposition(const struct pw_dmarc_res *r)
{
	if (r->result != PW_AUTH_FAIL || r->testing)
		return PW_DMARC_P_NONE;
	return r->policy;
}

/*
 * applied - the disposition act() applies: what the policy asks for, as
 * lowered by the mode and the dmarc_on_* settings.  RFC 9990's
 * disposition is "the result of applying the DMARC policy", so this is
 * what the rows (and the reports) state, with the override reason
 * local_policy when it is below the policy.  act() applies it.
 */
static enum pw_dmarc_policy
applied(const struct pw_dmarc_res *r, const struct dmv_conf *c)
{
	if (r->result != PW_AUTH_FAIL || r->disposition == PW_DMARC_P_NONE ||
	    c->s.mode != PW_MODE_ENFORCE)
		return PW_DMARC_P_NONE;
	if (r->disposition == PW_DMARC_P_REJECT)
		return c->s.on_reject == DMV_REJECT ? PW_DMARC_P_REJECT :
		    c->s.on_reject == DMV_QUARANTINE ? PW_DMARC_P_QUARANTINE :
		    PW_DMARC_P_NONE;
	if (r->disposition == PW_DMARC_P_QUARANTINE)
		return c->s.on_quarantine == 0 ? PW_DMARC_P_QUARANTINE :
		    PW_DMARC_P_NONE;
	return PW_DMARC_P_NONE;
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
store_row(struct pw_msg *m, const struct dmv_conf *c, const char *rec)
{
	struct pw_dmarc_rows *rows;
	const struct pw_dmarc_res *r = &m->auth.dmarc;
	struct pw_buf dr = {0}, dd = {0}, ds = {0};
	struct pw_dmarc_row row;
	const char *mf = m->auth.spf.mailfrom;

	for (size_t i = 0; i < m->auth.ndkim; i++) {
		pw_buf_printf(&dr, "%s%s", i ? "," : "",
		    pw_auth_result_name(m->auth.dkim[i].result));
		pw_buf_printf(&dd, "%s%s", i ? "," : "",
		    m->auth.dkim[i].domain ? m->auth.dkim[i].domain : "");
		pw_buf_printf(&ds, "%s%s", i ? "," : "",
		    m->auth.dkim[i].selector ? m->auth.dkim[i].selector : "");
	}
	/* No reports about report mail (issue 11): an aggregate report
	   (recognised by its Subject, pw_dmarc_report_subject) that passed
	   DMARC gets no row, so it is in no report and two receivers'
	   report jobs do not report on each other's reports.  Only a pass:
	   a forger cannot hide mail in a domain's name from that domain's
	   reports by writing such a Subject. */
	if (r->result == PW_AUTH_PASS && pw_msg_hdr(m, "Subject") != NULL &&
	    pw_dmarc_report_subject(pw_msg_hdr(m, "Subject")->value)) {
		pw_info(m, "dmarc: from=%s: an aggregate report, not recorded "
		    "(no reports about reports)", r->from_domain);
		pw_buf_free(&dr);
		pw_buf_free(&dd);
		pw_buf_free(&ds);
		return;
	}
	memset(&row, 0, sizeof(row));
	row.time_us = pw_now_us();
	row.time = pw_time_us_sec(row.time_us);
	row.from_domain = r->from_domain;
	row.source_ip = m->client->addr;
	row.policy = pw_dmarc_policy_name(r->policy);
	row.disposition = pw_dmarc_policy_name(applied(r, c));
	row.spf_result = pw_auth_result_name(m->auth.spf.result);
	row.spf_domain = m->auth.spf.domain ? m->auth.spf.domain : "";
	row.dkim_result = dr.data ? dr.data : "none";
	row.dkim_domain = dd.data ? dd.data : "";
	/* what an RFC 9990 aggregate report needs (schema version 2) */
	row.env_from = mf != NULL && pw_addr_domain(mf) != NULL ?
	    pw_addr_domain(mf) : "";
	row.spf_scope = m->auth.spf.done ? (mf != NULL ? "mfrom" : "helo") :
	    "";
	row.dkim_selector = ds.data ? ds.data : "";
	row.dmarc_result = pw_auth_result_name(r->result);
	row.spf_aligned = r->spf_aligned ? "pass" : "fail";
	row.dkim_aligned = r->dkim_aligned ? "pass" : "fail";
	/* RFC 9990 PolicyOverrideType: t=y is "policy_test_mode"; a
	   disposition below the policy by local settings "local_policy" */
	row.override = r->result != PW_AUTH_FAIL ? "" : r->testing ?
	    "policy_test_mode" : c->s.mode != PW_MODE_ENFORCE ||
	    (r->policy == PW_DMARC_P_REJECT && c->s.on_reject != DMV_REJECT) ||
	    (r->policy == PW_DMARC_P_QUARANTINE && c->s.on_quarantine != 0) ?
	    "local_policy" : "";
	row.pub_domain = r->policy_domain ? r->policy_domain : "";
	row.pub_record = rec != NULL ? rec : "";
	row.discovery = c->s.org == DMV_ORG_PSL ? "psl" : "treewalk";
	pw_info(m, "dmarc: from=%s ip=%s policy=%s disposition=%s spf=%s/%s "
	    "dkim=%s/%s", row.from_domain, row.source_ip, row.policy,
	    row.disposition, row.spf_result, row.spf_domain, row.dkim_result,
	    row.dkim_domain);
	if ((rows = rows_get(m, c)) != NULL)
		pw_dmarc_rows_add(rows, &row);	/* written within 0.5 s */
	pw_buf_free(&dr);
	pw_buf_free(&dd);
	pw_buf_free(&ds);
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
	switch (applied(r, c)) {
	case PW_DMARC_P_REJECT:
		pw_msg_reply(m, "550", "5.7.1", "Email from %s rejected per "
		    "its DMARC policy", r->from_domain);
		return PW_REJECT;
	case PW_DMARC_P_QUARANTINE:
		pw_msg_reply(m, "250", "2.7.0", "DMARC policy of %s: "
		    "quarantine", r->from_domain);
		return PW_QUARANTINE;
	default:
		return PW_DUNNO;
	}
}

static enum pw_verdict
dmv_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const struct dmv_conf *c = call->conf;
	struct pw_dmarc_res *r = &m->auth.dmarc;
	const char *from, *why = NULL;
	bool adkim_strict = false, aspf_strict = false;
	struct dmv_eval e;
	int found;
	enum pw_verdict v;

	if ((from = from_domain(m, c, &v)) == NULL)
		return v;
	from = dname(m, from);
	r->done = true;
	r->from_domain = from;
	memset(&e, 0, sizeof(e));
	e.c = c;
	e.from = from;
	walk_init(&e.fw, from);
	found = discover(m, &e, &why);
	if (found < 0) {
		/* No record known.  An identifier that passes for the From
		   domain itself is aligned under any adkim/aspf: the outcome
		   is then pass or none whatever the record says, so act()
		   has nothing to defer for. */
		evaluate(m, &e, true, true);
		r->result = PW_AUTH_TEMPERROR;
		r->reason = pw_arena_printf(m->arena, "DMARC record lookup: "
		    "%s", why ? why : "temporary failure");
	} else if (found == 0) {
		r->result = PW_AUTH_NONE;
	} else if (found > 1) {
		/* RFC 7489 6.6.3 step 5 (dmarc_org_domain = psl): "If the
		   remaining set contains multiple records or no records,
		   policy discovery terminates and DMARC processing is not
		   applied to this message." */
		r->result = PW_AUTH_NONE;
		r->reason = pw_arena_printf(m->arena, "%d DMARC records at "
		    "_dmarc.%s, none applies", found, e.rec_domain);
		pw_info(m, "dmarc: %s: %s (RFC 7489 6.6.3)", from, r->reason);
	} else if (use_record(m, &e, &adkim_strict, &aspf_strict) < 0) {
		r->result = PW_AUTH_PERMERROR;
		r->reason = "bad DMARC record";
	} else {
		evaluate(m, &e, aspf_strict, adkim_strict);
		check_exists(m, &e);
		r->disposition = disposition(r);
		if (r->result == PW_AUTH_FAIL && r->testing)
			pw_info(m, "dmarc: %s: fail, policy %s not applied: "
			    "t=y, the domain is testing (RFC 9989)", from,
			    pw_dmarc_policy_name(r->policy));
		if (r->org_domain == NULL && c->s.org == DMV_ORG_TREE_WALK &&
		    e.fw.next == NULL)
			r->org_domain = walk_org(&e.fw);
		store_row(m, c, e.rec);
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
