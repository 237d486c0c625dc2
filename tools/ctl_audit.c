/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_audit - the auditor's commands of postwarden-ctl (compliance-rules.md
 * R20 and §6.5; CASL s.13: the sender must prove consent):
 *
 *   audit verify [--expect-head HEX]
 *       walk the hash chain of audit rows (audit_chain.h); name the first
 *       broken row and exit 1; print the head hash and row count when
 *       intact (record it: a later --expect-head shows that no row up to
 *       it was deleted, which a shorter valid chain would otherwise hide).
 *   audit report --org ORG [--since T] [--until T] [--format csv|json]
 *       one line per audit row: class, consent basis, identification
 *       profile, token id, signature, action, and retry_of.  Rows are
 *       written per attempt, before Postfix has the message: a milter
 *       that dies between the row and Postfix's answer leaves a row
 *       whose queue id never left, and the client's retry (same
 *       Message-ID) writes another.  retry_of names the first row of the
 *       report for the same Message-ID and recipient (empty on that
 *       first one): count messages by the rows with retry_of empty.  An
 *       attempt before --since is not seen.
 *   audit report --org ORG [--since T] [--until T] --format html
 *       the same period as one page for an auditor (ctl_report_html.c):
 *       counts per day, class and action, consent basis mix, refusals,
 *       unsubscribe delays, identification failures, the chain's result.
 *   consent proof ADDRESS --org ORG [--format text|json]
 *       every consent and withdrawal event with its source and proof, and
 *       every message sent to the address with the basis in force then.
 *   unsubscribe report --org ORG [--format csv|json]
 *       each withdrawal with requested_at, effective_at and the delay, and
 *       the messages sent to that recipient after requested_at (which must
 *       be none: exit 1 if there are any).
 *
 * Each also takes --store SPEC (default: "store" in the configuration).
 * Times T are YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC); output times are
 * the latter, with the microseconds (YYYY-MM-DDTHH:MM:SS.ffffffZ) where
 * the store recorded them (store.h pw_time_us: rows since schema version
 * 5, and every record's recording time); the columns are the same.  CSV follows RFC 4180; JSON is one object per line (JSON
 * Lines), written with jansson.  The store is opened read-only and read
 * with its prepared statements only (store.h).
 *
 * The identification profile is the digest of the organisation's current
 * profile in the organisations file (evidence.h): audit rows do not yet
 * record the profile in force at send time.
 */
#include "autoconf.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "base/config.h"
#include "base/util.h"
#include "compliance/audit_chain.h"
#include "compliance/consent_state.h"
#include "compliance/evidence.h"
#include "compliance/org.h"
#include "ctl.h"
#include "ctl_csv.h"
#include "ctl_report_html.h"
#include "parsers/addrnorm.h"
#include "snapshot.h"
#include "store/store.h"

enum fmt { FMT_TEXT, FMT_CSV, FMT_JSON };

struct au_opts {
	const char *org;
	const char *store;
	const char *since, *until;
	const char *format;
	const char *head;
	const char *pos;	/* one positional argument */
};

/* One output field: a string (NULL: empty / null) or an integer. */
struct fld {
	const char *k;
	const char *s;
	long long i;
	bool is_int;
};
#define FS(k, v) {(k), (v), 0, false}
#define FI(k, v) {(k), NULL, (long long)(v), true}
#define NF(a) (sizeof(a) / sizeof((a)[0]))

struct out {
	enum fmt fmt;
	bool header_done;
};

/* ---- output ---------------------------------------------------------- */

/* text_put - " k=v", quoted when it holds white space or quotes */
static void
text_put(const struct fld *f)
{
	char num[32];
	const char *v = f->s;

	if (f->is_int) {
		snprintf(num, sizeof(num), "%lld", f->i);
		v = num;
	}
	if (v == NULL)
		v = "";
	printf(" %s=", f->k);
	if (*v != '\0' && strpbrk(v, " \t\"\\\r\n") == NULL) {
		fputs(v, stdout);
		return;
	}
	putchar('"');
	for (; *v != '\0'; v++) {
		if (*v == '"' || *v == '\\')
			putchar('\\');
		if (*v == '\n' || *v == '\r')
			fputs(*v == '\n' ? "\\n" : "\\r", stdout);
		else
			putchar(*v);
	}
	putchar('"');
}

/* emit - one record; kind names its type (NULL for one-type reports) */
static int
emit(struct out *o, const char *kind, const struct fld *f, size_t n)
{
	char num[32];
	json_t *obj, *v;
	int rc = 0;

	switch (o->fmt) {
	case FMT_CSV:
		if (!o->header_done) {
			for (size_t i = 0; i < n; i++)
				pw_csv_field(stdout, f[i].k, i + 1 == n);
			o->header_done = true;
		}
		for (size_t i = 0; i < n; i++) {
			if (f[i].is_int)
				snprintf(num, sizeof(num), "%lld", f[i].i);
			pw_csv_field(stdout, f[i].is_int ? num : f[i].s,
			    i + 1 == n);
		}
		break;
	case FMT_TEXT:
		fputs(kind ? kind : "row", stdout);
		for (size_t i = 0; i < n; i++)
			text_put(&f[i]);
		putchar('\n');
		break;
	case FMT_JSON:
		obj = json_object();
		if (kind != NULL)
			json_object_set_new(obj, "kind", json_string(kind));
		for (size_t i = 0; i < n; i++) {
			if (f[i].is_int)
				v = json_integer(f[i].i);
			else if (f[i].s == NULL ||
			    (v = json_string(f[i].s)) == NULL)
				v = json_null();	/* absent or not UTF-8 */
			json_object_set_new(obj, f[i].k, v);
		}
		/* JSON Lines: one compact object per line, keys in order */
		rc = json_dumpf(obj, stdout, JSON_COMPACT | JSON_PRESERVE_ORDER |
		    JSON_ENSURE_ASCII);
		putchar('\n');
		json_decref(obj);
		break;
	}
	return rc < 0 || ferror(stdout) ? -1 : 0;
}

/* tm - a time for output, "" for none (buf[21]) */
static const char *
tm(time_t t, char *buf)
{
	return t == PW_NOTIME ? NULL : pw_date_format(t, buf);
}

/* tmu - t, or us with its microseconds when the store has them
   (buf[28]) */
static const char *
tmu(time_t t, pw_time_us us, char *buf)
{
	return us != PW_NOTIME_US ? pw_date_format_us(us, buf) : tm(t, buf);
}

/* ---- options and store ------------------------------------------------- */

static const struct option au_longopts[] = {
    {"org", required_argument, NULL, 'o'},
    {"store", required_argument, NULL, 'S'},
    {"since", required_argument, NULL, 's'},
    {"until", required_argument, NULL, 'u'},
    {"format", required_argument, NULL, 'f'},
    {"expect-head", required_argument, NULL, 'H'},
    {NULL, 0, NULL, 0},
};

/* au_getopt - options and at most one positional argument after the
   sub-subcommand (argv[0]); -1 on error (reported) */
static int
au_getopt(const char *cmd, int argc, char **argv, struct au_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	/* 0: glibc re-initialises fully (the dispatcher parsed with "+");
	   no "+" here: options may follow the positional argument */
	optind = 0;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":o:S:s:u:f:H:", au_longopts,
	    NULL)) != -1) {
		switch (ch) {
		case 'o':
			o->org = optarg;
			break;
		case 'S':
			o->store = optarg;
			break;
		case 's':
			o->since = optarg;
			break;
		case 'u':
			o->until = optarg;
			break;
		case 'f':
			o->format = optarg;
			break;
		case 'H':
			o->head = optarg;
			break;
		default:	/* ':' or '?' */
			pw_ctl_opt_error(cmd, ch, argv);
			return -1;
		}
	}
	if (optind < argc)
		o->pos = argv[optind++];
	if (optind < argc) {
		pw_ctl_error(cmd, "unexpected argument \"%s\"", argv[optind]);
		return -1;
	}
	return 0;
}

/* need_org - --org is required and token-safe */
static int
need_org(const char *cmd, const struct au_opts *o)
{
	if (o->org == NULL || !pw_ctl_name_ok(o->org, false)) {
		pw_ctl_error(cmd, "--org ORG is required (up to 64 characters "
				  "of [A-Za-z0-9._-])");
		return -1;
	}
	return 0;
}

/* parse_fmt - --format among the allowed ones; -1 when not */
static int
parse_fmt(const char *cmd, const char *s, enum fmt def, bool text_ok,
    bool csv_ok, enum fmt *f_r)
{
	if (s == NULL)
		*f_r = def;
	else if (strcmp(s, "json") == 0)
		*f_r = FMT_JSON;
	else if (csv_ok && strcmp(s, "csv") == 0)
		*f_r = FMT_CSV;
	else if (text_ok && strcmp(s, "text") == 0)
		*f_r = FMT_TEXT;
	else {
		pw_ctl_error(cmd, "--format %s: expected %s", s,
		    text_ok ? "text or json" : "csv or json");
		return -1;
	}
	return 0;
}

/* ---- audit verify -------------------------------------------------------- */

struct verify {
	struct pw_audit_chain chain;
	enum pw_chain_status status;
	int64_t bad_id;
};

static int
verify_cb(const struct pw_audit_row *r, void *ctx)
{
	struct verify *v = ctx;

	if ((v->status = pw_audit_chain_step(&v->chain, r)) == PW_CHAIN_OK)
		return 0;
	v->bad_id = r->id;
	return 1;
}

static int
audit_verify(struct pw_ctl *ctl, const struct au_opts *o)
{
	const struct pw_audit_filter all = {NULL, NULL, PW_NOTIME, PW_NOTIME};
	unsigned char anchor[32];
	struct verify v;
	struct pw_store *s;
	char hex[65];
	int rc;

	pw_audit_chain_init(&v.chain);
	v.status = PW_CHAIN_OK;
	v.bad_id = 0;
	if (o->head != NULL) {
		if (pw_unhex32(o->head, anchor) < 0) {
			pw_ctl_error("audit", "--expect-head: 64 hex digits");
			return EX_USAGE;
		}
		pw_audit_chain_anchor(&v.chain, anchor);
	}
	if ((s = pw_ctl_open_store(ctl, o->store, "audit", true)) == NULL)
		return 1;
	rc = pw_store_audit_list(s, &all, verify_cb, &v);
	pw_store_close(&s);
	if (rc < 0) {
		pw_ctl_error("audit", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	if (v.status != PW_CHAIN_OK) {
		printf("audit chain BROKEN at row %" PRId64 ": %s\n", v.bad_id,
		    pw_audit_chain_why(v.status));
		printf("rows 1-%" PRId64 " verified\n", v.chain.last_id);
		return 1;
	}
	if (!pw_audit_chain_anchor_found(&v.chain)) {
		printf("audit chain BROKEN: no row has the expected head %s "
		       "(rows deleted after it, or the chain rewritten); "
		       "%" PRIu64 " rows verified\n", o->head, v.chain.rows);
		return 1;
	}
	pw_hex32(v.chain.head, hex);
	printf("audit chain intact: %" PRIu64 " rows, head %s\n", v.chain.rows,
	    hex);
	return 0;
}

/* ---- audit report -------------------------------------------------------- */

/* The first audit id of each (Message-ID, recipient) seen: retry_of. */
struct seen {
	char *key;		/* message-id NUL recipient NUL; NULL: free */
	size_t len;
	long long id;
};

struct report {
	struct out out;
	const char *profile;
	bool header_only;	/* CSV of no rows: the header alone */
	struct seen *seen;
	size_t nseen, cap;	/* cap: a power of 2 */
};

static size_t
seen_hash(const char *k, size_t len)
{
	size_t h = 14695981039346656037ULL;

	while (len-- > 0)
		h = (h ^ (unsigned char)*k++) * 1099511628211ULL;
	return h;
}

/* seen_first - the first id recorded for (mid, rcpt), recording id if
   none; 0 when this is the first */
static long long
seen_first(struct report *rp, const char *mid, const char *rcpt,
	   long long id)
{
	size_t ml = strlen(mid), rl = strlen(rcpt), len = ml + rl + 2, i, j;
	struct seen *old;
	char *k;

	if (2 * (rp->nseen + 1) > rp->cap) {
		old = rp->seen;
		j = rp->cap;
		rp->cap = rp->cap ? 2 * rp->cap : 256;
		rp->seen = pw_calloc(rp->cap, sizeof(*rp->seen));
		for (i = 0; i < j; i++) {
			size_t h;

			if (old[i].key == NULL)
				continue;
			h = seen_hash(old[i].key, old[i].len) & (rp->cap - 1);
			while (rp->seen[h].key != NULL)
				h = (h + 1) & (rp->cap - 1);
			rp->seen[h] = old[i];
		}
		free(old);
	}
	k = pw_malloc(len);
	memcpy(k, mid, ml + 1);
	memcpy(k + ml + 1, rcpt, rl + 1);
	for (i = seen_hash(k, len) & (rp->cap - 1); rp->seen[i].key != NULL;
	     i = (i + 1) & (rp->cap - 1))
		if (rp->seen[i].len == len &&
		    memcmp(rp->seen[i].key, k, len) == 0) {
			free(k);
			return rp->seen[i].id;
		}
	rp->seen[i].key = k;
	rp->seen[i].len = len;
	rp->seen[i].id = id;
	rp->nseen++;
	return 0;
}

static void
seen_free(struct report *rp)
{
	size_t i;

	for (i = 0; i < rp->cap; i++)
		free(rp->seen[i].key);
	free(rp->seen);
	rp->seen = NULL;
	rp->nseen = rp->cap = 0;
}

/* sig - "d=DOMAIN; s=SELECTOR" or NULL (buf) */
static const char *
sig(const struct pw_audit_row *r, struct pw_buf *b)
{
	if (r->dkim_d == NULL)
		return NULL;
	b->len = 0;
	pw_buf_printf(b, "d=%s; s=%s", r->dkim_d, r->dkim_s ? r->dkim_s : "");
	return b->data;
}

static int
report_cb(const struct pw_audit_row *r, void *ctx)
{
	struct report *rp = ctx;
	struct pw_buf b = {0};
	char t1[28], t2[21], retry[24];
	const char *retry_of = NULL;
	long long first;
	int rc;

	if (!rp->header_only && r->message_id != NULL &&
	    r->message_id[0] != '\0' && r->recipient != NULL &&
	    (first = seen_first(rp, r->message_id, r->recipient, r->id)) != 0) {
		snprintf(retry, sizeof(retry), "%lld", first);
		retry_of = retry;
	}
	struct fld f[] = {
	    FI("audit_id", r->id),
	    FS("time", tmu(r->time, r->time_us, t1)),
	    FS("queue_id", r->queue_id),
	    FS("message_id", r->message_id),
	    FS("recipient", r->recipient),
	    FS("class", r->class),
	    FS("class_source", r->class_source),
	    FS("consent", r->consent),
	    FI("basis_id", r->basis_id),
	    FS("basis_type", r->basis_type),
	    FS("basis_expires", tm(r->basis_expires, t2)),
	    FS("ident_profile", rp->profile),
	    FS("token_id", r->token_id),
	    FS("signature", sig(r, &b)),
	    FS("action", r->action),
	    FS("reason", r->reason),
	    FS("retry_of", retry_of),
	};

	if (rp->header_only) {
		for (size_t i = 0; i < NF(f); i++)
			pw_csv_field(stdout, f[i].k, i + 1 == NF(f));
		return 0;
	}
	rc = emit(&rp->out, NULL, f, NF(f));
	pw_buf_free(&b);
	return rc;
}

/* org_profile - the organisation's profile digest, if the configuration
   names an organisations file that loads (buf[24]) */
static const char *
org_profile(struct pw_ctl *ctl, const char *org, char *buf)
{
	struct pw_config *cfg;
	const struct pw_orgs *orgs;

	/* only an explicit -c, or when the store comes from the config */
	if (!ctl->config_given && ctl->cfg == NULL)
		return NULL;
	if ((cfg = pw_ctl_config(ctl)) == NULL ||
	    (orgs = pw_services(cfg)->orgs) == NULL)
		return NULL;
	return pw_evidence_profile(pw_orgs_by_name(orgs, org), buf);
}

static int audit_report_html(struct pw_ctl *, const struct au_opts *,
    const struct pw_audit_filter *);

static int
audit_report(struct pw_ctl *ctl, const struct au_opts *o)
{
	struct pw_audit_filter f = {o->org, NULL, PW_NOTIME, PW_NOTIME};
	struct report rp = {{FMT_CSV, false}, NULL, false, NULL, 0, 0};
	struct pw_audit_row none = {0};
	struct pw_store *s;
	char prof[24];
	int rc;

	bool html = o->format != NULL && strcmp(o->format, "html") == 0;

	if (need_org("audit", o) < 0 || o->pos != NULL)
		return EX_USAGE;
	if (!html && o->format != NULL && strcmp(o->format, "csv") != 0 &&
	    strcmp(o->format, "json") != 0) {
		pw_ctl_error("audit", "--format %s: expected csv, json or html",
		    o->format);
		return EX_USAGE;
	}
	if (!html && parse_fmt("audit", o->format, FMT_CSV, false, true,
	    &rp.out.fmt) < 0)
		return EX_USAGE;
	if ((o->since && pw_date_parse(o->since, &f.since) < 0) ||
	    (o->until && pw_date_parse(o->until, &f.until) < 0)) {
		pw_ctl_error("audit", "--since/--until: YYYY-MM-DD or "
				      "YYYY-MM-DDTHH:MM:SSZ");
		return EX_USAGE;
	}
	if (html)
		return audit_report_html(ctl, o, &f);
	if ((s = pw_ctl_open_store(ctl, o->store, "audit", true)) == NULL)
		return 1;
	rp.profile = org_profile(ctl, o->org, prof);
	rc = pw_store_audit_list(s, &f, report_cb, &rp);
	seen_free(&rp);
	pw_store_close(&s);
	if (rc == 0 && rp.out.fmt == FMT_CSV && !rp.out.header_done) {
		rp.header_only = true;
		report_cb(&none, &rp);
	}
	if (rc < 0) {
		pw_ctl_error("audit", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	return 0;
}

int
pw_ctl_audit(struct pw_ctl *ctl, int argc, char **argv)
{
	struct au_opts o;

	if (argc < 2 || (strcmp(argv[1], "verify") != 0 &&
	    strcmp(argv[1], "report") != 0)) {
		pw_ctl_error("audit", "expected verify or report");
		return EX_USAGE;
	}
	if (au_getopt("audit", argc - 1, argv + 1, &o) < 0)
		return EX_USAGE;
	if (strcmp(argv[1], "verify") == 0) {
		if (o.pos != NULL || o.org || o.since || o.until || o.format) {
			pw_ctl_error("audit", "verify takes only --store and "
					      "--expect-head");
			return EX_USAGE;
		}
		return audit_verify(ctl, &o);
	}
	return audit_report(ctl, &o);
}

/* ---- consent proof --------------------------------------------------------- */

struct proof {
	struct out out;
	const char *addr;
	int failed;
};

static int
proof_consent_cb(const struct pw_consent_record *r, void *ctx)
{
	struct proof *p = ctx;
	char t1[21], t2[21], t3[21], t4[28];
	struct fld f[] = {
	    FI("id", r->id),
	    FS("type", pw_consent_type_name(r->type)),
	    FS("list", r->list),
	    FS("obtained_at", tm(r->obtained_at, t1)),
	    FS("expires_at", tm(r->expires_at, t2)),
	    FS("relationship_date", tm(r->relationship_date, t3)),
	    FS("source", r->source),
	    FS("proof", r->proof),
	    FS("recorded_at", tmu(r->created_at, r->recorded_us, t4)),
	};

	return emit(&p->out, r->type == PW_CONSENT_WITHDRAWN ? "withdrawal" :
	    "consent", f, NF(f));
}

static int
proof_supp_cb(const struct pw_suppression *sp, void *ctx)
{
	struct proof *p = ctx;
	char t1[28], t2[28];
	struct fld f[] = {
	    FI("suppression_id", sp->id),
	    FS("list", sp->list),
	    FS("source", sp->reason),
	    FS("token_id", sp->token_id),
	    FS("requested_at", tmu(sp->requested_at, sp->requested_us, t1)),
	    FS("effective_at", tmu(sp->created_at, sp->recorded_us, t2)),
	};

	if (strcmp(sp->address, p->addr) != 0)
		return 0;
	return emit(&p->out, "withdrawal", f, NF(f));
}

static int
proof_msg_cb(const struct pw_audit_row *r, void *ctx)
{
	struct proof *p = ctx;
	struct pw_buf b = {0};
	char t1[28], t2[21];
	int rc;
	struct fld f[] = {
	    FI("audit_id", r->id),
	    FS("time", tmu(r->time, r->time_us, t1)),
	    FS("queue_id", r->queue_id),
	    FS("message_id", r->message_id),
	    FS("class", r->class),
	    FS("action", r->action),
	    FS("consent", r->consent),
	    FI("basis_id", r->basis_id),
	    FS("basis_type", r->basis_type),
	    FS("basis_expires", tm(r->basis_expires, t2)),
	    FS("token_id", r->token_id),
	    FS("signature", sig(r, &b)),
	    FS("reason", r->reason),
	};

	rc = emit(&p->out, "message", f, NF(f));
	pw_buf_free(&b);
	return rc;
}

/* consent_proof - the dossier of one (org, address) */
static int
consent_proof(struct pw_ctl *ctl, const char *org, const char *store,
    const char *format, const char *address)
{
	struct proof p = {{FMT_TEXT, false}, NULL, 0};
	struct pw_audit_filter f = {org, NULL, PW_NOTIME, PW_NOTIME};
	struct pw_store *s;
	const char *why;
	char *addr = NULL;
	int rc;

	if (parse_fmt("consent", format, FMT_TEXT, true, false,
	    &p.out.fmt) < 0)
		return EX_USAGE;
	if (pw_addr_normalise(address, strlen(address), &addr, &why) < 0) {
		pw_ctl_error("consent", "%s: %s", address, why);
		return 1;
	}
	if ((s = pw_ctl_open_store(ctl, store, "consent", true)) == NULL) {
		free(addr);
		return 1;
	}
	p.addr = f.recipient = addr;
	{
		struct fld h[] = {FS("address", addr), FS("org", org)};

		rc = emit(&p.out, "recipient", h, NF(h));
	}
	/* consent events (withdrawals made with "consent import" are
	   events too), suppressions, then messages, each in id order */
	if (rc == 0)
		rc = pw_store_consent_export(s, org, addr, proof_consent_cb, &p);
	if (rc == 0)
		rc = pw_store_suppression_list(s, org, proof_supp_cb, &p);
	if (rc == 0)
		rc = pw_store_audit_list(s, &f, proof_msg_cb, &p);
	pw_store_close(&s);
	free(addr);
	if (rc < 0) {
		pw_ctl_error("consent", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	return 0;
}

int
pw_ctl_consent_proof(struct pw_ctl *ctl, int argc, char **argv)
{
	struct au_opts o;

	if (au_getopt("consent", argc - 1, argv + 1, &o) < 0 ||
	    need_org("consent", &o) < 0)
		return EX_USAGE;
	if (o.pos == NULL || o.since || o.until || o.head) {
		pw_ctl_error("consent", "expected: proof ADDRESS --org ORG "
					"[--format text|json] [--store SPEC]");
		return EX_USAGE;
	}
	return consent_proof(ctl, o.org, o.store, o.format, o.pos);
}

/* ---- unsubscribe report --------------------------------------------------- */

/*
 * The withdrawals are collected first (the store's walks cannot nest),
 * with the consent each recipient gave again after the request; then one
 * pass over the organisation's audit rows since the earliest request
 * finds, by binary search on the address, the messages sent after each
 * request: O(rows + withdrawals log withdrawals), not a scan per
 * withdrawal.
 */
struct wd {
	int64_t id;
	char *address, *list, *reason, *token_id;
	time_t requested_at, effective_at;
	pw_time_us requested_us, effective_us;	/* 0: seconds only */
	int64_t *reconsent;	/* consent event ids obtained after */
	size_t nreconsent;
	struct pw_buf late;	/* "QID/audit_id ..." */
	long nlate;
};

struct wds {
	struct wd *v;
	size_t n, cap;
	struct wd **by_addr;	/* sorted by address */
};

static int
wd_cb(const struct pw_suppression *sp, void *ctx)
{
	struct wds *w = ctx;
	struct wd *d;

	if (w->n == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 16;
		w->v = pw_realloc(w->v, w->cap * sizeof(*w->v));
	}
	d = &w->v[w->n++];
	memset(d, 0, sizeof(*d));
	d->id = sp->id;
	d->address = pw_strdup(sp->address);
	d->list = pw_strdup(sp->list ? sp->list : "");
	d->reason = pw_strdup(sp->reason ? sp->reason : "");
	d->token_id = sp->token_id ? pw_strdup(sp->token_id) : NULL;
	d->requested_at = sp->requested_at;
	d->effective_at = sp->created_at;
	d->requested_us = sp->requested_us;
	d->effective_us = sp->recorded_us;
	return 0;
}

static int
reconsent_cb(const struct pw_consent_record *r, void *ctx)
{
	struct wd *d = ctx;

	if (r->type != PW_CONSENT_WITHDRAWN && r->obtained_at > d->requested_at) {
		d->reconsent = pw_realloc(d->reconsent,
		    (d->nreconsent + 1) * sizeof(*d->reconsent));
		d->reconsent[d->nreconsent++] = r->id;
	}
	return 0;
}

static int
wd_addr_cmp(const void *a, const void *b)
{
	const struct wd *const *x = a, *const *y = b;

	return strcmp((*x)->address, (*y)->address);
}

/* late_cb - one audit row against every withdrawal of its recipient */
static int
late_cb(const struct pw_audit_row *r, void *ctx)
{
	struct wds *w = ctx;
	size_t lo = 0, hi = w->n, mid;

	if (r->recipient == NULL)
		return 0;
	while (lo < hi) {	/* first withdrawal with address >= recipient */
		mid = lo + (hi - lo) / 2;
		if (strcmp(w->by_addr[mid]->address, r->recipient) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < w->n && strcmp(w->by_addr[lo]->address, r->recipient) == 0;
	     lo++) {
		struct wd *d = w->by_addr[lo];

		if (!pw_evidence_sent_after(r, d->requested_at, d->reconsent,
		    d->nreconsent))
			continue;
		pw_buf_printf(&d->late, "%s%s/%" PRId64, d->nlate ? " " : "",
		    r->queue_id ? r->queue_id : "-", r->id);
		d->nlate++;
	}
	return 0;
}

static int
wd_emit(struct out *out, const struct wd *d)
{
	char t1[28], t2[28];
	struct fld f[] = {
	    FI("suppression_id", d->id),
	    FS("address", d->address),
	    FS("list", d->list),
	    FS("source", d->reason),
	    FS("token_id", d->token_id),
	    FS("requested_at", tmu(d->requested_at, d->requested_us, t1)),
	    FS("effective_at", tmu(d->effective_at, d->effective_us, t2)),
	    FI("delay_s", pw_evidence_delay(d->requested_at, d->effective_at)),
	    FI("sent_after", d->nlate),
	    FS("sent_after_messages", d->nlate ? d->late.data : ""),
	};

	return emit(out, NULL, f, NF(f));
}

/* unsub_scan - reconsent per withdrawal, then the one pass */
static int
unsub_scan(struct pw_store *s, const char *org, struct wds *w)
{
	struct pw_audit_filter f = {org, NULL, PW_NOTIME, PW_NOTIME};

	for (size_t i = 0; i < w->n; i++) {
		if (pw_store_consent_export(s, org, w->v[i].address,
		    reconsent_cb, &w->v[i]) < 0)
			return -1;
		if (i == 0 || w->v[i].requested_at < f.since)
			f.since = w->v[i].requested_at;
	}
	if (w->n == 0)
		return 0;
	w->by_addr = pw_calloc(w->n, sizeof(*w->by_addr));
	for (size_t i = 0; i < w->n; i++)
		w->by_addr[i] = &w->v[i];
	qsort(w->by_addr, w->n, sizeof(*w->by_addr), wd_addr_cmp);
	return pw_store_audit_list(s, &f, late_cb, w);
}

static void
wds_free(struct wds *w)
{
	for (size_t i = 0; i < w->n; i++) {
		free(w->v[i].address);
		free(w->v[i].list);
		free(w->v[i].reason);
		free(w->v[i].token_id);
		free(w->v[i].reconsent);
		pw_buf_free(&w->v[i].late);
	}
	free(w->v);
	free(w->by_addr);
}

int
pw_ctl_unsubscribe(struct pw_ctl *ctl, int argc, char **argv)
{
	struct out out = {FMT_CSV, false};
	struct wds w = {NULL, 0, 0, NULL};
	struct au_opts o;
	struct pw_store *s;
	long late = 0;
	int rc;

	if (argc < 2 || strcmp(argv[1], "report") != 0) {
		pw_ctl_error("unsubscribe", "expected: report --org ORG");
		return EX_USAGE;
	}
	if (au_getopt("unsubscribe", argc - 1, argv + 1, &o) < 0 ||
	    need_org("unsubscribe", &o) < 0 || o.pos || o.since || o.until ||
	    o.head || parse_fmt("unsubscribe", o.format, FMT_CSV, false, true,
	    &out.fmt) < 0)
		return EX_USAGE;
	if ((s = pw_ctl_open_store(ctl, o.store, "unsubscribe", true)) == NULL)
		return 1;
	rc = pw_store_suppression_list(s, o.org, wd_cb, &w);
	if (rc == 0)
		rc = unsub_scan(s, o.org, &w);
	pw_store_close(&s);
	for (size_t i = 0; rc == 0 && i < w.n; i++) {
		if (wd_emit(&out, &w.v[i]) < 0)
			rc = -2;
		late += w.v[i].nlate;
	}
	if (rc == 0 && w.n == 0 && out.fmt == FMT_CSV)
		printf("suppression_id,address,list,source,token_id,"
		       "requested_at,effective_at,delay_s,sent_after,"
		       "sent_after_messages\n");
	wds_free(&w);
	if (rc == -2) {
		pw_ctl_error("unsubscribe", "error writing standard output");
		return 1;
	}
	if (rc < 0) {
		pw_ctl_error("unsubscribe", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	if (late > 0) {
		pw_ctl_error("unsubscribe", "%ld commercial message(s) sent "
		    "after an unsubscribe request", late);
		return 1;
	}
	return 0;
}

/* ---- audit report --format html ------------------------------------------- */

/* org_conf - the organisation as the configuration's organisations file
   has it now; NULL without -c (or a store from the config) or file */
static const struct pw_org *
org_conf(struct pw_ctl *ctl, const char *org)
{
	struct pw_config *cfg;
	const struct pw_orgs *orgs;

	if (!ctl->config_given && ctl->cfg == NULL)
		return NULL;
	if ((cfg = pw_ctl_config(ctl)) == NULL ||
	    (orgs = pw_services(cfg)->orgs) == NULL)
		return NULL;
	return pw_orgs_by_name(orgs, org);
}

/*
 * Everything is read before anything is written, so that a store error
 * leaves no half page on standard output: the chain over the whole store
 * (as audit verify), the period's rows, and the organisation's
 * withdrawals requested in the period with the messages sent after each
 * (as unsubscribe report, whose scan covers all later rows).
 */
static int
audit_report_html(struct pw_ctl *ctl, const struct au_opts *o,
    const struct pw_audit_filter *f)
{
	const struct pw_audit_filter all = {NULL, NULL, PW_NOTIME, PW_NOTIME};
	struct pw_html_info in;
	struct pw_html_unsub *u = NULL;
	struct pw_html_agg *agg;
	struct wds w = {NULL, 0, 0, NULL};
	struct verify v;
	struct pw_store *s;
	char prof[24], why[160];
	int rc;

	if ((s = pw_ctl_open_store(ctl, o->store, "audit", true)) == NULL)
		return 1;
	memset(&in, 0, sizeof(in));
	pw_audit_chain_init(&v.chain);
	v.status = PW_CHAIN_OK;
	v.bad_id = 0;
	agg = pw_html_agg_new();
	rc = pw_store_audit_list(s, &all, verify_cb, &v);
	if (rc >= 0)
		rc = pw_store_audit_list(s, f, pw_html_agg_row, agg);
	if (rc >= 0)
		rc = pw_store_suppression_list(s, o->org, wd_cb, &w);
	if (rc >= 0)
		rc = unsub_scan(s, o->org, &w);
	pw_store_close(&s);
	if (rc < 0) {
		pw_ctl_error("audit", "%s", pw_store_strerror());
		pw_html_agg_free(&agg);
		wds_free(&w);
		return EX_TEMPFAIL;
	}
	in.org = o->org;
	in.since = o->since;
	in.until = o->until;
	in.org_conf = org_conf(ctl, o->org);
	in.profile_digest = org_profile(ctl, o->org, prof);
	in.chain_ok = v.status == PW_CHAIN_OK;
	in.chain_rows = v.chain.rows;
	if (in.chain_ok) {
		snprintf(why, sizeof(why), "intact: %" PRIu64 " rows",
		    v.chain.rows);
		if (v.chain.rows > 0)
			pw_hex32(v.chain.head, in.chain_head);
	} else {
		snprintf(why, sizeof(why), "BROKEN at row %" PRId64 ": %s "
		    "(rows before it verified)", v.bad_id,
		    pw_audit_chain_why(v.status));
	}
	in.chain_text = why;
	u = pw_calloc(w.n ? w.n : 1, sizeof(*u));
	for (size_t i = 0; i < w.n; i++) {
		const struct wd *d = &w.v[i];

		if ((f->since != PW_NOTIME && d->requested_at < f->since) ||
		    (f->until != PW_NOTIME && d->requested_at >= f->until))
			continue;
		u[in.nunsub].address = d->address;
		u[in.nunsub].requested_at = d->requested_at;
		u[in.nunsub].effective_at = d->effective_at;
		u[in.nunsub].delay_s = pw_evidence_delay(d->requested_at,
		    d->effective_at);
		u[in.nunsub].nlate = d->nlate;
		u[in.nunsub].late = d->nlate ? d->late.data : "";
		in.nunsub++;
	}
	in.unsub = u;
	rc = pw_html_write(stdout, agg, &in);
	free(u);
	wds_free(&w);
	pw_html_agg_free(&agg);
	if (rc < 0) {
		pw_ctl_error("audit", "error writing standard output");
		return 1;
	}
	return 0;
}
