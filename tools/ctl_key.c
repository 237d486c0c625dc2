/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_key - "postwarden-ctl key rotate --domain D [--type rsa|ed25519]
 * [--bits N] [--selector NEW] [--from OLD]" and "postwarden-ctl key
 * status": DKIM key rotation (policies/keys/rotation.h).
 *
 * rotate makes the next key next to the current one (keygen), records
 * it as pending in dkim_rotation_state and prints the TXT record to
 * publish; the daemon takes it on at its next reload.  status lists each
 * KeyTable key and each rotation with its phase and what comes next.
 */
#include "autoconf.h"

#include <ctype.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include "base/config.h"
#include "base/table.h"
#include "base/util.h"
#include "ctl.h"
#include "keys/rotation.h"

#define KR	"key"
#define DEFAULT_STATE	PW_STATEDIR "/dkim-rotation"
#define DEFAULT_OVERLAP	(2L * 86400)

/* A KeyTable entry, split. */
struct kt_key {
	char	*domain;
	char	*selector;
	char	*path;
	int	 line;
};

struct kr {
	struct pw_config	*cfg;
	const char		*state;		/* dkim_rotation_state */
	struct kt_key		*keys;
	size_t			 nkeys;
	char			*kt_path;
	long			 overlap;
};

static void
kr_free(struct kr *k)
{
	for (size_t i = 0; i < k->nkeys; i++) {
		free(k->keys[i].domain);
		free(k->keys[i].selector);
		free(k->keys[i].path);
	}
	free(k->keys);
	free(k->kt_path);
}

/* kr_load - the configuration's KeyTable and rotation state path */
static int
kr_load(struct pw_ctl *ctl, struct kr *k)
{
	struct pw_buf errs = {0};
	struct pw_table *t;
	const char *spec, *ov;

	memset(k, 0, sizeof(*k));
	if ((k->cfg = pw_ctl_config(ctl)) == NULL)
		return EX_CONFIG;
	k->state = pw_config_value(k->cfg, "dkim_rotation_state");
	if (k->state == NULL)
		k->state = DEFAULT_STATE;
	k->overlap = DEFAULT_OVERLAP;
	if ((ov = pw_config_value(k->cfg, "dkim_rotation_overlap")) != NULL) {
		static const struct pw_setting s = PW_SET_TIME("x", "0", 0,
		    366L * 86400, struct kr, overlap);
		const char *why;

		if (pw_setting_parse(&s, ov, k, &why) < 0) {
			pw_ctl_error(KR, "dkim_rotation_overlap = %s: %s", ov,
			    why);
			return EX_CONFIG;
		}
	}
	if ((spec = pw_config_value(k->cfg, "dkim_key_table")) == NULL) {
		pw_ctl_error(KR, "%s: dkim_key_table is not set",
		    k->cfg->path);
		return EX_CONFIG;
	}
	if ((t = pw_table_open(spec, "dkim_key_table", &errs)) == NULL) {
		pw_ctl_error(KR, "%s", errs.data ? errs.data : spec);
		pw_buf_free(&errs);
		return EX_CONFIG;
	}
	k->kt_path = pw_strdup(t->path);
	k->keys = pw_calloc(t->n + 1, sizeof(*k->keys));
	for (size_t i = 0; i < t->n; i++) {
		char *val = pw_strdup(t->v[i].value), *save;
		char *d = strtok_r(val, ":", &save), *s, *p;

		s = d ? strtok_r(NULL, ":", &save) : NULL;
		p = s ? strtok_r(NULL, "", &save) : NULL;
		if (p != NULL) {
			k->keys[k->nkeys].domain = pw_lowercase(pw_strdup(d));
			k->keys[k->nkeys].selector = pw_strdup(s);
			k->keys[k->nkeys].path = pw_strdup(p);
			k->keys[k->nkeys++].line = t->v[i].line;
		}
		free(val);
	}
	pw_table_free(&t);
	return 0;
}

/* next_selector - "s2026" -> "s2027", "pw07" -> "pw08", "mail" -> "mail2" */
static char *
next_selector(const char *sel)
{
	size_t len = strlen(sel), d = len;
	unsigned long long n;
	int width;

	while (d > 0 && isdigit((unsigned char)sel[d - 1]))
		d--;
	if (d == len || len - d > 18)
		return pw_asprintf("%s2", sel);
	n = strtoull(sel + d, NULL, 10) + 1;
	width = (int)(len - d);
	return pw_asprintf("%.*s%0*llu", (int)d, sel, width, n);
}

/* when - "YYYY-MM-DD HH:MM UTC" */
static const char *
when(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
	return buf;
}

/* keygen - pw_ctl_keygen() for the new key, its own output silenced:
   ours says what to do with a rotation */
static int
keygen(struct pw_ctl *ctl, const char *domain, const char *sel,
    const char *type, const char *bits, const char *dir, const char *owner)
{
	char *argv[16];
	int argc = 0, saved, devnull, rc;

	argv[argc++] = (char *)"keygen";
	argv[argc++] = (char *)"--domain";
	argv[argc++] = (char *)domain;
	argv[argc++] = (char *)"--selector";
	argv[argc++] = (char *)sel;
	argv[argc++] = (char *)"--type";
	argv[argc++] = (char *)type;
	argv[argc++] = (char *)"--dir";
	argv[argc++] = (char *)dir;
	if (bits != NULL) {
		argv[argc++] = (char *)"--bits";
		argv[argc++] = (char *)bits;
	}
	if (owner != NULL) {
		argv[argc++] = (char *)"--owner";
		argv[argc++] = (char *)owner;
	}
	argv[argc] = NULL;
	fflush(stdout);
	saved = dup(STDOUT_FILENO);
	devnull = open("/dev/null", O_WRONLY);
	if (saved < 0 || devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0) {
		pw_ctl_error_errno(KR, "stdout");
		return 1;
	}
	optind = 1;
	rc = pw_ctl_keygen(ctl, argc, argv);
	fflush(stdout);
	dup2(saved, STDOUT_FILENO);
	close(saved);
	close(devnull);
	return rc;
}

static const struct option rot_opts[] = {
    {"domain", required_argument, NULL, 'd'},
    {"type", required_argument, NULL, 't'},
    {"bits", required_argument, NULL, 'b'},
    {"selector", required_argument, NULL, 's'},
    {"from", required_argument, NULL, 'f'},
    {NULL, 0, NULL, 0},
};

static int
key_rotate(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *domain = NULL, *type = "rsa", *bits = NULL, *from = NULL;
	const char *newsel_opt = NULL, *old_sel = NULL, *old_path = NULL;
	struct pw_rotations *rs = NULL;
	struct pw_buf errs = {0};
	struct kr k;
	char *dom = NULL, *newsel = NULL, *dirbuf = NULL, *keypath = NULL;
	char *txtpath = NULL, *err = NULL, *owner = NULL, buf[40];
	int ch, rc = 1, found = 0;
	uid_t uid;
	FILE *fp;

	optind = 1;
	while ((ch = getopt_long(argc, argv, "d:t:b:s:f:", rot_opts,
	    NULL)) != -1)
		switch (ch) {
		case 'd':
			domain = optarg;
			break;
		case 't':
			type = optarg;
			break;
		case 'b':
			bits = optarg;
			break;
		case 's':
			newsel_opt = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		default:
			return EX_USAGE;
		}
	if (domain == NULL || optind != argc || (strcmp(type, "rsa") != 0 &&
	    strcmp(type, "ed25519") != 0)) {
		pw_ctl_error(KR, "usage: key rotate --domain D [--type "
		    "rsa|ed25519] [--bits N] [--selector NEW] [--from OLD]");
		return EX_USAGE;
	}
	if ((rc = kr_load(ctl, &k)) != 0)
		return rc;
	rc = 1;
	dom = pw_lowercase(pw_strdup(domain));
	for (size_t i = 0; i < k.nkeys; i++)
		if (strcmp(k.keys[i].domain, dom) == 0 && (from == NULL ||
		    strcmp(k.keys[i].selector, from) == 0)) {
			if (found++ > 0) {
				pw_ctl_error(KR, "%s has several keys in %s: "
				    "name the one to replace with --from",
				    dom, k.kt_path);
				goto out;
			}
			old_sel = k.keys[i].selector;
			old_path = k.keys[i].path;
		}
	if (found == 0) {
		pw_ctl_error(KR, "no key for %s%s%s in %s", dom,
		    from ? " with selector " : "", from ? from : "", k.kt_path);
		goto out;
	}
	if ((rs = pw_rotations_load(k.state, false, false, &errs)) == NULL) {
		pw_ctl_error(KR, "%s", errs.data);
		goto out;
	}
	/* A done rotation's new key signs now: rotate from it. */
	for (int depth = 0; depth < 8; depth++) {
		struct pw_rotation *r = pw_rotation_find(rs, dom, old_sel);

		if (r == NULL)
			break;
		if (atomic_load(&r->phase) != PW_ROT_DONE) {
			pw_ctl_error(KR, "%s: the rotation %s -> %s is still "
			    "%s (%s): let it finish first", dom, r->old_sel,
			    r->new_sel, pw_rot_phase_name(atomic_load(
			    &r->phase)), k.state);
			goto out;
		}
		old_sel = r->new_sel;
		old_path = r->path;
	}
	newsel = newsel_opt ? pw_strdup(newsel_opt) : next_selector(old_sel);
	for (size_t i = 0; i < rs->n; i++)
		if (pw_strcaseeq(rs->v[i].domain, dom) &&
		    (strcmp(rs->v[i].new_sel, newsel) == 0 ||
		    strcmp(rs->v[i].old_sel, newsel) == 0))
			found = -1;
	for (size_t i = 0; i < k.nkeys; i++)
		if (strcmp(k.keys[i].domain, dom) == 0 &&
		    strcmp(k.keys[i].selector, newsel) == 0)
			found = -1;
	if (found < 0 || strcmp(newsel, old_sel) == 0) {
		pw_ctl_error(KR, "selector %s of %s is already used: choose "
		    "another with --selector", newsel, dom);
		goto out;
	}
	dirbuf = pw_strdup(old_path);
	uid = pw_config_user_uid(k.cfg);
	if (uid != (uid_t)-1) {
		struct passwd *pw = getpwuid(uid);

		owner = pw ? pw_strdup(pw->pw_name) : NULL;
	}
	if (keygen(ctl, dom, newsel, type, bits, dirname(dirbuf), owner) != 0)
		goto out;
	free(dirbuf);
	dirbuf = pw_strdup(old_path);
	keypath = pw_asprintf("%s/%s.private", dirname(dirbuf), newsel);
	free(dirbuf);
	dirbuf = pw_strdup(old_path);
	txtpath = pw_asprintf("%s/%s.txt", dirname(dirbuf), newsel);
	if (pw_rotation_append(k.state, dom, old_sel, newsel, keypath,
	    (int64_t)pw_rotation_now(), uid, &err) < 0) {
		pw_ctl_error(KR, "%s", err);
		(void)unlink(keypath);
		(void)unlink(txtpath);
		goto out;
	}
	printf("; Publish this TXT record in DNS (also in %s):\n", txtpath);
	if ((fp = fopen(txtpath, "r")) != NULL) {
		char line[1024];

		while (fgets(line, sizeof(line), fp) != NULL)
			fputs(line, stdout);
		fclose(fp);
	}
	printf("\n# Recorded in %s as pending: %s keeps signing with %s "
	    "only\n", k.state, dom, old_sel);
	printf("# until the record of %s._domainkey.%s is found (checked "
	    "on the mail path,\n# at most every "
	    "dkim_rotation_check_interval), then with %s and %s for\n"
	    "# dkim_rotation_overlap (%ld s), then with %s only.\n", newsel,
	    dom, old_sel, newsel, k.overlap, newsel);
	printf("# Reload postwarden now (kill -HUP) so that it reads the new "
	    "key; \"postwarden-ctl\n# key status\" shows the phase. "
	    "Started %s.\n", when(pw_rotation_now(), buf, sizeof(buf)));
	rc = 0;
out:
	pw_rotations_free(&rs);
	pw_buf_free(&errs);
	free(err);
	free(dom);
	free(newsel);
	free(dirbuf);
	free(keypath);
	free(txtpath);
	free(owner);
	kr_free(&k);
	return rc;
}

static int
key_status(struct pw_ctl *ctl, int argc, char **argv)
{
	struct pw_rotations *rs;
	struct pw_buf errs = {0};
	time_t now = pw_rotation_now();
	struct kr k;
	char b1[40], b2[64], b3[40];
	int rc;

	(void)argv;
	if (argc != 1) {
		pw_ctl_error(KR, "usage: key status");
		return EX_USAGE;
	}
	if ((rc = kr_load(ctl, &k)) != 0)
		return rc;
	if ((rs = pw_rotations_load(k.state, false, false, &errs)) == NULL) {
		pw_ctl_error(KR, "%s", errs.data);
		pw_buf_free(&errs);
		kr_free(&k);
		return 1;
	}
	printf("%-24s %-16s %-9s %s\n", "DOMAIN", "SELECTOR", "PHASE",
	    "DETAIL");
	for (size_t i = 0; i < k.nkeys; i++) {
		struct pw_rotation *r = pw_rotation_find(rs, k.keys[i].domain,
		    k.keys[i].selector);
		int ph = r ? atomic_load(&r->phase) : -1;

		printf("%-24s %-16s %-9s %s:%d%s\n", k.keys[i].domain,
		    k.keys[i].selector, ph == PW_ROT_DONE ? "retired" :
		    "signing", k.kt_path, k.keys[i].line, ph == PW_ROT_DONE ?
		    " (replaced by a rotation)" : "");
	}
	for (size_t i = 0; i < rs->n; i++) {
		struct pw_rotation *r = &rs->v[i];
		int ph = atomic_load(&r->phase);
		time_t since = (time_t)atomic_load(&r->since);

		printf("%-24s %-16s %-9s ", r->domain, r->new_sel,
		    pw_rot_phase_name(ph));
		if (ph == PW_ROT_PENDING)
			printf("replaces %s; waiting for its DNS record since "
			    "%s\n", r->old_sel, when(since, b1, sizeof(b1)));
		else if (ph == PW_ROT_OVERLAP)
			printf("signing with %s since %s, %s alone from %s\n",
			    r->old_sel, when(since, b1, sizeof(b1)),
			    r->new_sel, when(since + k.overlap, b2,
			    sizeof(b2)));
		else
			printf("signing since %s; %s retired: remove "
			    "%s._domainkey.%s %s\n", when(since, b1,
			    sizeof(b1)), r->old_sel, r->old_sel, r->domain,
			    now >= since + k.overlap ? "now" :
			    (snprintf(b2, sizeof(b2), "after %s", when(since +
			    k.overlap, b3, sizeof(b3))), b2));
	}
	pw_rotations_free(&rs);
	kr_free(&k);
	return 0;
}

int
pw_ctl_key(struct pw_ctl *ctl, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return key_rotate(ctl, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "status") == 0)
		return key_status(ctl, argc - 1, argv + 1);
	pw_ctl_error(KR, "usage: key rotate|status ...");
	return EX_USAGE;
}
