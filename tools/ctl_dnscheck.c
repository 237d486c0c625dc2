/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_dnscheck - "postwarden-ctl dns-check DOMAIN [--selector S]
 * [--nameserver IP[@PORT]] [--key-table SPEC]": the SPF, DMARC and DKIM
 * records of a domain, what they mean and what is wrong with them.
 *
 * DNS goes through the daemon's resolver (dns.h) with the configured
 * dns_nameservers (or --nameserver, or the system resolvers).  The SPF
 * and DMARC records are read by the parsers the milter's verifiers use,
 * so that this command and the verdicts agree: SPF syntax by
 * pw_spf_record_check (parsers/spf_record.h: RFC 7208's ABNF, where
 * libspf2 alone is too lax or too strict), DMARC by pw_dmarc_record_parse
 * (parsers/dmarc_record.h: RFC 9989 tags, "v = DMARC1; p = reject" with
 * spaces around "=" is a record; libopendmarc's parser ignored it).  The
 * RFC 7208 section 4.6.4 limit of 10 DNS-querying terms is counted
 * through include: and redirect=; DKIM keys (RFC 6376 3.6.1, RFC 8463)
 * are decoded with OpenSSL.  For domains in our
 * KeyTable, each published key is compared with our private key.
 *
 * Exit status: 0 nothing wrong (notes and warnings allowed), 1 something
 * wrong, 75 (EX_TEMPFAIL) a lookup failed temporarily, 64 usage.
 */
#include "autoconf.h"

#include <sys/types.h>
#include <netinet/in.h>
#include <ctype.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "base/config.h"
#include "base/table.h"
#include "base/util.h"
#include "ctl.h"
#include "dns/dns.h"
#include "keys/dkim_keys.h"
#include "keys/dkim_record.h"
#include "keys/keycache.h"
#include "parsers/dmarc_record.h"
#include "parsers/spf_record.h"

#define SPF_MAX_LOOKUPS	10	/* RFC 7208 section 4.6.4 */

struct dc {
	struct pw_dns	*dns;
	int		 errors;
	int		 tempfail;
};

static void
say(const char *level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* say - one indented line: "  error: ..." / "  warning: ..." / "  ..." */
static void
say(const char *level, const char *fmt, ...)
{
	va_list ap;

	printf("  %s%s", level ? level : "", level ? ": " : "");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

static void
err(struct dc *dc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* err - an "error:" line; counts towards the exit status */
static void
err(struct dc *dc, const char *fmt, ...)
{
	va_list ap;

	dc->errors++;
	printf("  error: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

/* txt - TXT records of name starting with prefix (case-insensitive,
   followed by a space, ';' or the end); -1 on a temporary failure */
static int
txt(struct dc *dc, const char *name, const char *prefix, char ***out_r)
{
	char **v, **out;
	const char *why;
	size_t n = 0, k = 0, pl = strlen(prefix);
	enum pw_dns_status st = pw_dns_txt(dc->dns, NULL, name, &v, &why);

	*out_r = NULL;
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		say("error", "%s: DNS lookup failed temporarily (%s)", name,
		    why ? why : "?");
		dc->tempfail++;
		return -1;
	}
	while (v != NULL && v[n] != NULL)
		n++;
	out = pw_calloc(n + 1, sizeof(*out));
	for (size_t i = 0; i < n; i++)
		if (pw_strncaseeq(v[i], prefix, pl) && (v[i][pl] == '\0' ||
		    v[i][pl] == ' ' || v[i][pl] == ';'))
			out[k++] = pw_strdup(v[i]);
	pw_strv_free(&v);
	*out_r = out;
	return (int)k;
}

/* --- SPF --------------------------------------------------------------- */

/* spf_count - DNS-querying terms of the record at domain, following
   include: and redirect= (depth-limited); -1 if a lookup failed */
static int
spf_count(struct dc *dc, const char *domain, int depth, bool top)
{
	char **recs, **terms;
	int n, total = 0;
	size_t nt;

	if (depth > 10)
		return 0;
	if ((n = txt(dc, domain, "v=spf1", &recs)) < 0)
		return -1;
	if (n != 1) {
		if (!top)
			say("warning", "%s (included) has %d SPF records: "
			    "permerror for receivers", domain, n);
		pw_strv_free(&recs);
		return 0;
	}
	terms = pw_split_list(recs[0] + 6, &nt);
	for (size_t i = 0; i < nt; i++) {
		const char *t = terms[i];
		char *target = NULL;

		if (*t == '+' || *t == '-' || *t == '~' || *t == '?')
			t++;
		if (pw_strncaseeq(t, "include:", 8))
			target = pw_strdup(t + 8);
		else if (pw_strncaseeq(t, "redirect=", 9))
			target = pw_strdup(t + 9);
		if (target != NULL || pw_strcaseeq(t, "a") ||
		    pw_strncaseeq(t, "a:", 2) || pw_strncaseeq(t, "a/", 2) ||
		    pw_strcaseeq(t, "mx") || pw_strncaseeq(t, "mx:", 3) ||
		    pw_strncaseeq(t, "mx/", 3) || pw_strcaseeq(t, "ptr") ||
		    pw_strncaseeq(t, "ptr:", 4) || pw_strncaseeq(t, "exists:", 7))
			total++;
		if (top && (pw_strcaseeq(t, "ptr") || pw_strncaseeq(t, "ptr:", 4)))
			say("warning", "\"ptr\" is slow and unreliable: RFC 7208 "
			    "5.5 says it SHOULD NOT be used");
		if (target != NULL && strchr(target, '%') == NULL) {
			int sub = spf_count(dc, target, depth + 1, false);

			if (sub < 0) {
				free(target);
				pw_strv_free(&terms);
				pw_strv_free(&recs);
				return -1;
			}
			total += sub;
		} else if (target != NULL && top) {
			say(NULL, "(%s uses macros: its lookups are not "
			    "counted)", target);
		}
		free(target);
	}
	pw_strv_free(&terms);
	pw_strv_free(&recs);
	return total;
}

/* spf_meaning - what the "all" term (or its absence) means */
static void
spf_meaning(const char *rec)
{
	const char *all = NULL;
	char **terms;
	size_t nt;

	terms = pw_split_list(rec + 6, &nt);
	for (size_t i = 0; i < nt; i++) {
		const char *t = terms[i];

		if (pw_strcaseeq(t + (strchr("+-~?", *t) ? 1 : 0), "all"))
			all = t;
	}
	if (all == NULL)
		say(NULL, "no \"all\": other senders get neutral (consider "
		    "\"-all\" or \"~all\")");
	else if (*all == '-')
		say(NULL, "\"-all\": mail from any other host fails SPF");
	else if (*all == '~')
		say(NULL, "\"~all\": other hosts get softfail (accepted, "
		    "marked)");
	else if (*all == '?')
		say("warning", "\"?all\": other hosts are neutral: SPF asserts "
		    "nothing about them");
	else
		say("warning", "\"+all\": every host on the Internet may send "
		    "for this domain");
	pw_strv_free(&terms);
}

static void
check_spf(struct dc *dc, const char *domain)
{
	char **recs;
	int n, lookups;
	const char *why;
	char *fixed = NULL;

	printf("SPF (%s):\n", domain);
	if ((n = txt(dc, domain, "v=spf1", &recs)) < 0)
		return;
	if (n == 0) {
		say("warning", "no SPF record: receivers get \"none\" and "
		    "cannot tell forged mail from yours");
		pw_strv_free(&recs);
		return;
	}
	for (int i = 0; i < n; i++)
		say(NULL, "record: %s", recs[i]);
	if (n > 1) {
		err(dc, "%s has more than one SPF record: every receiver "
		    "answers permerror (RFC 7208 4.5)", domain);
		pw_strv_free(&recs);
		return;
	}
	/* the verifier's check (dns_hooks.c): an error is a permerror */
	if ((why = pw_spf_record_check(recs[0], strlen(recs[0]), AF_INET,
	    &fixed)) != NULL)
		err(dc, "syntax: %s: receivers answer permerror (RFC 7208 "
		    "4.6)", why);
	else
		spf_meaning(recs[0]);
	free(fixed);
	if ((lookups = spf_count(dc, domain, 0, true)) >= 0) {
		char num[32];

		snprintf(num, sizeof(num), "%d", lookups);
		if (lookups > SPF_MAX_LOOKUPS)
			err(dc, "%s DNS-querying terms (include, a, mx, ptr, "
			    "exists, redirect): more than 10 is a permerror "
			    "(RFC 7208 4.6.4)", num);
		else
			say(NULL, "%s of at most 10 DNS-querying terms used",
			    num);
	}
	pw_strv_free(&recs);
}

/* --- DMARC ------------------------------------------------------------- */

static const char *
pname(enum pw_dmarc_policy p)
{
	return p == PW_DMARC_P_REJECT ? "reject" :
	    p == PW_DMARC_P_QUARANTINE ? "quarantine" :
	    p == PW_DMARC_P_NONE ? "none" : "(unset)";
}

/*
 * check_dmarc - the record at _dmarc.DOMAIN as dmarc_verify.c reads it:
 * a TXT string is a DMARC record when pw_dmarc_record_parse takes it
 * (RFC 7489 6.6.3 step 2); two of them at one name are no usable record
 * there; a record without a valid p (or with a bad sp or np) is p=none
 * when it has a valid rua, else it is not used (dmarc_verify.c
 * use_record, RFC 9989); pct changes nothing under RFC 9989.
 */
static void
check_dmarc(struct dc *dc, const char *domain)
{
	char *name = pw_asprintf("_dmarc.%s", domain), **v;
	const char *why, *txt = NULL;
	struct pw_dmarc_record rec;
	enum pw_dns_status st;
	enum pw_dmarc_policy p, sp;
	int n = 0;

	printf("DMARC (%s):\n", name);
	st = pw_dns_txt(dc->dns, NULL, name, &v, &why);
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		say("error", "%s: DNS lookup failed temporarily (%s)", name,
		    why ? why : "?");
		dc->tempfail++;
		free(name);
		return;
	}
	free(name);
	for (size_t i = 0; v != NULL && v[i] != NULL; i++)
		if (pw_dmarc_record_parse(v[i], strlen(v[i]), &rec) == 0) {
			say(NULL, "record: %s", v[i]);
			if (n++ == 0)
				txt = v[i];
		}
	if (n == 0) {
		say("warning", "no DMARC record at this name (receivers then "
		    "look at the organizational domain's): no policy, no "
		    "reports");
		pw_strv_free(&v);
		return;
	}
	if (n > 1) {
		err(dc, "%s: more than one DMARC record: receivers apply none "
		    "(RFC 7489 6.6.3; RFC 9989 4.10.1)", domain);
		pw_strv_free(&v);
		return;
	}
	(void)pw_dmarc_record_parse(txt, strlen(txt), &rec);
	p = rec.p;
	sp = rec.sp != PW_DMARC_P_UNSET ? rec.sp : p;
	if (p == PW_DMARC_P_UNSET ||
	    (rec.bad & (PW_DMARC_BAD_SP | PW_DMARC_BAD_NP)) != 0) {
		if (rec.rua_valid == 0) {
			err(dc, "no valid p=%s and no valid rua=: receivers "
			    "do not use this record (RFC 9989 4.10.1)",
			    (rec.bad & (PW_DMARC_BAD_SP | PW_DMARC_BAD_NP)) ?
			    " (or a bad sp= or np=)" : "");
			pw_strv_free(&v);
			return;
		}
		say("warning", "no valid p=%s: with its valid rua= the record "
		    "is read as p=none (RFC 9989 4.10.1)",
		    (rec.bad & (PW_DMARC_BAD_SP | PW_DMARC_BAD_NP)) ?
		    " (or a bad sp= or np=)" : "");
		p = sp = PW_DMARC_P_NONE;
	}
	say(NULL, "policy p=%s, subdomains sp=%s%s%s, alignment adkim=%s "
	    "aspf=%s", pname(p), pname(sp), rec.np != PW_DMARC_P_UNSET &&
	    p != PW_DMARC_P_NONE ? ", non-existent subdomains np=" : "",
	    rec.np != PW_DMARC_P_UNSET && p != PW_DMARC_P_NONE ?
	    pname(rec.np) : "", rec.adkim_strict ? "strict" : "relaxed",
	    rec.aspf_strict ? "strict" : "relaxed");
	if (rec.testing)
		say("warning", "t=y: testing, receivers do not apply the "
		    "policy as written (RFC 9989)");
	else if (p == PW_DMARC_P_NONE)
		say("warning", "p=none: monitoring only, failing mail "
		    "is delivered as usual");
	if (rec.pct < 100)
		say(NULL, "pct=%d: not an RFC 9989 tag, ignored by receivers "
		    "that follow it: the policy applies to all failing mail",
		    rec.pct);
	if (rec.rua_valid == 0)
		say("warning", "no valid rua=: nobody receives aggregate "
		    "reports");
	pw_strv_free(&v);
}

/* --- DKIM -------------------------------------------------------------- */

static void
check_key(struct dc *dc, const char *domain, const char *sel,
    const struct pw_dkim_key *ours)
{
	char *name = pw_asprintf("%s._domainkey.%s", sel, domain), **v;
	char *k, *p, *t;
	const char *why = NULL;
	EVP_PKEY *pub;
	enum pw_dns_status st;

	printf("DKIM (%s):\n", name);
	st = pw_dns_txt(dc->dns, NULL, name, &v, &why);
	if (st == PW_DNS_TEMPFAIL || st == PW_DNS_LIMIT) {
		say("error", "DNS lookup failed temporarily (%s)", why);
		dc->tempfail++;
		free(name);
		return;
	}
	free(name);
	if (st != PW_DNS_ANSWER || v[0] == NULL) {
		err(dc, "no key published for selector %s: signatures with it "
		    "fail (permerror, key not found)", sel);
		pw_strv_free(&v);
		return;
	}
	if (v[1] != NULL)
		say("warning", "several TXT records: verifiers may pick any");
	say(NULL, "record: %.70s%s", v[0], strlen(v[0]) > 70 ? "..." : "");
	k = pw_dkim_record_tag(v[0], "k");
	p = pw_dkim_record_tag(v[0], "p");
	t = pw_dkim_record_tag(v[0], "t");
	if (p == NULL)
		err(dc, "%s", "no p= tag: not a DKIM key record");
	else if (*p == '\0')
		err(dc, "%s", "p= is empty: the key is revoked (RFC 6376 "
			      "3.6.1)");
	else if ((pub = pw_dkim_record_pubkey(k, p, &why)) == NULL)
		err(dc, "%s", why);
	else {
		int bits = EVP_PKEY_get_bits(pub);

		say(NULL, "%s key, %d bits", k ? k : "rsa", bits);
		if ((k == NULL || pw_strcaseeq(k, "rsa")) && bits < 1024)
			err(dc, "%s", "RSA key under 1024 bits: verifiers "
				      "reject it (RFC 8301)");
		else if ((k == NULL || pw_strcaseeq(k, "rsa")) && bits < 2048)
			say("warning", "RSA key under 2048 bits");
		if (ours != NULL && EVP_PKEY_eq(pub, ours->pkey) == 1)
			say(NULL, "matches our private key (KeyTable %s)",
			    ours->where ? ours->where : ours->name);
		else if (ours != NULL)
			err(dc, "does NOT match our private key %s: our "
			    "signatures will fail", ours->path);
		EVP_PKEY_free(pub);
	}
	if (t != NULL && strchr(t, 'y') != NULL)
		say("warning", "t=y: testing mode, verifiers may ignore "
		    "failures");
	free(k);
	free(p);
	free(t);
	pw_strv_free(&v);
}

/* check_our_keys - every KeyTable entry for domain; returns how many */
static int
check_our_keys(struct dc *dc, const char *domain, const char *spec,
    const char *only_sel)
{
	struct pw_buf errs = {0};
	struct pw_table *t = pw_table_open(spec, "dkim_key_table", &errs);
	int found = 0;

	if (t == NULL) {
		err(dc, "%s", errs.data ? errs.data : "cannot read KeyTable");
		pw_buf_free(&errs);
		return -1;
	}
	for (size_t i = 0; i < t->n; i++) {
		char *val = pw_strdup(t->v[i].value), *save;
		char *d = strtok_r(val, ":", &save), *s, *path;
		struct pw_dkim_key k;
		char *where;

		s = d ? strtok_r(NULL, ":", &save) : NULL;
		path = s ? strtok_r(NULL, "", &save) : NULL;
		if (path == NULL || !pw_strcaseeq(d, domain) ||
		    (only_sel != NULL && strcmp(s, only_sel) != 0)) {
			free(val);
			continue;
		}
		found++;
		memset(&k, 0, sizeof(k));
		where = pw_asprintf("%s:%d", t->path, t->v[i].line);
		k.name = t->v[i].key;
		k.where = where;
		if (pw_dkim_key_read(&k, path, where, true, &errs) < 0) {
			err(dc, "%s", errs.data);
			pw_buf_free(&errs);
		} else
			check_key(dc, domain, s, &k);
		/* what pw_dkim_key_read() set up (dkim_keys.c key_free) */
		if (k.pkey != NULL) {
			pw_keycache_remove(k.pem, k.pemlen, k.pkey);
			EVP_PKEY_free(k.pkey);
		}
		if (k.pem != NULL)
			explicit_bzero(k.pem, k.pemlen);
		free(k.pem);
		free(k.path);
		free(where);
		free(val);
	}
	pw_table_free(&t);
	return found;
}

static const struct option dc_opts[] = {
    {"selector", required_argument, NULL, 's'},
    {"nameserver", required_argument, NULL, 'n'},
    {"key-table", required_argument, NULL, 'k'},
    {NULL, 0, NULL, 0},
};

int
pw_ctl_dnscheck(struct pw_ctl *ctl, int argc, char **argv)
{
	const char *sel = NULL, *ns = NULL, *kt_opt = NULL, *domain;
	struct pw_config *cfg = NULL;
	struct dc dc = {0};
	char *kt = NULL, *e = NULL, *dom;
	int ch;

	/* 0, not 1: glibc then starts afresh, permuting again (main()
	   parsed its own options in "+" mode); DOMAIN may come first. */
	optind = 0;
	while ((ch = getopt_long(argc, argv, "s:n:k:", dc_opts, NULL)) != -1)
		switch (ch) {
		case 's':
			sel = optarg;
			break;
		case 'n':
			ns = optarg;
			break;
		case 'k':
			kt_opt = optarg;
			break;
		default:
			return EX_USAGE;
		}
	if (optind != argc - 1) {
		pw_ctl_error("dns-check", "give exactly one DOMAIN");
		return EX_USAGE;
	}
	dom = pw_lowercase(pw_strdup(argv[optind]));
	if (dom[0] != '\0' && dom[strlen(dom) - 1] == '.')
		dom[strlen(dom) - 1] = '\0';
	domain = dom;
	/* The configuration gives the resolvers and the KeyTable; without
	   -c a missing default file is fine. */
	if (ctl->config_given || access(ctl->config_path, R_OK) == 0) {
		if ((cfg = pw_ctl_config(ctl)) == NULL) {
			free(dom);
			return EX_CONFIG;
		}
		if (ns == NULL)
			ns = cfg->core.dns_nameservers;
		/* dkim_sign's key, read as written (the KeyTable has
		   no default) */
		kt = kt_opt ? pw_strdup(kt_opt) :
		    pw_config_value(cfg, "dkim_key_table") ?
		    pw_strdup(pw_config_value(cfg, "dkim_key_table")) : NULL;
	} else if (kt_opt != NULL)
		kt = pw_strdup(kt_opt);
	if ((dc.dns = pw_dns_new(ns, PW_DNS_DEFAULT_TIMEOUT_MS, &e)) == NULL) {
		pw_ctl_error("dns-check", "%s", e);
		free(e);
		free(kt);
		free(dom);
		return EX_USAGE;
	}

	check_spf(&dc, domain);
	check_dmarc(&dc, domain);
	if (kt == NULL || check_our_keys(&dc, domain, kt, sel) == 0) {
		if (sel != NULL)
			check_key(&dc, domain, sel, NULL);
		else
			printf("DKIM:\n  (give --selector S; %s)\n", kt ?
			    "no KeyTable entry for this domain" :
			    "no KeyTable configured");
	}

	pw_dns_free(&dc.dns);
	free(kt);
	free(dom);
	if (dc.tempfail > 0) {
		printf("result: incomplete (temporary DNS failure)\n");
		return EX_TEMPFAIL;
	}
	printf("result: %d problem%s\n", dc.errors, dc.errors == 1 ? "" : "s");
	return dc.errors > 0 ? 1 : 0;
}
