/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_store - "postwarden-ctl store init [SPEC]" and "store copy SRC DST".
 *
 * init creates the schema of a new store, or migrates an older one to this
 * version (the daemons never do: they refuse an unknown schema and name
 * this command).  For PostgreSQL it runs as the owner role
 * (conf/postwarden-roles.sql).
 *
 * copy moves every record of one store into another, empty one (e.g.
 * sqlite:/var/lib/postwarden/postwarden.db to postgresql://...), in one
 * transaction on the destination: ids, recording times and audit hashes
 * are kept as they are.  The source chain is verified first, the
 * destination's after, and both must end at the same head with the same
 * number of records of each kind.
 */
#include "autoconf.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>

#include "base/config.h"
#include "base/util.h"
#include "ctl.h"
#include "store/store.h"

struct counts {
	int64_t consent, suppression, audit, dmarc, feedback, cholds;
	int64_t sent, quota;
};

static int
count_sent(const struct pw_dmarc_sent *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->sent++;
	return 0;
}

static int
count_quota(int64_t id, const struct pw_quota_row *r, void *ctx)
{
	(void)id;
	(void)r;
	((struct counts *)ctx)->quota++;
	return 0;
}

static int
count_fb(const struct pw_feedback_row *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->feedback++;
	return 0;
}

static int
count_chold(const struct pw_chold_row *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->cholds++;
	return 0;
}

static int
count_consent(const struct pw_consent_record *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->consent++;
	return 0;
}

static int
count_supp(const struct pw_suppression *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->suppression++;
	return 0;
}

static int
count_audit(const struct pw_audit_row *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->audit++;
	return 0;
}

static int
count_dmarc(const struct pw_dmarc_row *r, void *ctx)
{
	(void)r;
	((struct counts *)ctx)->dmarc++;
	return 0;
}

static int
store_counts(struct pw_store *s, struct counts *c)
{
	struct pw_audit_filter all = {NULL, NULL, PW_NOTIME, PW_NOTIME};

	memset(c, 0, sizeof(*c));
	return pw_store_consent_export(s, NULL, NULL, count_consent, c) < 0 ||
		       pw_store_suppression_list(s, NULL, count_supp, c) < 0 ||
		       pw_store_audit_list(s, &all, count_audit, c) < 0 ||
		       pw_store_dmarc_list(s, count_dmarc, c) < 0 ||
		       pw_store_feedback_list(s, NULL, PW_NOTIME, PW_NOTIME,
			   count_fb, c) < 0 ||
		       pw_store_chold_list(s, NULL, count_chold, c) < 0 ||
		       pw_store_dmarc_sent_list(s, count_sent, c) < 0 ||
		       pw_store_quota_list(s, count_quota, c) < 0
		   ? -1
		   : 0;
}

static void
hex(const unsigned char *h, char *out)
{
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", h[i]);
}

static struct pw_store *
st_open(const char *spec, const char *password_file, bool readonly,
    const char *cmd)
{
	struct pw_store_opts so = PW_STORE_OPTS_DEFAULT;
	struct pw_store *s = NULL;
	char *err = NULL;

	so.busy_timeout_ms = 10000;
	so.create = !readonly;
	so.readonly = readonly;
	so.init = !readonly;
	so.password_file = password_file;
	if (pw_store_open(spec, &so, &s, &err) < 0) {
		pw_ctl_error(cmd, "%s", err ? err : "cannot open the store");
		free(err);
		return NULL;
	}
	return s;
}

static int
store_init(struct pw_ctl *ctl, int argc, char **argv)
{
	struct pw_config *cfg;
	struct pw_store *s;
	const char *spec, *pwfile = NULL;

	if (argc > 3) {
		pw_ctl_error("store init", "usage: store init [SPEC]");
		return EX_USAGE;
	}
	if (argc == 3) {
		spec = argv[2];
	} else {
		if ((cfg = pw_ctl_config(ctl)) == NULL)
			return EX_CONFIG;
		spec = cfg->core.store;
		pwfile = cfg->core.store_password_file;
	}
	if ((s = st_open(spec, pwfile, false, "store init")) == NULL)
		return 1;
	pw_store_close(&s);
	printf("%s: schema ready\n", spec);
	return 0;
}

static int
store_copy(int argc, char **argv)
{
	struct counts cs, cd;
	struct pw_store *src, *dst;
	unsigned char hs[32], hd[32];
	char hexs[65];
	int64_t bad;
	int rc;

	if (argc != 4) {
		pw_ctl_error("store copy", "usage: store copy SRC DST");
		return EX_USAGE;
	}
	if ((src = st_open(argv[2], NULL, true, "store copy")) == NULL)
		return 1;
	if ((rc = pw_store_audit_verify(src, &bad, hs)) != 1) {
		if (rc == 0)
			pw_ctl_error("store copy", "%s: the audit chain is "
			    "broken at row %" PRId64 ": not copied", argv[2],
			    bad);
		else
			pw_ctl_error("store copy", "%s: %s", argv[2],
			    pw_store_strerror());
		pw_store_close(&src);
		return 1;
	}
	if (store_counts(src, &cs) < 0) {
		pw_ctl_error("store copy", "%s: %s", argv[2],
		    pw_store_strerror());
		pw_store_close(&src);
		return 1;
	}
	if ((dst = st_open(argv[3], NULL, false, "store copy")) == NULL) {
		pw_store_close(&src);
		return 1;
	}
	rc = 1;
	if (pw_store_copy(dst, src) < 0) {
		pw_ctl_error("store copy", "%s (nothing copied)",
		    pw_store_strerror());
	} else if (pw_store_audit_verify(dst, &bad, hd) != 1) {
		pw_ctl_error("store copy", "%s: the copied chain does not "
		    "verify (row %" PRId64 ")", argv[3], bad);
	} else if (memcmp(hs, hd, 32) != 0) {
		pw_ctl_error("store copy", "%s: the copied chain ends at "
		    "another head", argv[3]);
	} else if (store_counts(dst, &cd) < 0) {
		pw_ctl_error("store copy", "%s: %s", argv[3],
		    pw_store_strerror());
	} else if (memcmp(&cs, &cd, sizeof(cs)) != 0) {
		pw_ctl_error("store copy", "%s: record counts differ after "
		    "the copy", argv[3]);
	} else {
		hex(hd, hexs);
		printf("copied %" PRId64 " consent events, %" PRId64
		    " suppressions, %" PRId64 " audit rows, %" PRId64
		    " DMARC rows, %" PRId64 " feedback rows, %" PRId64
		    " complaint holds, %" PRId64 " DMARC report attempts, %"
		    PRId64 " quota rows\naudit chain verified, head %s\n",
		    cd.consent, cd.suppression, cd.audit, cd.dmarc,
		    cd.feedback, cd.cholds, cd.sent, cd.quota, hexs);
		rc = 0;
	}
	pw_store_close(&dst);
	pw_store_close(&src);
	return rc;
}

int
pw_ctl_store(struct pw_ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "init") == 0)
		return store_init(ctl, argc, argv);
	if (argc >= 2 && strcmp(argv[1], "copy") == 0)
		return store_copy(argc, argv);
	pw_ctl_error("store", "usage: store init [SPEC] | store copy SRC DST");
	return EX_USAGE;
}
