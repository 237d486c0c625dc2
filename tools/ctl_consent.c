/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_consent - "postwarden-ctl consent ..." and "suppression list":
 * consent records and suppressions in the store.
 *
 *   consent import --org ORG FILE.csv|-
 *   consent add ADDRESS --org ORG --type TYPE [--list L] [--obtained D]
 *       [--expires D] [--relationship D] [--source S] [--proof P]
 *   consent withdraw ADDRESS --org ORG [--list L] [--reason R]
 *   consent show ADDRESS --org ORG [--list L] [--at D]
 *   consent export --org ORG [ADDRESS]
 *   suppression list --org ORG
 *
 * Every command takes --store SPEC (default: "store" in the config).
 *
 * Import format (RFC 4180 CSV, UTF-8, LF or CRLF).  The first line names
 * the columns, in any order:
 *
 *   address            required; normalised as the milter does (addrnorm.h)
 *   type               required: express, implied-purchase,
 *                      implied-contract, implied-inquiry, implied,
 *                      withdrawn (consent.h)
 *   obtained_at        required: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ (UTC)
 *   expires_at         optional, same format; required for "implied"
 *   relationship_date  optional: purchase, contract end or inquiry day
 *   source             required: where the record comes from
 *   proof              optional: a reference to the evidence
 *   list               optional: list name; empty = every list
 *   id, created_at     accepted and ignored (export output re-imports)
 *
 * Every bad line is reported as FILE:LINE: reason, and a file with any bad
 * line imports nothing; a good file is imported in one transaction.
 * Withdrawals from "withdraw" are suppressions (reason "manual" unless
 * given), like those from the unsubscribe endpoint.
 */
#include "autoconf.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>

#include "base/config.h"
#include "base/util.h"
#include "compliance/consent_state.h"
#include "ctl.h"
#include "ctl_csv.h"
#include "parsers/addrnorm.h"
#include "store/store.h"

#define CC "consent"

struct cc_opts {
	const char *org;
	const char *store;
	const char *list;
	const char *type;
	const char *obtained;
	const char *expires;
	const char *relationship;
	const char *source;
	const char *proof;
	const char *reason;
	const char *at;
};

/* ---- small helpers ------------------------------------------------- */

static const char *
date_or_empty(time_t t, char *buf)
{
	return t == PW_NOTIME ? "" : pw_date_format(t, buf);
}

/* date_us - t, or us with its microseconds when the store has them
   (buf[28]) */
static const char *
date_us(time_t t, pw_time_us us, char *buf)
{
	return us != PW_NOTIME_US ? pw_date_format_us(us, buf) :
	    date_or_empty(t, buf);
}

/* ---- import ------------------------------------------------------------- */

enum col {
	COL_ADDRESS,
	COL_TYPE,
	COL_OBTAINED,
	COL_EXPIRES,
	COL_RELATIONSHIP,
	COL_SOURCE,
	COL_PROOF,
	COL_LIST,
	COL_MAX
};

static const char *const col_names[COL_MAX] = {
    "address",		 "type",   "obtained_at", "expires_at",
    "relationship_date", "source", "proof",	  "list",
};

/* import_header - map the header line; -1 and messages on error */
static int
import_header(struct pw_csv *c, const char *file, int line, int *col)
{
	size_t i;
	int j, bad = 0;

	for (j = 0; j < COL_MAX; j++)
		col[j] = -1;
	for (i = 0; i < c->n; i++) {
		char *name = pw_lowercase(pw_trim(c->f[i]));

		for (j = 0; j < COL_MAX; j++)
			if (strcmp(name, col_names[j]) == 0)
				break;
		if (j < COL_MAX && col[j] >= 0) {
			pw_ctl_error(CC, "%s:%d: column \"%s\" given twice",
				     file, line, name);
			bad++;
		} else if (j < COL_MAX) {
			col[j] = (int)i;
		} else if (strcmp(name, "id") != 0 &&
			   strcmp(name, "created_at") != 0) {
			pw_ctl_error(CC, "%s:%d: unknown column \"%s\"", file,
				     line, name);
			bad++;
		}
	}
	for (j = 0; j <= COL_SOURCE; j++)
		if (col[j] < 0 && j != COL_EXPIRES && j != COL_RELATIONSHIP) {
			pw_ctl_error(CC, "%s:%d: missing column \"%s\"", file,
				     line, col_names[j]);
			bad++;
		}
	return bad ? -1 : 0;
}

static const char *
cell(struct pw_csv *c, const int *col, enum col which)
{
	return col[which] < 0 ? "" : c->f[col[which]];
}

/* import_date - optional (empty) or a date; false on a bad one */
static bool
import_date(const char *s, time_t *t_r)
{
	*t_r = PW_NOTIME;
	return *s == '\0' || pw_date_parse(s, t_r) == 0;
}

/* import_row - one record into *r (strings malloc'd); NULL or a reason
   (static, or *msg_r malloc'd) */
static const char *
import_row(struct pw_csv *c, const int *col, const char *org,
	   struct pw_consent_record *r, char **msg_r)
{
	struct pw_consent_event ev;
	const char *why, *s;
	char *addr = NULL;
	int type;

	memset(r, 0, sizeof(*r));
	s = c->f[col[COL_ADDRESS]];
	if (pw_addr_normalise(s, strlen(s), &addr, &why) < 0) {
		*msg_r = pw_asprintf("address \"%s\": %s", s, why);
		return *msg_r;
	}
	r->address = addr;
	r->org = org;
	if ((type = pw_consent_type_parse(c->f[col[COL_TYPE]])) < 0) {
		*msg_r =
		    pw_asprintf("unknown type \"%s\"", c->f[col[COL_TYPE]]);
		return *msg_r;
	}
	r->type = (enum pw_consent_type)type;
	s = c->f[col[COL_OBTAINED]];
	if (*s == '\0' || pw_date_parse(s, &r->obtained_at) < 0)
		return "obtained_at: expected YYYY-MM-DD or "
		       "YYYY-MM-DDTHH:MM:SSZ";
	if (!import_date(cell(c, col, COL_EXPIRES), &r->expires_at))
		return "expires_at: expected YYYY-MM-DD or "
		       "YYYY-MM-DDTHH:MM:SSZ";
	if (!import_date(cell(c, col, COL_RELATIONSHIP), &r->relationship_date))
		return "relationship_date: expected YYYY-MM-DD or "
		       "YYYY-MM-DDTHH:MM:SSZ";
	r->source = pw_strdup(c->f[col[COL_SOURCE]]);
	if (r->source[0] == '\0')
		return "source is empty";
	r->proof = pw_strdup(cell(c, col, COL_PROOF));
	r->list = pw_strdup(cell(c, col, COL_LIST));
	if (!pw_ctl_name_ok(r->list, true))
		return "list: up to 64 characters of [A-Za-z0-9._-]";
	ev.id = 0;
	ev.list = r->list;
	ev.type = r->type;
	ev.obtained_at = r->obtained_at;
	ev.expires_at = r->expires_at;
	ev.relationship_date = r->relationship_date;
	if (pw_consent_event_check(&ev, &why) < 0)
		return why;
	return NULL;
}

static void
record_free(struct pw_consent_record *r)
{
	free((char *)r->address);
	free((char *)r->source);
	free((char *)r->proof);
	free((char *)r->list);
}

static int
cc_import(struct pw_ctl *ctl, const struct cc_opts *o, const char *file)
{
	struct pw_csv c;
	struct pw_consent_record *recs = NULL;
	struct pw_store *s;
	size_t n = 0, cap = 0, i, nheader = 0;
	int col[COL_MAX], line = 0, rc, bad = 0, status = 0;
	const char *why = NULL;
	bool header_ok;
	char *msg;
	FILE *fp;

	fp = strcmp(file, "-") == 0 ? stdin : fopen(file, "r");
	if (fp == NULL) {
		pw_ctl_error_errno(CC, "%s", file);
		return 1;
	}
	pw_csv_init_file(&c, fp);
	if ((rc = pw_csv_next(&c, &line, &why)) <= 0)
		pw_ctl_error(CC, "%s:%d: %s", file, line,
			     rc == 0 ? "empty file: expected a header line"
				     : why);
	header_ok = rc > 0 && import_header(&c, file, line, col) == 0;
	nheader = c.n;
	if (!header_ok)
		bad++; /* without a header the lines mean nothing */
	while (header_ok && (rc = pw_csv_next(&c, &line, &why)) != 0) {
		if (bad >= 1000) {
			pw_ctl_error(CC, "%s:%d: too many errors, stopping",
				     file, line);
			break;
		}
		if (rc < 0) {
			pw_ctl_error(CC, "%s:%d: %s", file, line, why);
			bad++;
			continue;
		}
		if (c.n != nheader) {
			pw_ctl_error(CC,
				     "%s:%d: %zu fields, the header has "
				     "%zu",
				     file, line, c.n, nheader);
			bad++;
			continue;
		}
		for (i = 0; i < c.n; i++) /* pw_trim advances: move */
			memmove(c.f[i], pw_trim(c.f[i]),
				strlen(pw_trim(c.f[i])) + 1);
		if (n == cap) {
			cap = cap ? 2 * cap : 256;
			recs = pw_realloc(recs, cap * sizeof(*recs));
		}
		msg = NULL;
		if ((why = import_row(&c, col, o->org, &recs[n], &msg)) !=
		    NULL) {
			pw_ctl_error(CC, "%s:%d: %s", file, line, why);
			record_free(&recs[n]);
			free(msg);
			bad++;
			continue;
		}
		n++;
	}
	pw_csv_free(&c);
	if (fp != stdin)
		fclose(fp);
	if (bad > 0) {
		pw_ctl_error(CC, "%s: %d error%s: nothing imported", file, bad,
			     bad == 1 ? "" : "s");
		status = 1;
	} else if ((s = pw_ctl_open_store(ctl, o->store, CC, false)) == NULL) {
		status = 1;
	} else {
		if (n > 0 && pw_store_consent_add(s, recs, n) < 0) {
			pw_ctl_error(CC, "%s: %s: nothing imported", file,
				     pw_store_strerror());
			status = EX_TEMPFAIL;
		} else {
			printf("%s: imported %zu consent event%s for %s\n",
			       file, n, n == 1 ? "" : "s", o->org);
		}
		pw_store_close(&s);
	}
	for (i = 0; i < n; i++)
		record_free(&recs[i]);
	free(recs);
	return status;
}

/* ---- add, withdraw, show, export ------------------------------------------
 */

static int
cc_add(struct pw_ctl *ctl, const struct cc_opts *o, const char *address)
{
	struct pw_consent_record r = {0};
	struct pw_store *s;
	const char *why;
	char *addr = NULL;
	int type, status = 0;

	if (o->type == NULL || (type = pw_consent_type_parse(o->type)) < 0) {
		pw_ctl_error(CC,
			     "--type: express, implied-purchase, "
			     "implied-contract, implied-inquiry or implied");
		return EX_USAGE;
	}
	if (pw_addr_normalise(address, strlen(address), &addr, &why) < 0) {
		pw_ctl_error(CC, "%s: %s", address, why);
		return 1;
	}
	r.org = o->org;
	r.address = addr;
	r.list = o->list;
	r.type = (enum pw_consent_type)type;
	r.obtained_at = time(NULL);
	r.source = o->source ? o->source : "manual";
	r.proof = o->proof;
	if ((o->obtained && pw_date_parse(o->obtained, &r.obtained_at) < 0) ||
	    (o->expires && pw_date_parse(o->expires, &r.expires_at) < 0) ||
	    (o->relationship &&
	     pw_date_parse(o->relationship, &r.relationship_date) < 0)) {
		pw_ctl_error(CC, "dates: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		free(addr);
		return EX_USAGE;
	}
	if ((s = pw_ctl_open_store(ctl, o->store, CC, false)) == NULL) {
		free(addr);
		return 1;
	}
	if (pw_store_consent_add(s, &r, 1) < 0) {
		pw_ctl_error(CC, "%s", pw_store_strerror());
		status = 1;
	} else {
		printf("%s: event %" PRId64 ": %s consent for %s\n", addr, r.id,
		       pw_consent_type_name(r.type), o->org);
	}
	pw_store_close(&s);
	free(addr);
	return status;
}

static int
cc_withdraw(struct pw_ctl *ctl, const struct cc_opts *o, const char *address)
{
	struct pw_suppression sup = {0};
	struct pw_store *s;
	const char *why;
	char *addr = NULL;
	int status = 0;

	if (pw_addr_normalise(address, strlen(address), &addr, &why) < 0) {
		pw_ctl_error(CC, "%s: %s", address, why);
		return 1;
	}
	if ((s = pw_ctl_open_store(ctl, o->store, CC, false)) == NULL) {
		free(addr);
		return 1;
	}
	sup.org = o->org;
	sup.address = addr;
	sup.list = o->list;
	sup.reason = o->reason ? o->reason : "manual";
	sup.requested_us = pw_now_us();
	sup.requested_at = pw_time_us_sec(sup.requested_us);
	if (pw_store_suppression_add(s, &sup) < 0) {
		pw_ctl_error(CC, "%s", pw_store_strerror());
		status = 1;
	} else {
		printf("%s: suppression %" PRId64 " for %s%s%s\n", addr, sup.id,
		       o->org, o->list ? " list " : "", o->list ? o->list : "");
	}
	pw_store_close(&s);
	free(addr);
	return status;
}

static int
cc_show(struct pw_ctl *ctl, const struct cc_opts *o, const char *address)
{
	struct pw_consent_events ev;
	struct pw_consent_result r;
	struct pw_store *s;
	time_t at = time(NULL), exp;
	const char *why;
	char *addr = NULL, b1[21], b2[21], b3[21], b4[28];
	size_t i;
	int rc;

	if (o->at != NULL && pw_date_parse(o->at, &at) < 0) {
		pw_ctl_error(CC, "--at: YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
		return EX_USAGE;
	}
	if (pw_addr_normalise(address, strlen(address), &addr, &why) < 0) {
		pw_ctl_error(CC, "%s: %s", address, why);
		return 1;
	}
	if ((s = pw_ctl_open_store(ctl, o->store, CC, false)) == NULL) {
		free(addr);
		return 1;
	}
	rc = pw_store_consent_check(s, o->org, addr, o->list, at, &r, &ev);
	pw_store_close(&s);
	if (rc < 0) {
		pw_ctl_error(CC, "%s", pw_store_strerror());
		free(addr);
		return EX_TEMPFAIL;
	}
	printf("address: %s\norganisation: %s\nlist: %s\nat: %s\n", addr,
	       o->org, o->list ? o->list : "(none)", pw_date_format(at, b1));
	for (i = 0; i < ev.n; i++) {
		exp = ev.v[i].type == PW_CONSENT_WITHDRAWN
			  ? PW_NOTIME
			  : pw_consent_expiry(&ev.v[i]);
		printf("%s %" PRId64 ": %s list=%s obtained=%s expires=%s%s%s\n",
		       ev.v[i].id < 0 ? "suppression" : "event",
		       ev.v[i].id < 0 ? -ev.v[i].id : ev.v[i].id,
		       pw_consent_type_name(ev.v[i].type),
		       ev.v[i].list[0] ? ev.v[i].list : "*",
		       pw_date_format(ev.v[i].obtained_at, b2),
		       exp == PW_NOTIME ? "never" : pw_date_format(exp, b3),
		       ev.v[i].seq > 0 ? " recorded=" : "",
		       ev.v[i].seq > 0 ? pw_date_format_us(ev.v[i].seq, b4) :
		       "");
	}
	printf("state: %s", pw_consent_state_name(r.state));
	if (r.basis != NULL)
		printf(" (%s %" PRId64 "%s%s)",
		       r.basis->id < 0 ? "suppression" : "event",
		       r.basis->id < 0 ? -r.basis->id : r.basis->id,
		       r.valid_until != PW_NOTIME ? ", until " : "",
		       r.valid_until != PW_NOTIME
			   ? pw_date_format(r.valid_until, b1)
			   : "");
	putchar('\n');
	pw_consent_events_free(&ev);
	free(addr);
	return rc == 1 ? 0 : 1;
}

static int
export_cb(const struct pw_consent_record *r, void *ctx)
{
	char b1[21], b2[21], b3[21], b4[28], id[32];

	(void)ctx;
	snprintf(id, sizeof(id), "%" PRId64, r->id);
	pw_csv_field(stdout, id, false);
	pw_csv_field(stdout, r->address, false);
	pw_csv_field(stdout, pw_consent_type_name(r->type), false);
	pw_csv_field(stdout, date_or_empty(r->obtained_at, b1), false);
	pw_csv_field(stdout, date_or_empty(r->expires_at, b2), false);
	pw_csv_field(stdout, date_or_empty(r->relationship_date, b3), false);
	pw_csv_field(stdout, r->source, false);
	pw_csv_field(stdout, r->proof, false);
	pw_csv_field(stdout, r->list, false);
	pw_csv_field(stdout, date_us(r->created_at, r->recorded_us, b4), true);
	return ferror(stdout) ? -1 : 0;
}

static int
cc_export(struct pw_ctl *ctl, const struct cc_opts *o, const char *address)
{
	struct pw_store *s;
	const char *why;
	char *addr = NULL;
	int rc;

	if (address != NULL &&
	    pw_addr_normalise(address, strlen(address), &addr, &why) < 0) {
		pw_ctl_error(CC, "%s: %s", address, why);
		return 1;
	}
	if ((s = pw_ctl_open_store(ctl, o->store, CC, false)) == NULL) {
		free(addr);
		return 1;
	}
	printf("id,address,type,obtained_at,expires_at,relationship_date,"
	       "source,proof,list,created_at\n");
	rc = pw_store_consent_export(s, o->org, addr, export_cb, NULL);
	pw_store_close(&s);
	free(addr);
	if (rc < 0) {
		pw_ctl_error(CC, "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	return 0;
}

/* ---- option parsing and dispatch --------------------------------------------
 */

static const struct option cc_longopts[] = {
    {"org", required_argument, NULL, 'o'},
    {"store", required_argument, NULL, 'S'},
    {"list", required_argument, NULL, 'l'},
    {"type", required_argument, NULL, 't'},
    {"obtained", required_argument, NULL, 'b'},
    {"expires", required_argument, NULL, 'e'},
    {"relationship", required_argument, NULL, 'r'},
    {"source", required_argument, NULL, 's'},
    {"proof", required_argument, NULL, 'p'},
    {"reason", required_argument, NULL, 'R'},
    {"at", required_argument, NULL, 'a'},
    {NULL, 0, NULL, 0},
};

/* cc_getopt - parse options after the sub-subcommand; -1 on error */
static int
cc_getopt(const char *cmd, int argc, char **argv, struct cc_opts *o)
{
	int ch;

	memset(o, 0, sizeof(*o));
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "+:o:S:l:t:b:e:r:s:p:R:a:",
				 cc_longopts, NULL)) != -1) {
		switch (ch) {
		case 'o':
			o->org = optarg;
			break;
		case 'S':
			o->store = optarg;
			break;
		case 'l':
			o->list = optarg;
			break;
		case 't':
			o->type = optarg;
			break;
		case 'b':
			o->obtained = optarg;
			break;
		case 'e':
			o->expires = optarg;
			break;
		case 'r':
			o->relationship = optarg;
			break;
		case 's':
			o->source = optarg;
			break;
		case 'p':
			o->proof = optarg;
			break;
		case 'R':
			o->reason = optarg;
			break;
		case 'a':
			o->at = optarg;
			break;
		default:
			pw_ctl_opt_error(cmd, ch, argv);
			return -1;
		}
	}
	if (o->org == NULL || !pw_ctl_name_ok(o->org, false)) {
		pw_ctl_error(cmd, "--org ORG is required (up to 64 characters "
				  "of [A-Za-z0-9._-])");
		return -1;
	}
	if (o->list != NULL && !pw_ctl_name_ok(o->list, true)) {
		pw_ctl_error(cmd, "--list: up to 64 characters of "
				  "[A-Za-z0-9._-]");
		return -1;
	}
	return 0;
}

int
pw_ctl_consent(struct pw_ctl *ctl, int argc, char **argv)
{
	struct cc_opts o;
	const char *sub;
	char **args;
	int nargs, i, nfree = 0;
	char *pos[2] = {NULL, NULL};

	if (argc < 2) {
		pw_ctl_error(CC, "expected import, add, withdraw, show or "
				 "export");
		return EX_USAGE;
	}
	sub = argv[1];
	/* the evidence dossier has its own options (ctl_audit.c) */
	if (strcmp(sub, "proof") == 0)
		return pw_ctl_consent_proof(ctl, argc, argv);
	/* Positional arguments may come before or after the options:
	   collect them, then parse the options alone. */
	args = pw_calloc((size_t)argc + 1, sizeof(*args));
	nargs = 0;
	args[nargs++] = argv[1];
	for (i = 2; i < argc; i++) {
		if (argv[i][0] == '-' && argv[i][1] != '\0') {
			args[nargs++] = argv[i];
			if (strchr(argv[i], '=') == NULL && i + 1 < argc)
				args[nargs++] = argv[++i];
		} else if (nfree < 2) {
			pos[nfree++] = argv[i];
		} else {
			pw_ctl_error(CC, "too many arguments");
			free(args);
			return EX_USAGE;
		}
	}
	if (cc_getopt(CC, nargs, args, &o) < 0) {
		free(args);
		return EX_USAGE;
	}
	free(args);
	if (nfree > 1 || (strcmp(sub, "export") != 0 && nfree != 1)) {
		pw_ctl_error(CC, "%s: expected %s", sub,
			     strcmp(sub, "import") == 0 ? "one FILE.csv (or -)"
			     : strcmp(sub, "export") == 0
				 ? "at most one ADDRESS"
				 : "one ADDRESS");
		return EX_USAGE;
	}
	if (strcmp(sub, "import") == 0)
		return cc_import(ctl, &o, pos[0]);
	if (strcmp(sub, "add") == 0)
		return cc_add(ctl, &o, pos[0]);
	if (strcmp(sub, "withdraw") == 0)
		return cc_withdraw(ctl, &o, pos[0]);
	if (strcmp(sub, "show") == 0)
		return cc_show(ctl, &o, pos[0]);
	if (strcmp(sub, "export") == 0)
		return cc_export(ctl, &o, pos[0]);
	pw_ctl_error(CC, "unknown subcommand \"%s\"", sub);
	return EX_USAGE;
}

static int
supp_cb(const struct pw_suppression *sp, void *ctx)
{
	char b1[28], b2[28], id[32];

	(void)ctx;
	snprintf(id, sizeof(id), "%" PRId64, sp->id);
	pw_csv_field(stdout, id, false);
	pw_csv_field(stdout, sp->address, false);
	pw_csv_field(stdout, sp->list, false);
	pw_csv_field(stdout, sp->reason, false);
	pw_csv_field(stdout, date_us(sp->requested_at, sp->requested_us, b1),
	    false);
	pw_csv_field(stdout, sp->token_id, false);
	pw_csv_field(stdout, date_us(sp->created_at, sp->recorded_us, b2),
	    true);
	return ferror(stdout) ? -1 : 0;
}

int
pw_ctl_suppression(struct pw_ctl *ctl, int argc, char **argv)
{
	struct cc_opts o;
	struct pw_store *s;
	int rc;

	if (argc < 2 || strcmp(argv[1], "list") != 0) {
		pw_ctl_error("suppression", "expected: list --org ORG");
		return EX_USAGE;
	}
	if (cc_getopt("suppression", argc - 1, argv + 1, &o) < 0)
		return EX_USAGE;
	if (optind < argc - 1) {
		pw_ctl_error("suppression", "unexpected argument \"%s\"",
			     argv[optind + 1]);
		return EX_USAGE;
	}
	if ((s = pw_ctl_open_store(ctl, o.store, "suppression", false)) == NULL)
		return 1;
	printf("id,address,list,reason,requested_at,token_id,created_at\n");
	rc = pw_store_suppression_list(s, o.org, supp_cb, NULL);
	pw_store_close(&s);
	if (rc < 0) {
		pw_ctl_error("suppression", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	return 0;
}
