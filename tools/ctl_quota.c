/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_quota - postwarden-ctl quota show (issue 17): an organisation's use
 * of each sending quota window across the fleet.
 *
 *   quota show --org ORG [--format text|json] [--store SPEC]
 *
 * The limits come from the organisations file, the use from the store's
 * quota_delta rows (every MTA's, summed): the clock hour, the UTC day and
 * the calendar month that contain now.  Each MTA writes what it counted
 * every quota_flush_interval, so the figures trail its traffic by that
 * much.  Messages and recipients are both shown; "left" is in the
 * organisation's quota_unit.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include <jansson.h>

#include "base/config.h"
#include "base/util.h"
#include "compliance/org.h"
#include "compliance/quota_window.h"
#include "ctl.h"
#include "snapshot.h"
#include "store/store.h"

struct use {
	time_t	from, to;
	int64_t	n[2];		/* messages, recipients */
};

static int
sum_cb(const struct pw_quota_sum *q, void *arg)
{
	struct use *u = arg;

	u->n[0] = q->messages;
	u->n[1] = q->recipients;
	return 0;
}

static const char *
iso(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

static int
emit_text(const struct pw_org *o, const struct use *use)
{
	int u = o->quota_unit == PW_QUOTA_RECIPIENTS;

	printf("organisation %s: quota_mode %s, quota_unit %s, "
	    "quota_month_action %s\n", o->name,
	    pw_mode_names[o->mode[PW_RULE_QUOTA]],
	    pw_quota_unit_name(o->quota_unit),
	    o->quota_month_action == PW_QUOTA_MONTH_REJECT ? "reject" :
	    "tempfail");
	printf("%-6s %-21s %-21s %10s %10s %10s %10s\n", "window", "from",
	    "until", "messages", "recipients", "limit", "left");
	for (int w = 0; w < PW_QUOTA_NWIN; w++) {
		char a[32], b[32], lim[24], left[24];

		if (o->quota[w] > 0) {
			long long l = o->quota[w] - use[w].n[u];

			snprintf(lim, sizeof(lim), "%lld", o->quota[w]);
			snprintf(left, sizeof(left), "%lld", l > 0 ? l : 0);
		} else {
			snprintf(lim, sizeof(lim), "-");
			snprintf(left, sizeof(left), "-");
		}
		printf("%-6s %-21s %-21s %10lld %10lld %10s %10s\n",
		    pw_quota_window_name(w), iso(use[w].from, a, sizeof(a)),
		    iso(use[w].to, b, sizeof(b)), (long long)use[w].n[0],
		    (long long)use[w].n[1], lim, left);
	}
	return fflush(stdout) == 0 ? 0 : -1;
}

static int
emit_json(const struct pw_org *o, const struct use *use)
{
	int u = o->quota_unit == PW_QUOTA_RECIPIENTS;
	json_t *top = json_object(), *arr = json_array();
	int rc;

	json_object_set_new(top, "org", json_string(o->name));
	json_object_set_new(top, "quota_mode",
	    json_string(pw_mode_names[o->mode[PW_RULE_QUOTA]]));
	json_object_set_new(top, "quota_unit",
	    json_string(pw_quota_unit_name(o->quota_unit)));
	json_object_set_new(top, "quota_month_action", json_string(
	    o->quota_month_action == PW_QUOTA_MONTH_REJECT ? "reject" :
	    "tempfail"));
	for (int w = 0; w < PW_QUOTA_NWIN; w++) {
		json_t *x = json_object();
		char a[32], b[32];
		long long l = o->quota[w] - use[w].n[u];

		json_object_set_new(x, "window",
		    json_string(pw_quota_window_name(w)));
		json_object_set_new(x, "from",
		    json_string(iso(use[w].from, a, sizeof(a))));
		json_object_set_new(x, "until",
		    json_string(iso(use[w].to, b, sizeof(b))));
		json_object_set_new(x, "messages", json_integer(use[w].n[0]));
		json_object_set_new(x, "recipients",
		    json_integer(use[w].n[1]));
		json_object_set_new(x, "limit", o->quota[w] > 0 ?
		    json_integer(o->quota[w]) : json_null());
		json_object_set_new(x, "left", o->quota[w] > 0 ?
		    json_integer(l > 0 ? l : 0) : json_null());
		json_array_append_new(arr, x);
	}
	json_object_set_new(top, "windows", arr);
	rc = json_dumpf(top, stdout, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	json_decref(top);
	if (rc == 0)
		putchar('\n');
	return rc == 0 && fflush(stdout) == 0 ? 0 : -1;
}

int
pw_ctl_quota(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *name = NULL, *fmt = "text", *spec = NULL;
	const struct pw_services *svc;
	const struct pw_org *o;
	struct pw_config *cfg;
	struct pw_store *st;
	struct use use[PW_QUOTA_NWIN];
	time_t now;
	int rc = 0;

	if (argc < 2 || strcmp(argv[1], "show") != 0) {
		pw_ctl_error("quota", "expected: show --org ORG");
		return EX_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		const char **to = strcmp(argv[i], "--org") == 0 ? &name :
		    strcmp(argv[i], "--format") == 0 ? &fmt :
		    strcmp(argv[i], "--store") == 0 ? &spec : NULL;

		if (to == NULL) {
			pw_ctl_error("quota", "bad argument \"%s\"", argv[i]);
			return EX_USAGE;
		}
		if (i + 1 >= argc) {
			pw_ctl_error("quota", "option \"%s\" needs a value",
			    argv[i]);
			return EX_USAGE;
		}
		*to = argv[++i];
	}
	if (name == NULL || !pw_ctl_name_ok(name, false)) {
		pw_ctl_error("quota", "--org ORG is required (a name of "
		    "[A-Za-z0-9._-])");
		return EX_USAGE;
	}
	if (strcmp(fmt, "text") != 0 && strcmp(fmt, "json") != 0) {
		pw_ctl_error("quota", "--format: text or json");
		return EX_USAGE;
	}
	if ((cfg = pw_ctl_config(ctl)) == NULL)
		return EX_CONFIG;
	svc = pw_services(cfg);
	if (svc->orgs == NULL ||
	    (o = pw_orgs_by_name(svc->orgs, name)) == NULL) {
		pw_ctl_error("quota", "no organisation \"%s\" in %s", name,
		    svc->orgs_path ? svc->orgs_path : "the configuration "
		    "(organisations is not set)");
		return EX_CONFIG;
	}
	if ((st = pw_ctl_open_store(ctl, spec, "quota", true)) == NULL)
		return 1;
	now = pw_quota_now();
	for (int w = 0; w < PW_QUOTA_NWIN && rc == 0; w++) {
		memset(&use[w], 0, sizeof(use[w]));
		use[w].from = pw_quota_window_start(w, now);
		use[w].to = pw_quota_window_end(w, now);
		rc = pw_store_quota_sum(st, o->name, use[w].from, use[w].to,
		    sum_cb, &use[w]);
	}
	pw_store_close(&st);
	if (rc < 0) {
		pw_ctl_error("quota", "%s", pw_store_strerror());
		return EX_TEMPFAIL;
	}
	if ((strcmp(fmt, "json") == 0 ? emit_json(o, use) :
	    emit_text(o, use)) < 0) {
		pw_ctl_error("quota", "error writing standard output");
		return 1;
	}
	return 0;
}
