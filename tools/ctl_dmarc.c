/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_dmarc - postwarden-ctl dmarc report: RFC 9990 aggregate reports
 * from the stored DMARC rows (dmarc_eval, schema version 3).
 *
 * For a period (default: the last complete UTC day) the rows are grouped
 * by the domain whose record applied (pub_domain); each such domain gets
 * one report per mailto: destination of its rua, rows folded into
 * records of identical (source IP, identifiers, results, disposition)
 * with a count.  The store does the grouping (pw_store_dmarc_groups) and
 * hands the records over domain after domain, so this holds a few
 * domains' records at a time (the reporter's ring, below): 10 million
 * rows once took 2 GB here, now about 33 MB.  The XML is in
 * the RFC 9990 namespace, written with libxml2's xmlTextWriter, then
 * gzipped (zlib).
 *
 * External destinations (RFC 9990 section 3, "Verifying External
 * Destinations"): a destination whose domain is not the policy domain,
 * one of its parents or one of its subdomains is used only when
 * <policy-domain>._report._dmarc.<destination-domain> has a TXT record
 * starting with v=DMARC1; otherwise it is skipped and said on stderr.
 * The comparison is by name, not by organizational domain: a destination
 * in a sibling of the policy domain is asked for the record too (stricter
 * than the RFC, never looser).  The lookup goes through the configuration's
 * resolver (dns_nameservers); a temporary failure skips the destination
 * for this run.
 *
 * --dry-run DIR writes one file per report named as RFC 9990 asks
 * (receiver!policy-domain!begin!end!id.xml.gz, the destination in front)
 * and records nothing.  Without it (the timer's run), each report is sent
 * as mail through the local MTA (ctl_dmarc_send.c, dmarc_report_transport)
 * to its mailto: address, and the attempt is recorded in the store
 * (dmarc_report_sent, schema version 4): a report already sent to an
 * address is not sent again, a failed one is tried again at the next run
 * with the same Report-ID (deterministic: domain, period, part).  Then the
 * dmarc_eval rows older than dmarc_keep_days are deleted (the store's
 * triggers refuse anything younger than PW_DMARC_KEEP_MIN_DAYS).
 *
 * Size (dmarc_report_max_bytes, default 10 MB gzipped): RFC 7489's answer
 * to a report over the destination's "!size" was a short report saying
 * the report is too large; the dmarcbis drafts dropped "!size" and that
 * short report.  We split instead: a report over the limit is cut, at a
 * record boundary, into parts that each fit (each its own Report-ID and
 * mail, the same period and policy), so that nothing is lost; a single
 * record larger than the limit is sent alone.
 *
 * Report mail itself is not reported on: dmarc_verify.c stores no row for
 * a message whose Subject is an aggregate report's (see there).
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <libxml/xmlwriter.h>
#include <openssl/evp.h>
#include <zlib.h>

#include "base/config.h"
#include "base/util.h"
#include "ctl.h"
#include "ctl_dmarc_send.h"
#include "dmarc_report_conf.h"
#include "snapshot.h"
#include "dns/dns.h"
#include "parsers/dmarc_record.h"
#include "store/store.h"

#define CMD		"dmarc report"
#define DMARC_NS	"urn:ietf:params:xml:ns:dmarc-2.0"
#define MAX_REPORTS	1000	/* default per-run cap */

/* One report record: its fields, '\x1f'-separated, and how many rows. */
struct rkey {
	char		*key;
	int64_t		 count;
};

/* One report domain: the record as last seen, the grouped rows. */
struct rdomain {
	char		*domain;	/* pub_domain */
	char		*record;	/* pub_record, the newest seen */
	char		*discovery;
	struct rkey	*recs;		/* one per report record, sorted */
	size_t		 nrecs, arecs;
};

struct run;

/* The reports are made by a second thread (the reporter) while the walk
   goes on: the store's merge of its sorted groups and the reports' XML,
   gzip and files or mail then run on two cores at once.  Domains pass
   through a ring of QMAX; the walk waits while it is full or holds
   QRECS records (a domain larger than that waits for an empty ring), so
   memory stays bounded as with one domain at a time.  Without the
   thread (it could not be started) the walk makes each domain's reports
   itself. */
#define QMAX	64
#define QRECS	65536

struct queue {
	pthread_mutex_t	 lock;
	pthread_cond_t	 cond;		/* the ring changed, or done */
	struct rdomain	 ring[QMAX];
	size_t		 head, n;
	size_t		 nrecs;		/* the records in the ring */
	bool		 done;		/* no more domains */
	bool		 threaded;	/* the reporter runs */
	pthread_t	 reporter;
};

/* The walk over the store's groups: the domain being read, what its
   reports need (run), the totals.  rc: 0, 1 a report failed (the others
   go on), 2 --max-reports reached (no more reports; the walk goes on,
   only to count). */
struct collect {
	time_t		 from, to;
	struct rdomain	 d;
	size_t		 nd, rows, skipped;
	struct pw_dns	*dns;
	struct run	*run;
	struct queue	 q;
	/* the reporter's: */
	size_t		 nskipped;
	int		 rc;
};

static const char *
S(const char *s)
{
	return s != NULL ? s : "";
}

/* The fields of a report record, in this order, joined by \x1f. */
enum { K_IP, K_DISP, K_DKIM_AL, K_SPF_AL, K_OVERRIDE, K_ENV_FROM,
    K_HEADER_FROM, K_DKIM_D, K_DKIM_S, K_DKIM_R, K_SPF_D, K_SPF_SCOPE,
    K_SPF_R, K_N };

static int domain_reports(struct collect *, struct rdomain *);
static void domain_free(struct rdomain *);

/* reporter - the second thread: each queued domain's reports */
static void *
reporter(void *arg)
{
	struct collect *c = arg;
	struct queue *q = &c->q;
	struct rdomain d;

	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (q->n == 0 && !q->done)
			pthread_cond_wait(&q->cond, &q->lock);
		if (q->n == 0)
			break;
		d = q->ring[q->head];
		q->head = (q->head + 1) % QMAX;
		q->n--;
		q->nrecs -= d.nrecs;
		pthread_cond_broadcast(&q->cond);
		pthread_mutex_unlock(&q->lock);
		domain_reports(c, &d);
		domain_free(&d);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	return NULL;
}

/* hand_over - d's reports to the reporter (or made here without one);
   d is emptied */
static void
hand_over(struct collect *c, struct rdomain *d)
{
	struct queue *q = &c->q;

	if (!q->threaded) {
		domain_reports(c, d);
		domain_free(d);
		return;
	}
	pthread_mutex_lock(&q->lock);
	while (q->n == QMAX || (q->n > 0 && q->nrecs + d->nrecs > QRECS))
		pthread_cond_wait(&q->cond, &q->lock);
	q->ring[(q->head + q->n) % QMAX] = *d;
	q->n++;
	q->nrecs += d->nrecs;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
	memset(d, 0, sizeof(*d));
}

/* reporter_start, reporter_end - the thread; the end waits for the
   domains handed over */
static void
reporter_start(struct collect *c)
{
	pthread_mutex_init(&c->q.lock, NULL);
	pthread_cond_init(&c->q.cond, NULL);
	c->q.threaded = pthread_create(&c->q.reporter, NULL, reporter, c) ==
	    0;
}

static void
reporter_end(struct collect *c)
{
	if (c->q.threaded) {
		pthread_mutex_lock(&c->q.lock);
		c->q.done = true;
		pthread_cond_broadcast(&c->q.cond);
		pthread_mutex_unlock(&c->q.lock);
		pthread_join(c->q.reporter, NULL);
		c->q.threaded = false;
	}
	pthread_cond_destroy(&c->q.cond);
	pthread_mutex_destroy(&c->q.lock);
}

/* domain_free - forget the domain's records */
static void
domain_free(struct rdomain *d)
{
	for (size_t k = 0; k < d->nrecs; k++)
		free(d->recs[k].key);
	free(d->recs);
	free(d->domain);
	free(d->record);
	free(d->discovery);
	memset(d, 0, sizeof(*d));
}

/* collect_group - one report record from the store; a record of another
   domain than the one being read ends that one: it goes to the reporter
   (hand_over), which writes or sends its reports.  The walk always goes
   to the end, so the totals count every row. */
static int
collect_group(const struct pw_dmarc_group *g, void *ctx)
{
	struct collect *c = ctx;
	struct rdomain *d = &c->d;

	/* rows from before schema version 3 lack what a report needs */
	if (g->pub_domain == NULL) {
		c->skipped += (size_t)g->count;
		return 0;
	}
	if (d->domain != NULL && strcasecmp(d->domain, g->pub_domain) != 0)
		hand_over(c, d);
	if (d->domain == NULL) {
		d->domain = pw_strdup(g->pub_domain);
		d->record = pw_strdup(S(g->pub_record));
		d->discovery = pw_strdup(S(g->discovery));
		c->nd++;
	}
	c->rows += (size_t)g->count;
	if (d->nrecs == d->arecs) {
		d->arecs = d->arecs ? 2 * d->arecs : 64;
		d->recs = pw_realloc(d->recs, d->arecs * sizeof(*d->recs));
	}
	d->recs[d->nrecs].key = pw_asprintf("%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s"
	    "\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s\x1f%s", S(g->source_ip),
	    S(g->disposition), S(g->dkim_aligned), S(g->spf_aligned),
	    S(g->override), S(g->env_from), S(g->from_domain),
	    S(g->dkim_domain), S(g->dkim_selector), S(g->dkim_result),
	    S(g->spf_domain), S(g->spf_scope), S(g->spf_result));
	d->recs[d->nrecs++].count = g->count;
	return 0;
}

/* keycmp - records in the order of their keys (bytes, as strcmp): the
   same order whichever collation the database sorted by */
static int
keycmp(const void *a, const void *b)
{
	return strcmp(((const struct rkey *)a)->key,
	    ((const struct rkey *)b)->key);
}

/* split - key into its K_N fields (in place) */
static void
split(char *key, char **f)
{
	for (int i = 0; i < K_N; i++) {
		f[i] = key;
		if ((key = strchr(key, '\x1f')) != NULL)
			*key++ = '\0';
		else
			key = (char *)"";
	}
}

/* nth - the n-th comma-separated item of list (in a static buffer) */
static const char *
nth(const char *list, int n)
{
	static char buf[256];
	const char *e;

	for (; n > 0 && list != NULL; n--)
		if ((list = strchr(list, ',')) != NULL)
			list++;
	if (list == NULL)
		return "";
	e = strchr(list, ',');
	snprintf(buf, sizeof(buf), "%.*s", (int)(e ? e - list : (long)strlen(list)),
	    list);
	return buf;
}

static const char *
policy_name(enum pw_dmarc_policy p)
{
	return p == PW_DMARC_P_REJECT ? "reject" :
	    p == PW_DMARC_P_QUARANTINE ? "quarantine" : "none";
}

#define W(e) do { if ((e) < 0) goto fail; } while (0)
#define EL(w, n, v) W(xmlTextWriterWriteElement((w), BAD_CAST (n),	\
	BAD_CAST (v)))

/* report_xml - the report; NULL on a libxml2 error */
static xmlBufferPtr
report_xml(const struct rdomain *d, const char *org, const char *email,
    const char *report_id, time_t from, time_t to)
{
	xmlBufferPtr buf = xmlBufferCreate();
	xmlTextWriterPtr w = NULL;
	struct pw_dmarc_record rec;
	char num[32], *f[K_N], *key;
	enum pw_dmarc_policy p, sp;
	size_t i, n;

	if (buf == NULL || (w = xmlNewTextWriterMemory(buf, 0)) == NULL)
		goto fail;
	if (pw_dmarc_record_parse(d->record, strlen(d->record), &rec) < 0)
		memset(&rec, 0, sizeof(rec));
	p = rec.p != PW_DMARC_P_UNSET ? rec.p : PW_DMARC_P_NONE;
	sp = rec.sp != PW_DMARC_P_UNSET ? rec.sp : p;
	xmlTextWriterSetIndent(w, 1);
	W(xmlTextWriterStartDocument(w, NULL, "UTF-8", NULL));
	W(xmlTextWriterStartElementNS(w, NULL, BAD_CAST "feedback",
	    BAD_CAST DMARC_NS));
	EL(w, "version", "1.0");
	W(xmlTextWriterStartElement(w, BAD_CAST "report_metadata"));
	EL(w, "org_name", org);
	EL(w, "email", email);
	EL(w, "report_id", report_id);
	W(xmlTextWriterStartElement(w, BAD_CAST "date_range"));
	snprintf(num, sizeof(num), "%lld", (long long)from);
	EL(w, "begin", num);
	snprintf(num, sizeof(num), "%lld", (long long)to - 1);
	EL(w, "end", num);
	W(xmlTextWriterEndElement(w));
	EL(w, "generator", "postwarden " PACKAGE_VERSION);
	W(xmlTextWriterEndElement(w));
	W(xmlTextWriterStartElement(w, BAD_CAST "policy_published"));
	EL(w, "domain", d->domain);
	EL(w, "p", policy_name(p));
	EL(w, "sp", policy_name(sp));
	if (rec.np != PW_DMARC_P_UNSET)
		EL(w, "np", policy_name(rec.np));
	EL(w, "adkim", rec.adkim_strict ? "s" : "r");
	EL(w, "aspf", rec.aspf_strict ? "s" : "r");
	EL(w, "testing", rec.testing ? "y" : "n");
	if (strcmp(d->discovery, "psl") == 0 ||
	    strcmp(d->discovery, "treewalk") == 0)
		EL(w, "discovery_method", d->discovery);
	W(xmlTextWriterEndElement(w));
	for (i = 0; i < d->nrecs; i++) {
		key = pw_strdup(d->recs[i].key);
		split(key, f);
		W(xmlTextWriterStartElement(w, BAD_CAST "record"));
		W(xmlTextWriterStartElement(w, BAD_CAST "row"));
		EL(w, "source_ip", f[K_IP]);
		snprintf(num, sizeof(num), "%lld", (long long)d->recs[i].count);
		EL(w, "count", num);
		W(xmlTextWriterStartElement(w, BAD_CAST "policy_evaluated"));
		EL(w, "disposition", f[K_DISP]);
		EL(w, "dkim", *f[K_DKIM_AL] ? f[K_DKIM_AL] : "fail");
		EL(w, "spf", *f[K_SPF_AL] ? f[K_SPF_AL] : "fail");
		if (*f[K_OVERRIDE] != '\0') {
			W(xmlTextWriterStartElement(w, BAD_CAST "reason"));
			EL(w, "type", f[K_OVERRIDE]);
			W(xmlTextWriterEndElement(w));
		}
		W(xmlTextWriterEndElement(w));	/* policy_evaluated */
		W(xmlTextWriterEndElement(w));	/* row */
		W(xmlTextWriterStartElement(w, BAD_CAST "identifiers"));
		EL(w, "envelope_from", f[K_ENV_FROM]);
		EL(w, "header_from", f[K_HEADER_FROM]);
		W(xmlTextWriterEndElement(w));
		W(xmlTextWriterStartElement(w, BAD_CAST "auth_results"));
		n = *f[K_DKIM_D] == '\0' ? 0 : 1;
		for (const char *q = f[K_DKIM_D]; n && *q; q++)
			n += *q == ',';
		for (size_t k = 0; k < n; k++) {
			W(xmlTextWriterStartElement(w, BAD_CAST "dkim"));
			EL(w, "domain", nth(f[K_DKIM_D], (int)k));
			EL(w, "selector", nth(f[K_DKIM_S], (int)k));
			EL(w, "result", *nth(f[K_DKIM_R], (int)k) ?
			    nth(f[K_DKIM_R], (int)k) : "none");
			W(xmlTextWriterEndElement(w));
		}
		/* RFC 9990: spf is optional (none when SPF was not checked)
		   and its one scope is "mfrom"; for a null reverse-path the
		   MAIL FROM identity is postmaster@ the HELO name (RFC 7208
		   section 2.4), which the rows call "helo" */
		if (*f[K_SPF_D] != '\0') {
			W(xmlTextWriterStartElement(w, BAD_CAST "spf"));
			EL(w, "domain", f[K_SPF_D]);
			if (*f[K_SPF_SCOPE] != '\0')
				EL(w, "scope", "mfrom");
			EL(w, "result", *f[K_SPF_R] ? f[K_SPF_R] : "none");
			W(xmlTextWriterEndElement(w));	/* spf */
		}
		W(xmlTextWriterEndElement(w));	/* auth_results */
		W(xmlTextWriterEndElement(w));	/* record */
		free(key);
	}
	W(xmlTextWriterEndDocument(w));
	xmlFreeTextWriter(w);
	return buf;
fail:
	if (w != NULL)
		xmlFreeTextWriter(w);
	if (buf != NULL)
		xmlBufferFree(buf);
	return NULL;
}

/* internal - dest is the policy domain, a parent or a subdomain of it */
static bool
internal(const char *dest, const char *domain)
{
	size_t a = strlen(dest), b = strlen(domain);

	if (a == b)
		return strcasecmp(dest, domain) == 0;
	if (a > b)
		return dest[a - b - 1] == '.' &&
		    strcasecmp(dest + a - b, domain) == 0;
	return domain[b - a - 1] == '.' && strcasecmp(domain + b - a, dest) == 0;
}

/* authorized - RFC 9990 section 3: 1 yes, 0 no, -1 unknown (try later) */
static int
authorized(struct pw_dns *dns, const char *domain, const char *dest)
{
	char *name = pw_asprintf("%s._report._dmarc.%s", domain, dest), **txt;
	const char *why = NULL;
	enum pw_dns_status st;
	int ok = 0;

	st = pw_dns_txt(dns, NULL, name, &txt, &why);
	free(name);
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT)
		return -1;
	for (size_t i = 0; txt != NULL && txt[i] != NULL; i++)
		if (strncmp(txt[i], "v=DMARC1", 8) == 0 &&
		    (txt[i][8] == '\0' || txt[i][8] == ';' ||
		    txt[i][8] == ' '))
			ok = 1;
	pw_strv_free(&txt);
	return ok;
}

/* gz_mem - gzip of buf in memory (malloc'd, *len_r); NULL on error */
static unsigned char *
gz_mem(const xmlBufferPtr buf, size_t *len_r)
{
	z_stream z;
	unsigned char *out;
	uLong cap;

	memset(&z, 0, sizeof(z));
	/* 15 + 16: a gzip header and trailer, not zlib's */
	if (deflateInit2(&z, 9, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) !=
	    Z_OK)
		return NULL;
	cap = deflateBound(&z, (uLong)xmlBufferLength(buf)) + 64;
	out = pw_malloc(cap);
	z.next_in = (Bytef *)xmlBufferContent(buf);
	z.avail_in = (uInt)xmlBufferLength(buf);
	z.next_out = out;
	z.avail_out = (uInt)cap;
	if (deflate(&z, Z_FINISH) != Z_STREAM_END) {
		deflateEnd(&z);
		free(out);
		return NULL;
	}
	*len_r = z.total_out;
	deflateEnd(&z);
	return out;
}

/* What one run does with its reports (report() fills it). */
struct run {
	struct pw_store	*st;		/* NULL with --dry-run */
	const char	*dir;		/* --dry-run DIR, or NULL */
	const struct pw_dmarc_report_settings *set;
	const char	*org, *email, *from, *receiver;
	time_t		 from_t, to_t;
	long		 max;		/* reports per run */
	size_t		 nreports, nsent, nfailed, nalready;
};

/* messages - the rows the records of d stand for */
static int64_t
messages(const struct rdomain *d)
{
	int64_t n = 0;

	for (size_t i = 0; i < d->nrecs; i++)
		n += d->recs[i].count;
	return n;
}

/* deliver_one - one report (or part) to one address: written (dry run),
   or sent and recorded; 0, 1 failed (try next run), 2 the per-run cap */
static int
deliver_one(struct run *r, const struct rdomain *part, const char *addr,
    const char *id, unsigned pno, unsigned parts, const unsigned char *gz,
    size_t gz_len)
{
	struct pw_dmarc_mail m;
	struct pw_dmarc_sent rec;
	char *path, *msg, *detail = NULL;
	size_t len;
	int a;

	if (r->dir != NULL) {
		FILE *f;

		if ((long)r->nreports >= r->max) {
			fprintf(stderr, "postwarden-ctl: %s: --max-reports %ld "
			    "reached, the rest next run\n", CMD, r->max);
			return 2;
		}
		/* the destination in front, then RFC 9990's name */
		path = pw_asprintf("%s/%s!%s!%s!%lld!%lld!%s.xml.gz", r->dir,
		    addr, r->receiver, part->domain, (long long)r->from_t,
		    (long long)r->to_t - 1, id);
		if ((f = fopen(path, "wb")) == NULL ||
		    fwrite(gz, 1, gz_len, f) != gz_len || fclose(f) != 0) {
			pw_ctl_error_errno(CMD, "%s", path);
			free(path);
			return 1;
		}
		printf("%s\n", path);
		free(path);
		r->nreports++;
		return 0;
	}
	if ((a = pw_store_dmarc_sent_check(r->st, id, addr)) != 0) {
		if (a < 0) {
			pw_ctl_error(CMD, "%s: %s", id, pw_store_strerror());
			return 1;
		}
		r->nalready++;
		return 0;
	}
	if ((long)r->nreports >= r->max) {
		fprintf(stderr, "postwarden-ctl: %s: --max-reports %ld "
		    "reached, the rest next run\n", CMD, r->max);
		return 2;
	}
	r->nreports++;
	memset(&m, 0, sizeof(m));
	m.from = r->from;
	m.org = r->org;
	m.rcpt = addr;
	m.domain = part->domain;
	m.report_id = id;
	m.filename = pw_asprintf("%s!%s!%lld!%lld!%s.xml.gz", r->receiver,
	    part->domain, (long long)r->from_t, (long long)r->to_t - 1, id);
	m.begin = r->from_t;
	m.end = r->to_t;
	m.messages = (unsigned long)messages(part);
	m.records = part->nrecs;
	m.part = pno;
	m.parts = parts;
	m.gz = gz;
	m.gz_len = gz_len;
	if ((msg = pw_dmarc_mail_build(&m, &len)) == NULL) {
		detail = pw_strdup("cannot build the message");
		a = -1;
	} else
		a = pw_dmarc_mail_send(r->set->transport, r->from, addr, msg,
		    len, &detail);
	free(msg);
	free((char *)m.filename);
	memset(&rec, 0, sizeof(rec));
	rec.time = time(NULL);
	rec.report_id = id;
	rec.domain = part->domain;
	rec.rua = addr;
	rec.begin = r->from_t;
	rec.end = r->to_t;
	rec.status = a == 0 ? "sent" : "failed";
	rec.detail = detail;
	rec.bytes = (int64_t)gz_len;
	if (a == 0) {
		r->nsent++;
		printf("sent %s report %s to %s (%zu bytes gzipped): %s\n",
		    part->domain, id, addr, gz_len, detail ? detail : "");
	} else {
		r->nfailed++;
		pw_ctl_error(CMD, "%s report %s to %s not sent, next run: %s",
		    part->domain, id, addr, detail ? detail : "?");
	}
	/* a sent report that cannot be recorded would be sent again: say so
	   (the receiver drops the duplicate by its Report-ID) */
	if (pw_store_dmarc_sent_add(r->st, &rec) < 0) {
		pw_ctl_error(CMD, "%s report %s to %s: cannot record the "
		    "attempt: %s", part->domain, id, addr, pw_store_strerror());
		a = -1;
	}
	free(detail);
	return a == 0 ? 0 : 1;
}

/* report_id - the Report-ID of part pno of parts of d's report for the
   run's period: the same at every run (a report sent again keeps it, as
   RFC 9990 asks), unique to the domain, period and part, and letters and
   digits only, because it is also the file name's unique-id, which the
   aggregate-reporting text (draft 30, the newest readable here) makes
   1*(ALPHA / DIGIT) and wants identical to the Report-ID: the first 128
   bits of a SHA-256 over them, in hex.  Malloc'd. */
static char *
report_id(const struct run *r, const struct rdomain *d, unsigned pno,
    unsigned parts)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	char *in, *id, *lc;
	size_t i;

	lc = pw_lowercase(pw_strdup(d->domain));
	in = pw_asprintf("postwarden dmarc report %s!%lld!%lld!%u/%u", lc,
	    (long long)r->from_t, (long long)r->to_t - 1, pno, parts);
	free(lc);
	if (EVP_Digest(in, strlen(in), md, &mdlen, EVP_sha256(), NULL) != 1 ||
	    mdlen < 16)
		memset(md, 0, sizeof(md));	/* cannot happen */
	free(in);
	id = pw_malloc(33);
	for (i = 0; i < 16; i++)
		snprintf(id + 2 * i, 3, "%02x", md[i]);
	return id;
}

/* deliver - the report of d to addr, split into parts of at most
   dmarc_report_max_bytes gzipped (at record boundaries); 0, 1, 2 as
   deliver_one, the worst of the parts */
static int
deliver(struct run *r, const struct rdomain *d, const char *addr)
{
	struct range { size_t off, n; } *parts, *q, *done = NULL;
	size_t nparts, aparts = 8, i, npend, ndone = 0;
	unsigned char *gz = NULL;
	size_t gz_len = 0;
	char *sizing_id;
	int rc = 0, x;
	xmlBufferPtr xml1;

	/* the common case first: the whole report, with its real id, fits
	   (or is one record, which is sent alone whatever its size) */
	sizing_id = report_id(r, d, 1, 1);
	if ((xml1 = report_xml(d, r->org, r->email, sizing_id, r->from_t,
	    r->to_t)) != NULL && (gz = gz_mem(xml1, &gz_len)) != NULL &&
	    ((long)gz_len <= r->set->max_bytes || d->nrecs < 2)) {
		xmlBufferFree(xml1);
		rc = deliver_one(r, d, addr, sizing_id, 1, 1, gz, gz_len);
		free(gz);
		free(sizing_id);
		return rc;
	}
	if (xml1 != NULL)
		xmlBufferFree(xml1);
	free(gz);
	gz = NULL;
	free(sizing_id);

	/* a stack of ranges: a range too large is halved at a record
	   boundary and both halves pushed back; a range that fits is done */
	parts = pw_calloc(aparts, sizeof(*parts));
	parts[0].off = 0;
	parts[0].n = d->nrecs;
	npend = 1;
	/* sized with an id as long as the real ones (all are 32 digits) */
	sizing_id = report_id(r, d, 0, 0);

	while (npend > 0) {
		struct rdomain sub = *d;
		xmlBufferPtr xml;
		size_t off, n, mid;

		q = &parts[--npend];
		off = q->off;
		n = q->n;
		sub.recs = d->recs + off;
		sub.nrecs = n;
		if ((xml = report_xml(&sub, r->org, r->email, sizing_id,
		    r->from_t, r->to_t)) == NULL || (gz = gz_mem(xml,
		    &gz_len)) == NULL) {
			pw_ctl_error(CMD, "%s: cannot build the report",
			    d->domain);
			if (xml != NULL)
				xmlBufferFree(xml);
			rc = 1;
			break;
		}
		xmlBufferFree(xml);
		/* every index is a record boundary: the store grouped them */
		mid = n / 2;
		if ((long)gz_len > r->set->max_bytes && mid > 0 && mid < n) {
			free(gz);
			gz = NULL;
			if (npend + 2 > aparts) {
				aparts *= 2;
				parts = pw_realloc(parts, aparts *
				    sizeof(*parts));
			}
			/* the second half below the first: parts come out
			   in key order */
			parts[npend].off = off + mid;
			parts[npend++].n = n - mid;
			parts[npend].off = off;
			parts[npend++].n = mid;
			continue;
		}
		free(gz);
		gz = NULL;
		done = pw_realloc(done, (ndone + 1) * sizeof(*done));
		done[ndone].off = off;
		done[ndone++].n = n;
	}
	nparts = ndone;
	for (i = 0; rc == 0 && i < ndone; i++) {
		struct rdomain sub = *d;
		xmlBufferPtr xml;
		char *id;

		id = report_id(r, d, (unsigned)i + 1, (unsigned)nparts);
		sub.recs = d->recs + done[i].off;
		sub.nrecs = done[i].n;
		/* again with the real id (the same length) */
		if ((xml = report_xml(&sub, r->org, r->email, id, r->from_t,
		    r->to_t)) == NULL || (gz = gz_mem(xml, &gz_len)) == NULL) {
			pw_ctl_error(CMD, "%s: cannot build report %s",
			    d->domain, id);
			x = 1;
		} else
			x = deliver_one(r, &sub, addr, id, (unsigned)i + 1,
			    (unsigned)nparts, gz, gz_len);
		if (xml != NULL)
			xmlBufferFree(xml);
		free(gz);
		gz = NULL;
		free(id);
		if (x > rc)
			rc = x;
		if (x == 2)
			break;
	}
	free(done);
	free(parts);
	free(sizing_id);
	return rc;
}

/* expire - delete the rows older than dmarc_keep_days; 0 or 1 */
static int
expire(struct run *r)
{
	time_t before = time(NULL) - (time_t)r->set->keep_days * 86400;
	int64_t rows = 0, sent = 0;

	if (pw_store_dmarc_expire(r->st, before, &rows, &sent) < 0) {
		pw_ctl_error(CMD, "cannot delete the rows older than "
		    "dmarc_keep_days (%ld): %s", r->set->keep_days,
		    pw_store_strerror());
		return 1;
	}
	fprintf(stderr, "postwarden-ctl: %s: %lld rows and %lld report "
	    "records older than %ld days deleted\n", CMD, (long long)rows,
	    (long long)sent, r->set->keep_days);
	return 0;
}

/* report_config - the configuration with the dmarc_report keys */
static struct pw_config *
report_config(struct pw_ctl *ctl)
{
	static struct pw_config_owner owners[2];
	struct pw_buf errors = {0};

	if (ctl->cfg != NULL)
		return ctl->cfg;
	owners[0] = pw_services_owner;
	owners[1] = pw_dmarc_report_owner;
	ctl->cfg = pw_config_load(ctl->config_path, owners, 2,
	    PW_CONFIG_PARTIAL, &errors);
	if (ctl->cfg == NULL && errors.len > 0)
		fprintf(stderr, "%.*s", (int)errors.len, errors.data);
	pw_buf_free(&errors);
	return ctl->cfg;
}

/* parse_time - "YYYY-MM-DD" (UTC midnight) or seconds since the epoch */
static int
parse_time(const char *s, time_t *t_r)
{
	struct tm tm;
	char *end;
	long long v;

	memset(&tm, 0, sizeof(tm));
	end = strptime(s, "%Y-%m-%d", &tm);
	if (end != NULL && *end == '\0') {
		*t_r = timegm(&tm);
		return 0;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < 0)
		return -1;
	*t_r = (time_t)v;
	return 0;
}

static int
usage(void)
{
	fprintf(stderr, "usage: postwarden-ctl dmarc report [--dry-run DIR] "
	    "[--store SPEC]\n\t[--from DATE|EPOCH --to DATE|EPOCH] "
	    "[--org-name NAME] [--email ADDR]\n\t[--max-reports N]\n");
	return EX_USAGE;
}

/* domain_reports - the reports of one domain, one per mailto: rua (the
   records sorted first), written or sent (deliver); c->rc as struct
   collect says */
static int
domain_reports(struct collect *c, struct rdomain *d)
{
	struct pw_dmarc_record rec;
	const char *u, *e;

	if (c->rc == 2)
		return c->rc;
	if (d->nrecs > 1)
		qsort(d->recs, d->nrecs, sizeof(*d->recs), keycmp);
	if (pw_dmarc_record_parse(d->record, strlen(d->record), &rec) < 0 ||
	    rec.rua.s == NULL)
		return c->rc;	/* no rua: no report (RFC 9989) */
	for (u = rec.rua.s; u < rec.rua.s + rec.rua.len; u = e + 1) {
		char *uri, *t, *addr, *dest;
		int a;

		for (e = u; e < rec.rua.s + rec.rua.len && *e != ','; e++)
			;
		uri = pw_strndup(u, (size_t)(e - u));
		t = pw_trim(uri);
		/* "!size" is obsolete (RFC 9990): ignored */
		if ((addr = strchr(t, '!')) != NULL)
			*addr = '\0';
		if (strncasecmp(t, "mailto:", 7) != 0 ||
		    (dest = strrchr(t + 7, '@')) == NULL || dest[1] == '\0') {
			free(uri);
			continue;	/* not a mailto: we support */
		}
		addr = t + 7;
		dest++;
		if (!internal(dest, d->domain) &&
		    (a = authorized(c->dns, d->domain, dest)) != 1) {
			fprintf(stderr, "postwarden-ctl: %s: %s: %s skipped: "
			    "%s\n", CMD, d->domain, addr, a < 0 ?
			    "authorization lookup failed, try again later" :
			    "no authorization record (RFC 9990 section 3)");
			c->nskipped++;
			free(uri);
			continue;
		}
		a = deliver(c->run, d, addr);
		free(uri);
		if (a == 2) {
			c->rc = 2;
			break;
		}
		if (a != 0)
			c->rc = 1;
	}
	return c->rc;
}

static int
report(struct pw_ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dry-run", required_argument, NULL, 'd'},
	    {"store", required_argument, NULL, 's'},
	    {"from", required_argument, NULL, 'f'},
	    {"to", required_argument, NULL, 't'},
	    {"org-name", required_argument, NULL, 'o'},
	    {"email", required_argument, NULL, 'e'},
	    {"max-reports", required_argument, NULL, 'm'},
	    {NULL, 0, NULL, 0},
	};
	const char *dir = NULL, *spec = NULL, *org = NULL, *email = NULL;
	struct collect c;
	struct pw_config *cfg;
	struct pw_store *st;
	struct pw_dns *dns;
	const struct pw_dmarc_report_settings *set;
	struct run run;
	char host[256], *err = NULL, *from_def = NULL;
	long max = MAX_REPORTS;
	size_t nreports = 0, nskipped = 0;
	int ch, rc = 0;
	time_t now = time(NULL);
	bool from_set = false, to_set = false, listed;

#ifdef M_TRIM_THRESHOLD
	/* Each report allocates and frees the same few hundred kB (libxml2's
	   buffer, zlib's deflate state).  With the records now read domain
	   by domain the heap is small, so glibc gave its top back to the
	   kernel at every free and the next report faulted it in again:
	   two brk calls and ~75 page faults per report, most of the run's
	   system time at 100,000 reports.  Keep up to 64 MB of free heap. */
	(void)mallopt(M_TRIM_THRESHOLD, 64 << 20);
#endif
	memset(&c, 0, sizeof(c));
	/* the last complete UTC day */
	c.to = now - now % 86400;
	c.from = c.to - 86400;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (ch) {
		case 'd': dir = optarg; break;
		case 's': spec = optarg; break;
		case 'o': org = optarg; break;
		case 'e': email = optarg; break;
		case 'f':
		case 't':
			if (parse_time(optarg, ch == 'f' ? &c.from : &c.to) <
			    0) {
				pw_ctl_error(CMD, "bad time \"%s\": "
				    "YYYY-MM-DD or seconds since 1970", optarg);
				return EX_USAGE;
			}
			*(ch == 'f' ? &from_set : &to_set) = true;
			break;
		case 'm':
			max = strtol(optarg, &err, 10);
			if (*optarg == '\0' || *err != '\0' || max < 1) {
				pw_ctl_error(CMD, "bad --max-reports \"%s\"",
				    optarg);
				return EX_USAGE;
			}
			err = NULL;
			break;
		default:
			pw_ctl_opt_error(CMD, ch, argv);
			return usage();
		}
	}
	if (optind != argc)
		return usage();
	if (from_set != to_set) {
		pw_ctl_error(CMD, "--from and --to go together");
		return EX_USAGE;
	}
	if (c.from >= c.to) {
		pw_ctl_error(CMD, "empty period");
		return EX_USAGE;
	}
	if (dir != NULL && mkdir(dir, 0750) < 0 && errno != EEXIST) {
		pw_ctl_error_errno(CMD, "%s", dir);
		return 1;
	}
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	if ((cfg = report_config(ctl)) == NULL)
		return 1;
	set = pw_config_settings(cfg, pw_dmarc_report_owner.name);
	if (org == NULL)
		org = set->org_name != NULL ? set->org_name : host;
	if (set->from == NULL)
		from_def = pw_asprintf("postmaster@%s", host);
	if (email == NULL)
		email = set->from != NULL ? set->from : from_def;
	memset(&run, 0, sizeof(run));
	run.dir = dir;
	run.set = set;
	run.org = org;
	run.email = email;
	run.from = set->from != NULL ? set->from : from_def;
	run.receiver = strrchr(run.from, '@') + 1;
	run.from_t = c.from;
	run.to_t = c.to;
	run.max = max;
	if (spec == NULL)
		spec = set->store;
	if ((dns = pw_dns_config(cfg, &err)) == NULL) {
		pw_ctl_error(CMD, "%s", err);
		free(err);
		return 1;
	}
	/* read-write unless --dry-run: the sent-record and the deletion */
	if ((st = pw_ctl_open_store(ctl, spec, CMD, dir != NULL)) == NULL) {
		pw_dns_free(&dns);
		free(from_def);
		return 1;
	}
	run.st = dir == NULL ? st : NULL;
	c.dns = dns;
	c.run = &run;
	xmlInitParser();	/* before a second thread uses libxml2 */
	reporter_start(&c);
	listed = pw_store_dmarc_groups(st, c.from, c.to, collect_group,
	    &c) == 0;
	if (listed && c.d.domain != NULL)
		hand_over(&c, &c.d);	/* the last domain */
	reporter_end(&c);
	if (!listed) {
		pw_ctl_error(CMD, "cannot read the DMARC rows: %s",
		    pw_store_strerror());
		c.rc = 1;
	}
	rc = c.rc;
	nreports = run.nreports;
	nskipped = c.nskipped;
	/* rows past dmarc_keep_days: only by the sending run, whatever
	   happened to the reports (they are built from far younger rows),
	   also when --max-reports stopped it; after the grouped walk, whose
	   statement is done by then */
	if (dir == NULL && listed && expire(&run) != 0 && rc == 0)
		rc = 1;
	if (dir == NULL)
		fprintf(stderr, "postwarden-ctl: %s: %zu sent, %zu failed (next "
		    "run), %zu sent before\n", CMD, run.nsent, run.nfailed,
		    run.nalready);
	pw_store_close(&st);
	fprintf(stderr, "postwarden-ctl: %s: %zu rows, %zu domains, %zu "
	    "reports, %zu destinations skipped, %zu rows without report "
	    "columns\n", CMD, c.rows, c.nd, nreports, nskipped, c.skipped);
	domain_free(&c.d);
	pw_dns_free(&dns);
	free(from_def);
	return rc;
}

int
pw_ctl_dmarc(struct pw_ctl *ctl, int argc, char **argv)
{
	if (argc < 2 || strcmp(argv[1], "report") != 0) {
		pw_ctl_error("dmarc", "usage: dmarc report ...");
		return EX_USAGE;
	}
	return report(ctl, argc - 1, argv + 1);
}
