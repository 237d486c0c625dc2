/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_complaints - postwarden-ctl complaints (issue 17).
 *
 *   complaints import [--store SPEC] FILE...
 *   complaints report --org ORG [--store SPEC]
 *   complaints release --org ORG [--store SPEC] [--by WHO] [--note TEXT]
 *
 * Each FILE is one ARF report (RFC 5965) as received, e.g. saved from
 * a mailbox provider's feedback loop.  The organisation and recipient
 * come from our unsubscribe token in the returned original's
 * List-Unsubscribe (unsubscribe_keys), else from its headers, in which
 * case a message of that organisation must have been delivered to that
 * recipient (the audit trail); the recipient is then suppressed with
 * reason "complaint" (compliance/complaint.h).  One line per file on
 * standard output: FILE: ORG <ADDRESS>: OUTCOME.
 *
 * After the files, the complaint rate of each organisation that got a
 * complaint is computed (compliance/complaint_watch.h), and one at or
 * over its complaint_rate_hold is held at once, as the milters would
 * within a minute.
 *
 * Exit: 0 when every file was read and recorded or knowingly ignored
 * (not-spam, already suppressed); 1 when a file could not be read, is
 * not an ARF report, or names nothing of ours; 75 (EX_TEMPFAIL) when the
 * store failed.
 *
 * release appends a "release" row (who, when, a note) to the store's
 * complaint_hold table: every MTA lets the organisation's commercial mail
 * go again within complaint_rate_interval, and its rate is counted again
 * from the release.  With PostgreSQL only the owner role may release
 * (row-level security; the milter's role may only hold).
 */
#include "autoconf.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"
#include "compliance/complaint.h"
#include "compliance/complaint_watch.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "ctl.h"
#include "parsers/arf.h"
#include "snapshot.h"
#include "store/store.h"

#define CPL_MAX_FILE	(8L << 20)

/* slurp - a whole file (malloc'd) or NULL with errno */
static char *
slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	struct pw_buf b = {0};
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return NULL;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (b.len + n > (size_t)CPL_MAX_FILE) {
			fclose(f);
			pw_buf_free(&b);
			errno = EFBIG;
			return NULL;
		}
		pw_buf_add(&b, chunk, n);
	}
	if (ferror(f)) {
		fclose(f);
		pw_buf_free(&b);
		errno = EIO;
		return NULL;
	}
	fclose(f);
	pw_buf_add(&b, "", 1);
	*len_r = b.len - 1;
	return b.data;
}

/* whoami - "USER@HOST" of the one running the command (sudo's user) */
static void
whoami(char *buf, size_t len)
{
	const char *u = getenv("SUDO_USER");
	struct passwd *pw;
	char host[256];

	if (u == NULL || *u == '\0')
		u = (pw = getpwuid(getuid())) != NULL ? pw->pw_name : "uid?";
	if (gethostname(host, sizeof(host)) != 0)
		snprintf(host, sizeof(host), "localhost");
	host[sizeof(host) - 1] = '\0';
	snprintf(buf, len, "%s@%s", u, host);
}

/* date_of - "YYYY-MM-DDTHH:MM:SSZ" */
static const char *
date_of(char *buf, size_t len, time_t t)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

/* hold_if_over - hold o now if its rate reached complaint_rate_hold (the
   milters would within complaint_rate_interval); 0 or -1 */
static int
hold_if_over(const struct pw_services *svc, struct pw_store *st,
    const struct pw_org *o)
{
	struct pw_crate_eval e;
	char rate[32], who[320];
	time_t now = time(NULL);

	if (pw_crate_eval_org(st, o, &svc->complaints.def, now, &e) < 0)
		return -1;
	pw_crate_format(rate, sizeof(rate), e.complaints, e.delivered);
	if (e.level != PW_CRATE_HOLD || e.held) {
		printf("%s: complaint rate %s (%lld / %lld): %s\n", o->name,
		    rate, (long long)e.complaints, (long long)e.delivered,
		    e.held ? "held" : pw_crate_level_name(e.level));
		return 0;
	}
	whoami(who, sizeof(who));
	if (pw_crate_hold_add(st, o->name, &e, who, now) < 0)
		return -1;
	printf("%s: complaint rate %s (%lld / %lld): held: commercial mail "
	    "stops until postwarden-ctl complaints release --org %s\n",
	    o->name, rate, (long long)e.complaints, (long long)e.delivered,
	    o->name);
	return 0;
}

static int
import(struct pw_ctl *ctl, int argc, char **argv)
{
	const struct pw_services *svc;
	struct pw_config *cfg;
	struct pw_store *st;
	const char *spec = NULL;
	char **files = pw_calloc((size_t)argc + 1, sizeof(*files));
	const struct pw_org **touched;
	size_t nheld = 0;
	int nfiles = 0, rc = 0;

	/* --store anywhere (as the other commands take it), files the rest;
	   "--" ends the options */
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0) {
			while (++i < argc)
				files[nfiles++] = argv[i];
			break;
		}
		if (strcmp(argv[i], "--store") == 0) {
			if (i + 1 == argc) {
				pw_ctl_error("complaints", "option \"--store\" "
				    "needs a value");
				free(files);
				return EX_USAGE;
			}
			spec = argv[++i];
		} else if (strncmp(argv[i], "--store=", 8) == 0)
			spec = argv[i] + 8;
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			pw_ctl_error("complaints", "bad option \"%s\"", argv[i]);
			free(files);
			return EX_USAGE;
		} else
			files[nfiles++] = argv[i];
	}
	if (nfiles == 0) {
		pw_ctl_error("complaints", "import: no FILE");
		free(files);
		return EX_USAGE;
	}
	if ((cfg = pw_ctl_config(ctl)) == NULL) {
		free(files);
		return EX_CONFIG;
	}
	svc = pw_services(cfg);
	if (svc->orgs == NULL) {
		pw_ctl_error("complaints", "no organisations configured");
		free(files);
		return EX_CONFIG;
	}
	if ((st = pw_ctl_open_store(ctl, spec, "complaints", false)) == NULL) {
		free(files);
		return 1;
	}
	argv = files;
	touched = pw_calloc((size_t)nfiles + 1, sizeof(*touched));
	for (int i = 0; i < nfiles; i++) {
		struct pw_complaint_result res;
		struct pw_arf a;
		const char *why = NULL;
		size_t len = 0;
		char *msg;
		int p;

		if ((msg = slurp(argv[i], &len)) == NULL) {
			pw_ctl_error_errno("complaints", "%s", argv[i]);
			rc = rc ? rc : 1;
			continue;
		}
		p = pw_arf_parse(msg, len, &a, &why);
		free(msg);
		if (p <= 0) {
			pw_ctl_error("complaints", "%s: %s", argv[i], p == 0 ?
			    "not an ARF report (multipart/report; "
			    "report-type=feedback-report)" : why);
			pw_arf_free(&a);
			rc = rc ? rc : 1;
			continue;
		}
		pw_complaint_record(svc->orgs, svc->ring, st, &a, "import",
		    &res);
		printf("%s: %s <%s> %s (%s): %s\n", argv[i],
		    res.org ? res.org->name : "-", res.addr[0] ? res.addr : "-",
		    a.feedback_type, res.how ? res.how : "-",
		    pw_complaint_outcome_name(res.outcome));
		pw_arf_free(&a);
		if (res.outcome == PW_COMPLAINT_SUPPRESSED && res.org != NULL &&
		    nheld < (size_t)nfiles)
			touched[nheld++] = res.org;
		switch (res.outcome) {
		case PW_COMPLAINT_FAIL:
			pw_ctl_error("complaints", "%s: %s", argv[i],
			    pw_store_strerror());
			pw_store_close(&st);
			free(files);
			free(touched);
			return EX_TEMPFAIL;
		case PW_COMPLAINT_UNKNOWN:
		case PW_COMPLAINT_UNMATCHED:
			rc = rc ? rc : 1;
			break;
		default:
			break;
		}
	}
	for (size_t i = 0; i < nheld; i++) {
		bool dup = false;

		for (size_t j = 0; j < i && !dup; j++)
			dup = touched[j] == touched[i];
		if (!dup && hold_if_over(svc, st, touched[i]) < 0) {
			pw_ctl_error("complaints", "%s: complaint rate: %s",
			    touched[i]->name, pw_store_strerror());
			rc = EX_TEMPFAIL;
		}
	}
	pw_store_close(&st);
	free(files);
	free(touched);
	return rc;
}

/* ---- report ------------------------------------------------------------ */

struct cday {
	long	day;
	long	complaints;
	long	commercial;	/* recipients delivered */
};

struct crep {
	struct cday		*days;
	size_t			 ndays;
	struct pw_feedback_row	*rows;	/* complaints, strings copied */
	size_t			 nrows;
};

static struct cday *
cday_of(struct crep *r, time_t t)
{
	long d = (long)(t / 86400);
	size_t i;

	for (i = 0; i < r->ndays; i++)
		if (r->days[i].day == d)
			return &r->days[i];
	r->days = pw_realloc(r->days, (r->ndays + 1) * sizeof(*r->days));
	memset(&r->days[r->ndays], 0, sizeof(*r->days));
	r->days[r->ndays].day = d;
	return &r->days[r->ndays++];
}

static int
crep_fb(const struct pw_feedback_row *f, void *arg)
{
	struct crep *r = arg;
	struct pw_feedback_row *c;

	if (strcmp(f->kind, "complaint") != 0)
		return 0;
	cday_of(r, f->time)->complaints++;
	r->rows = pw_realloc(r->rows, (r->nrows + 1) * sizeof(*r->rows));
	c = &r->rows[r->nrows++];
	*c = *f;
	c->org = NULL;
	c->address = pw_strdup(f->address);
	c->kind = NULL;
	c->status = pw_strdup(f->status ? f->status : "");
	c->message_id = NULL;
	c->source = pw_strdup(f->source ? f->source : "");
	return 0;
}

static int
crep_audit(const struct pw_audit_row *a, void *arg)
{
	struct crep *r = arg;

	if (a->action != NULL && strcmp(a->action, "delivered") == 0 &&
	    a->class != NULL && strcmp(a->class, "commercial") == 0)
		cday_of(r, a->time)->commercial++;
	return 0;
}

static int
cday_cmp(const void *a, const void *b)
{
	const struct cday *x = a, *y = b;

	return x->day < y->day ? -1 : x->day > y->day;
}

static int
state_hold_row(const struct pw_chold_row *h, void *arg)
{
	char d[32], rate[32];

	(void)arg;
	if (strcmp(h->action, "hold") == 0)
		printf("hold: %s hold by %s (%lld / %lld = %s)\n",
		    date_of(d, sizeof(d), h->time), h->actor,
		    (long long)h->complaints, (long long)h->delivered,
		    pw_crate_format(rate, sizeof(rate), h->complaints,
		    h->delivered));
	else
		printf("hold: %s release by %s%s%s\n",
		    date_of(d, sizeof(d), h->time), h->actor,
		    h->note ? ": " : "", h->note ? h->note : "");
	return 0;
}

/* report_state - the organisation's rate now against its thresholds,
   whether it is held, and every hold and release; 0 or -1 */
static int
report_state(const struct pw_config *cfg, struct pw_store *st,
    const char *name)
{
	static const struct pw_services none = {
	    .complaints = {{1000, 3000, 1000}, 60}};	/* snapshot.c's */
	const struct pw_services *svc = cfg ? pw_services(cfg) : &none;
	const struct pw_org *o = svc->orgs ? pw_orgs_by_name(svc->orgs, name) :
	    NULL;
	struct pw_org bare = {0};
	struct pw_crate_limits lim;
	struct pw_crate_eval e;
	char d[32], rate[32], w[16], h[16];

	if (o == NULL) {	/* not (or no longer) in the file: defaults */
		bare.name = (char *)name;
		bare.complaint_warn_ppm = bare.complaint_hold_ppm =
		    PW_RATE_UNSET;
		o = &bare;
	}
	pw_crate_limits_of(o, &svc->complaints.def, &lim);
	if (pw_crate_eval_org(st, o, &svc->complaints.def, time(NULL),
	    &e) < 0)
		return -1;
	pw_crate_format(rate, sizeof(rate), e.complaints, e.delivered);
	if (e.held)
		printf("state: held since %s (commercial mail %s until "
		    "postwarden-ctl complaints release --org %s)\n",
		    date_of(d, sizeof(d), e.held_at),
		    svc->hold_action == PW_CHOLD_QUARANTINE ?
			"goes to the hold queue" : "is tempfailed", name);
	else
		printf("state: %s\n", pw_crate_level_name(e.level));
	printf("rate: %s (%lld complaints / %lld commercial recipients "
	    "delivered since %s); warn %s, hold %s, minimum %ld\n", rate,
	    (long long)e.complaints, (long long)e.delivered,
	    date_of(d, sizeof(d), e.since),
	    pw_rate_format(w, sizeof(w), lim.warn_ppm),
	    pw_rate_format(h, sizeof(h), lim.hold_ppm), lim.min_delivered);
	return pw_store_chold_list(st, name, state_hold_row, NULL);
}

/* ---- release ------------------------------------------------------------ */

static int
release(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *org = NULL, *spec = NULL, *by = NULL, *note = NULL;
	const struct pw_services *svc;
	struct pw_chold_row row = {0};
	struct pw_crate_eval e;
	struct pw_config *cfg;
	struct pw_store *st;
	struct pw_org bare = {0};
	const struct pw_org *o;
	char who[320], d[32], d2[32];

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
			org = argv[++i];
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			spec = argv[++i];
		else if (strcmp(argv[i], "--by") == 0 && i + 1 < argc)
			by = argv[++i];
		else if (strcmp(argv[i], "--note") == 0 && i + 1 < argc)
			note = argv[++i];
		else {
			pw_ctl_error("complaints", "release: bad argument "
			    "\"%s\"", argv[i]);
			return EX_USAGE;
		}
	}
	if (org == NULL || !pw_ctl_name_ok(org, false)) {
		pw_ctl_error("complaints", "release: --org ORG is required");
		return EX_USAGE;
	}
	if ((cfg = pw_ctl_config(ctl)) == NULL)
		return EX_CONFIG;
	svc = pw_services(cfg);
	if (svc->orgs == NULL || (o = pw_orgs_by_name(svc->orgs, org)) ==
	    NULL) {
		/* a hold of an organisation since removed from the file can
		   still be released */
		bare.name = (char *)org;
		bare.complaint_warn_ppm = bare.complaint_hold_ppm =
		    PW_RATE_UNSET;
		o = &bare;
	}
	if ((st = pw_ctl_open_store(ctl, spec, "complaints", false)) == NULL)
		return 1;
	if (pw_crate_eval_org(st, o, &svc->complaints.def, time(NULL),
	    &e) < 0) {
		pw_ctl_error("complaints", "%s", pw_store_strerror());
		pw_store_close(&st);
		return EX_TEMPFAIL;
	}
	if (!e.held) {
		printf("%s: not held: nothing to release\n", org);
		pw_store_close(&st);
		return 0;
	}
	if (by == NULL) {
		whoami(who, sizeof(who));
		by = who;
	}
	row.time = time(NULL);
	row.org = org;
	row.action = "release";
	row.since = e.held_at;
	row.actor = by;
	row.note = note;
	if (pw_store_chold_add(st, &row) < 0) {
		const char *why = pw_store_strerror();

		pw_ctl_error("complaints", "%s%s", why,
		    strstr(why, "row-level security") != NULL ?
			" (a release needs the store's owner role, "
			"postwarden_owner: give --store with its URI)" : "");
		pw_store_close(&st);
		return strstr(why, "row-level security") ? 1 : EX_TEMPFAIL;
	}
	printf("%s: released by %s at %s (held since %s); commercial mail "
	    "flows again within %lds on every host\n", org, by,
	    date_of(d, sizeof(d), row.time), date_of(d2, sizeof(d2),
	    e.held_at), svc->complaints.interval);
	pw_store_close(&st);
	return 0;
}

/*
 * report --org ORG: per UTC day the complaints, the commercial recipients
 * delivered and the rate; then each complaint with the recipient's
 * consent state now.
 */
static int
report(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *org = NULL, *spec = NULL;
	struct pw_audit_filter f = {NULL, NULL, PW_NOTIME, PW_NOTIME};
	struct crep r = {0};
	struct pw_config *cfg;
	struct pw_store *st;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--org") == 0 && i + 1 < argc)
			org = argv[++i];
		else if (strcmp(argv[i], "--store") == 0 && i + 1 < argc)
			spec = argv[++i];
		else {
			pw_ctl_error("complaints", "report: bad argument \"%s\"",
			    argv[i]);
			return EX_USAGE;
		}
	}
	if (org == NULL || !pw_ctl_name_ok(org, false)) {
		pw_ctl_error("complaints", "report: --org ORG is required");
		return EX_USAGE;
	}
	/* the thresholds are the configuration's; a report with --store
	   alone and no configuration file shows them at their defaults */
	cfg = NULL;
	if ((ctl->config_given || access(ctl->config_path, R_OK) == 0) &&
	    (cfg = pw_ctl_config(ctl)) == NULL)
		return EX_CONFIG;
	if ((st = pw_ctl_open_store(ctl, spec, "complaints", true)) == NULL)
		return 1;
	f.org = org;
	rc = pw_store_feedback_list(st, org, PW_NOTIME, PW_NOTIME, crep_fb, &r);
	if (rc == 0)
		rc = pw_store_audit_list(st, &f, crep_audit, &r);
	if (r.ndays > 1)
		qsort(r.days, r.ndays, sizeof(*r.days), cday_cmp);
	for (size_t i = 0; rc == 0 && i < r.ndays; i++) {
		time_t t = (time_t)r.days[i].day * 86400;
		char date[16];
		struct tm tm;

		if (r.days[i].complaints == 0)
			continue;
		gmtime_r(&t, &tm);
		strftime(date, sizeof(date), "%Y-%m-%d", &tm);
		printf("%s complaints=%ld commercial_recipients=%ld rate=", date,
		    r.days[i].complaints, r.days[i].commercial);
		if (r.days[i].commercial > 0)
			printf("%.4f%%\n", 100.0 * (double)r.days[i].complaints /
			    (double)r.days[i].commercial);
		else
			printf("-\n");
	}
	for (size_t i = 0; rc == 0 && i < r.nrows; i++) {
		struct pw_consent_events ev = {0};
		struct pw_consent_result cr;
		char when[32];
		struct tm tm;
		int c;

		c = pw_store_consent_check(st, org, r.rows[i].address, NULL,
		    time(NULL), &cr, &ev);
		pw_consent_events_free(&ev);
		if (c < 0) {
			rc = -1;
			break;
		}
		if (r.rows[i].time_us != PW_NOTIME_US) {
			pw_date_format_us(r.rows[i].time_us, when);
		} else {
			gmtime_r(&r.rows[i].time, &tm);
			strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ",
			    &tm);
		}
		printf("%s <%s> %s (%s): %s\n", when, r.rows[i].address,
		    r.rows[i].status, r.rows[i].source,
		    pw_consent_state_name(cr.state));
	}
	if (rc == 0)
		rc = report_state(cfg, st, org);
	pw_store_close(&st);
	for (size_t i = 0; i < r.nrows; i++) {
		free((char *)r.rows[i].address);
		free((char *)r.rows[i].status);
		free((char *)r.rows[i].source);
	}
	free(r.rows);
	free(r.days);
	if (rc < 0) {
		pw_ctl_error("complaints", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	return 0;
}

int
pw_ctl_complaints(struct pw_ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "import") == 0)
		return import(ctl, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "report") == 0)
		return report(ctl, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "release") == 0)
		return release(ctl, argc - 1, argv + 1);
	pw_ctl_error("complaints", "expected: import [--store SPEC] FILE..., "
	    "report --org ORG or release --org ORG");
	return EX_USAGE;
}
