/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * org - the organisations file and the lookups from a submission to its
 * organisation (compliance-rules.md R1).
 *
 * Format (conf/organisations.conf.sample has the commented reference):
 *
 *	# comment
 *	[org NAME]
 *	key = value
 *	    continued value (a line starting with white space)
 *
 * Every problem is reported as "FILE:LINE: message", all of them, not
 * just the first: unknown keys, repeated keys, bad values, duplicate
 * organisations, a domain or login claimed by two organisations, and
 * fields an enabled rule needs.  The loaded set is immutable; lookups use
 * sorted indexes and bsearch, so thousands of customers cost nothing.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "compliance/complaint_rate.h"
#include "compliance/org.h"
#include "parsers/addrnorm.h"

#define ORG_MAX_NAME	64	/* PW_TOKEN_MAX_ORG: the name goes in tokens */

static const char *const class_names[] = {"none", "commercial",
    "transactional", "other", NULL};
static const char *const class_how_names[] = {"none", "header",
    "organisation", "heuristic", NULL};
static const char *const org_how_names[] = {"none", "sasl", "envelope",
    "from", NULL};
static const char *const multi_names[] = {"rcpt_limit", "reject",
    "mailto_only", NULL};
static const char *const noconsent_names[] = {"refuse_at_rcpt",
    "drop_at_eom", "reject_message", NULL};
static const char *const unsubinv_names[] = {"replace", "reject", NULL};
static const char *const mailtoact_names[] = {"discard", "deliver", NULL};
static const char *const bool_names[] = {"no", "yes", NULL};
static const char *const classhdr_names[] = {"submitters", "sasl",
    "internal", "nobody", NULL};
static const char *const setclass_names[] = {"commercial", "transactional",
    "other", NULL};
static const char *const qunit_names[] = {"messages", "recipients", NULL};
static const char *const qmonth_names[] = {"reject", "tempfail", NULL};

enum key_type {
	K_STR,		/* free text (names, addresses, phone) */
	K_DOMAINS,	/* list of domains, normalised */
	K_LOGINS,	/* list of SASL logins, lower-cased */
	K_CLASS,	/* commercial | transactional | other */
	K_MODE,		/* off | warn | enforce */
	K_MULTI,
	K_NOCONSENT,
	K_UNSUBINV,	/* replace | reject */
	K_MAILTOACT,	/* discard | deliver */
	K_BOOL,		/* no | yes */
	K_KID,		/* 0..255 */
	K_HTTPS,	/* https:// URL */
	K_URL,		/* http:// or https:// URL */
	K_EMAIL,	/* local@domain, "mailto:" accepted and dropped */
	K_SENDAS,	/* list of addresses and domains */
	K_CLASSHDR,	/* submitters | sasl | internal | nobody */
	K_QLIMIT,	/* a quota: 1..10^12 (long long) */
	K_QUNIT,	/* messages | recipients */
	K_QMONTH,	/* reject | tempfail */
	K_COUNT,	/* a whole number, okey.min..okey.max */
	K_RATE,		/* a percentage "0.3%" or off (complaint_rate.h) */
};

struct okey {
	const char	*name;
	enum key_type	 type;
	size_t		 off;	/* into struct pw_org; mode: rule index */
	long		 min, max;	/* K_COUNT */
};

#define OFF(m) offsetof(struct pw_org, m)

static const struct okey okeys[] = {
    {"domains", K_DOMAINS, OFF(domains), 0, 0},
    {"sasl_logins", K_LOGINS, OFF(sasl_logins), 0, 0},
    {"envelope_domains", K_DOMAINS, OFF(envelope_domains), 0, 0},
    {"from_domains", K_DOMAINS, OFF(from_domains), 0, 0},
    {"default_class", K_CLASS, OFF(default_class), 0, 0},
    {"business_name", K_STR, OFF(business_name), 0, 0},
    {"mailing_address", K_STR, OFF(mailing_address), 0, 0},
    {"contact_phone", K_STR, OFF(contact_phone), 0, 0},
    {"contact_email", K_EMAIL, OFF(contact_email), 0, 0},
    {"contact_url", K_URL, OFF(contact_url), 0, 0},
    {"identification_url", K_URL, OFF(identification_url), 0, 0},
    {"unsubscribe_url", K_HTTPS, OFF(unsubscribe_url), 0, 0},
    {"unsubscribe_mailto", K_EMAIL, OFF(unsubscribe_mailto), 0, 0},
    {"token_key_id", K_KID, OFF(token_key_id), 0, 0},
    {"unsub_mode", K_MODE, PW_RULE_UNSUB, 0, 0},
    {"identification_mode", K_MODE, PW_RULE_IDENT, 0, 0},
    {"consent_mode", K_MODE, PW_RULE_CONSENT, 0, 0},
    {"class_header_mode", K_MODE, PW_RULE_CLASS_HEADER, 0, 0},
    {"multi_recipient", K_MULTI, OFF(multi_recipient), 0, 0},
    {"missing_consent", K_NOCONSENT, OFF(missing_consent), 0, 0},
    {"unsub_invalid", K_UNSUBINV, OFF(unsub_invalid), 0, 0},
    {"unsubscribe_mailto_action", K_MAILTOACT, OFF(mailto_action), 0, 0},
    {"unsubscribe_mailto_from", K_BOOL, OFF(mailto_from), 0, 0},
    {"complaints_address", K_EMAIL, OFF(complaints_address), 0, 0},
    /* this organisation's own feedback-loop limits (postwarden.conf has
       the defaults) */
    {"bounce_soft_limit", K_COUNT, OFF(bounce_soft_limit), 1, 1000},
    {"bounce_soft_days", K_COUNT, OFF(bounce_soft_days), 1, 365},
    {"complaint_rate_warn", K_RATE, OFF(complaint_warn_ppm), 0, 0},
    {"complaint_rate_hold", K_RATE, OFF(complaint_hold_ppm), 0, 0},
    {"complaint_rate_min_messages", K_COUNT, OFF(complaint_min_delivered),
	1, 100000000},
    {"sender_binding", K_MODE, PW_RULE_SENDER_BINDING, 0, 0},
    {"sender_binding_internal", K_BOOL, OFF(bind_internal), 0, 0},
    {"send_as", K_SENDAS, OFF(send_as), 0, 0},
    {"class_header_from", K_CLASSHDR, OFF(class_header_from), 0, 0},
    {"quota_hour", K_QLIMIT, OFF(quota[PW_QUOTA_HOUR]), 0, 0},
    {"quota_day", K_QLIMIT, OFF(quota[PW_QUOTA_DAY]), 0, 0},
    {"quota_month", K_QLIMIT, OFF(quota[PW_QUOTA_MONTH]), 0, 0},
    {"quota_unit", K_QUNIT, OFF(quota_unit), 0, 0},
    {"quota_mode", K_MODE, PW_RULE_QUOTA, 0, 0},
    {"quota_month_action", K_QMONTH, OFF(quota_month_action), 0, 0},
    {NULL, K_STR, 0, 0, 0},
};

#define NKEYS	(sizeof(okeys) / sizeof(okeys[0]) - 1)
enum { KI_DOMAINS, KI_SASL, KI_ENV, KI_FROM };	/* okeys[] order */

/* One index entry: a login or domain and the organisation claiming it. */
struct ent {
	const char		*key;
	const struct pw_org	*org;
};

struct index {
	struct ent	*v;
	size_t		 n;
};

struct pw_orgs {
	struct pw_org	**v;
	size_t		 n;
	struct index	 by_name, by_sasl, by_env, by_from;
};

/* An organisation and where its keys were set, for error messages. */
struct org_full {
	struct pw_org	 pub;		/* first: pointers convert */
	size_t		 pos;		/* in file order */
	int		 line;		/* of its [org] line */
	int		 key_line[NKEYS];
};

/* Parser state for one file. */
struct parse {
	const char	*path;
	struct pw_buf	*errors;
	int		 bad;
	struct pw_orgs	*orgs;
	struct pw_org	*cur;		/* section being read, or NULL */
};

static void perr(struct parse *, int, const char *, ...)
    __attribute__((format(printf, 3, 4)));

/* perr - one "FILE:LINE: message" line */
static void
perr(struct parse *p, int line, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	msg = pw_vasprintf(fmt, ap);
	va_end(ap);
	pw_buf_printf(p->errors, "%s:%d: %s\n", p->path, line, msg);
	free(msg);
	p->bad = 1;
}

/* name_ok - an organisation name must fit in a token (token.h) */
static bool
name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > ORG_MAX_NAME)
		return false;
	return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			 "0123456789._-") == n;
}

/* enum_parse - index of text in names (case-insensitive), or -1 */
static int
enum_parse(const char *const *names, const char *text)
{
	for (int i = 0; names[i] != NULL; i++)
		if (pw_strcaseeq(names[i], text))
			return i;
	return -1;
}

/* enum_list - "a | b | c" for error messages */
static char *
enum_list(const char *const *names)
{
	struct pw_buf b = {0};

	for (int i = 0; names[i] != NULL; i++)
		pw_buf_printf(&b, "%s%s", i ? " | " : "", names[i]);
	return b.data;
}

/* domain_norm - normalise "example.com" or ".example.com"; NULL on error */
static char *
domain_norm(const char *in, const char **error_r)
{
	bool dot = in[0] == '.';
	size_t len;
	char *d, *r;

	in += dot;
	len = strlen(in);
	if (len > 0 && in[len - 1] == '.')	/* absolute form */
		len--;
	if (pw_domain_normalise(in, len, &d, error_r) < 0)
		return NULL;
	if (!dot)
		return d;
	r = pw_asprintf(".%s", d);
	free(d);
	return r;
}

/* addr_norm - "Local@Domain" as local@normalised-domain; NULL on error.
   The local part is lower-cased too: send_as is a permission, and a
   mailbox that differs only in case is the same mailbox in practice. */
static char *
addr_norm(const char *in, const char **error_r)
{
	const char *at = strrchr(in, '@');
	char *d, *r, *l;

	if (at == NULL || at == in || at[1] == '\0' ||
	    strpbrk(in, " \t<>,;\"") != NULL) {
		*error_r = "expected local@domain or a domain";
		return NULL;
	}
	if (pw_domain_normalise(at + 1, strlen(at + 1), &d, error_r) < 0)
		return NULL;
	l = pw_lowercase(pw_strndup(in, (size_t)(at - in)));
	r = pw_asprintf("%s@%s", l, d);
	free(l);
	free(d);
	return r;
}

/* set_list - a domain or login list value */
static void
set_list(struct parse *p, int line, const struct okey *k, const char *val)
{
	char ***at = (char ***)((char *)p->cur + k->off);
	char **v = pw_split_list(val, NULL);
	size_t j = 0;

	for (size_t i = 0; v[i] != NULL; i++) {
		const char *why;
		char *n;

		if (k->type == K_LOGINS) {
			v[j++] = pw_lowercase(v[i]);
			continue;
		}
		if (k->type == K_SENDAS && strchr(v[i], '@') != NULL) {
			if ((n = addr_norm(v[i], &why)) == NULL) {
				perr(p, line, "%s: \"%s\": %s", k->name, v[i],
				    why);
				free(v[i]);
				continue;
			}
			free(v[i]);
			v[j++] = n;
			continue;
		}
		if ((n = domain_norm(v[i], &why)) == NULL) {
			perr(p, line, "%s: \"%s\": %s", k->name, v[i], why);
			free(v[i]);
			continue;
		}
		free(v[i]);
		v[j++] = n;
	}
	v[j] = NULL;
	if (j == 0)
		perr(p, line, "%s: empty list", k->name);
	*at = v;
}

/* email_ok - a plausible addr-spec: one '@', both sides non-empty */
static bool
email_ok(const char *s)
{
	const char *at = strrchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' &&
	       strpbrk(s, " \t<>,;\"") == NULL;
}

/* set_value - one "key = value" line of the current section */
static void
set_value(struct parse *p, int line, const struct okey *k, const char *val)
{
	char *at = (char *)p->cur + k->off;
	int i;

	switch (k->type) {
	case K_DOMAINS:
	case K_LOGINS:
	case K_SENDAS:
		set_list(p, line, k, val);
		return;
	case K_CLASSHDR:
		if ((i = enum_parse(classhdr_names, val)) < 0)
			goto bad_enum;
		*(enum pw_class_header_from *)at = (enum pw_class_header_from)i;
		return;
	case K_CLASS:
		if ((i = enum_parse(setclass_names, val)) < 0)
			goto bad_enum;
		*(enum pw_class *)at = (enum pw_class)(i + 1);
		return;
	case K_MODE:
		if ((i = enum_parse(pw_mode_names, val)) < 0)
			goto bad_enum;
		p->cur->mode[k->off] = (enum pw_mode)i;
		return;
	case K_MULTI:
		if ((i = enum_parse(multi_names, val)) < 0)
			goto bad_enum;
		*(enum pw_multi_rcpt *)at = (enum pw_multi_rcpt)i;
		return;
	case K_NOCONSENT:
		if ((i = enum_parse(noconsent_names, val)) < 0)
			goto bad_enum;
		*(enum pw_missing_consent *)at = (enum pw_missing_consent)i;
		return;
	case K_UNSUBINV:
		if ((i = enum_parse(unsubinv_names, val)) < 0)
			goto bad_enum;
		*(enum pw_unsub_invalid *)at = (enum pw_unsub_invalid)i;
		return;
	case K_MAILTOACT:
		if ((i = enum_parse(mailtoact_names, val)) < 0)
			goto bad_enum;
		*(enum pw_mailto_action *)at = (enum pw_mailto_action)i;
		return;
	case K_BOOL:
		if ((i = enum_parse(bool_names, val)) < 0)
			goto bad_enum;
		*(bool *)at = i == 1;
		return;
	case K_QUNIT:
		if ((i = enum_parse(qunit_names, val)) < 0)
			goto bad_enum;
		*(enum pw_quota_unit *)at = (enum pw_quota_unit)i;
		return;
	case K_QMONTH:
		if ((i = enum_parse(qmonth_names, val)) < 0)
			goto bad_enum;
		*(enum pw_quota_month_action *)at =
		    (enum pw_quota_month_action)i;
		return;
	case K_QLIMIT: {
		char *end;
		long long v;

		errno = 0;
		v = strtoll(val, &end, 10);
		if (end == val || *end != '\0' || errno || v < 1 ||
		    v > 1000000000000LL) {
			perr(p, line, "%s = %s: expected a number of %s, 1 to "
			    "10^12", k->name, val, "messages or recipients");
			return;
		}
		*(long long *)at = v;
		return;
	}
	case K_KID: {
		char *end;
		long v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (end == val || *end != '\0' || errno || v < 0 || v > 255) {
			perr(p, line, "%s = %s: expected a key id 0..255",
			    k->name, val);
			return;
		}
		*(int *)at = (int)v;
		return;
	}
	case K_HTTPS:
	case K_URL:
		/* RFC 8058 §3.1: the one-click URI must be HTTPS. */
		if (!pw_strncaseeq(val, "https://", 8) &&
		    (k->type == K_HTTPS || !pw_strncaseeq(val, "http://", 7))) {
			perr(p, line, "%s = %s: expected an %s URL", k->name, val,
			    k->type == K_HTTPS ? "https://" : "http(s)://");
			return;
		}
		if (strpbrk(val, " \t<>\"") != NULL) {
			perr(p, line, "%s = %s: white space or <>\" in a URL",
			    k->name, val);
			return;
		}
		break;
	case K_EMAIL:
		if (pw_strncaseeq(val, "mailto:", 7))
			val += 7;
		if (!email_ok(val)) {
			perr(p, line, "%s = %s: expected an address local@domain",
			    k->name, val);
			return;
		}
		break;
	case K_COUNT: {
		char *end;
		long v;

		errno = 0;
		v = strtol(val, &end, 10);
		if (end == val || *end != '\0' || errno || v < k->min ||
		    v > k->max) {
			perr(p, line, "%s = %s: expected a number %ld..%ld",
			    k->name, val, k->min, k->max);
			return;
		}
		*(long *)at = v;
		return;
	}
	case K_RATE: {
		const char *why;

		if (pw_rate_parse(val, (long *)at, &why) < 0)
			perr(p, line, "%s = %s: %s", k->name, val, why);
		return;
	}
	case K_STR:
		break;
	}
	free(*(char **)at);
	*(char **)at = pw_strdup(val);
	return;
bad_enum: {
	char *l = enum_list(k->type == K_CLASS	   ? setclass_names :
			    k->type == K_MODE	   ? pw_mode_names :
			    k->type == K_MULTI	   ? multi_names :
			    k->type == K_UNSUBINV  ? unsubinv_names :
			    k->type == K_MAILTOACT ? mailtoact_names :
			    k->type == K_BOOL	   ? bool_names :
			    k->type == K_CLASSHDR  ? classhdr_names :
			    k->type == K_QUNIT	   ? qunit_names :
			    k->type == K_QMONTH	   ? qmonth_names :
						     noconsent_names);

	perr(p, line, "%s = %s: expected %s", k->name, val, l);
	free(l);
}
}

/* org_free - one organisation */
static void
org_free(struct pw_org *o)
{
	if (o == NULL)
		return;
	free(o->name);
	free(o->where);
	pw_strv_free(&o->domains);
	pw_strv_free(&o->sasl_logins);
	pw_strv_free(&o->envelope_domains);
	pw_strv_free(&o->from_domains);
	free(o->business_name);
	free(o->mailing_address);
	free(o->contact_phone);
	free(o->contact_email);
	free(o->contact_url);
	free(o->identification_url);
	free(o->unsubscribe_url);
	free(o->unsubscribe_mailto);
	free(o->complaints_address);
	pw_strv_free(&o->send_as);
	free(o);
}

/* strv_dup - copy a NULL-terminated vector */
static char **
strv_dup(char *const *v)
{
	size_t n = 0;
	char **r;

	while (v[n] != NULL)
		n++;
	r = pw_calloc(n + 1, sizeof(*r));
	for (size_t i = 0; i < n; i++)
		r[i] = pw_strdup(v[i]);
	return r;
}

/* section_end - required fields and defaults of the finished section */
static void
section_end(struct parse *p)
{
	struct pw_org *o = p->cur;
	int l;

	if (o == NULL)
		return;
	l = ((struct org_full *)o)->line;
	p->cur = NULL;
	if (o->domains == NULL)
		perr(p, l, "organisation \"%s\": domains is required (its "
		    "sender domains)", o->name);
	else {
		if (o->envelope_domains == NULL)
			o->envelope_domains = strv_dup(o->domains);
		if (o->from_domains == NULL)
			o->from_domains = strv_dup(o->domains);
	}
	/* CRTC Regs s.2(1): name, mailing address and one contact item, or
	   s.2(2) a page that has them.  Without them nothing can be checked,
	   so warn needs them as much as enforce. */
	if (o->mode[PW_RULE_IDENT] != PW_MODE_OFF) {
		const char *m = pw_mode_names[o->mode[PW_RULE_IDENT]];

		if (o->business_name == NULL)
			perr(p, l, "organisation \"%s\": identification_mode = "
			    "%s needs business_name", o->name, m);
		if (o->mailing_address == NULL)
			perr(p, l, "organisation \"%s\": identification_mode = "
			    "%s needs mailing_address", o->name, m);
		if (o->contact_phone == NULL && o->contact_email == NULL &&
		    o->contact_url == NULL && o->identification_url == NULL)
			perr(p, l, "organisation \"%s\": identification_mode = "
			    "%s needs contact_phone, contact_email, contact_url "
			    "or identification_url", o->name, m);
	}
	if (o->mode[PW_RULE_UNSUB] != PW_MODE_OFF &&
	    o->unsubscribe_url == NULL)
		perr(p, l, "organisation \"%s\": unsub_mode = %s needs "
		    "unsubscribe_url", o->name,
		    pw_mode_names[o->mode[PW_RULE_UNSUB]]);
	if (o->multi_recipient == PW_MULTI_MAILTO_ONLY &&
	    o->unsubscribe_mailto == NULL)
		perr(p, l, "organisation \"%s\": multi_recipient = mailto_only "
		    "needs unsubscribe_mailto", o->name);
}

/* section_start - "[org NAME]" */
static void
section_start(struct parse *p, int line, char *s)
{
	struct org_full *f;
	struct pw_org *o;
	char *end = strchr(s, ']'), *name;

	section_end(p);
	if (end == NULL || pw_trim(end + 1)[0] != '\0') {
		perr(p, line, "expected [org NAME]");
		return;
	}
	*end = '\0';
	s = pw_trim(s + 1);
	if (strncmp(s, "org", 3) != 0 || !isspace((unsigned char)s[3])) {
		perr(p, line, "unknown section [%s]: expected [org NAME]", s);
		return;
	}
	name = pw_trim(s + 3);
	if (!name_ok(name)) {
		perr(p, line, "organisation name \"%s\": use 1 to %d of "
		    "A-Z a-z 0-9 . _ -", name, ORG_MAX_NAME);
		return;
	}
	if (pw_orgs_by_name(p->orgs, name) != NULL) {
		perr(p, line, "duplicate organisation \"%s\" (first at %s)",
		    name, pw_orgs_by_name(p->orgs, name)->where);
		return;
	}
	f = pw_calloc(1, sizeof(*f));
	f->pos = p->orgs->n;
	f->line = line;
	o = &f->pub;
	o->name = pw_strdup(name);
	o->where = pw_asprintf("%s:%d", p->path, line);
	o->default_class = PW_CLASS_COMMERCIAL;	/* fail safe, §5.2 item 4 */
	o->token_key_id = -1;
	o->complaint_warn_ppm = PW_RATE_UNSET;
	o->complaint_hold_ppm = PW_RATE_UNSET;
	o->mode[PW_RULE_UNSUB] = PW_MODE_ENFORCE;
	o->mode[PW_RULE_IDENT] = PW_MODE_ENFORCE;
	o->mode[PW_RULE_CONSENT] = PW_MODE_ENFORCE;
	o->mode[PW_RULE_CLASS_HEADER] = PW_MODE_WARN;
	/* A hosting provider's customer must not send as another one: the
	   safe default; an organisation that sends for others lists them
	   in send_as. */
	o->mode[PW_RULE_SENDER_BINDING] = PW_MODE_ENFORCE;
	/* Quotas apply only where a limit is set (quota_hour, _day,
	   _month); then they are enforced unless quota_mode says warn. */
	o->mode[PW_RULE_QUOTA] = PW_MODE_ENFORCE;
	o->class_header_from = PW_CLASSHDR_SUBMITTERS;
	o->multi_recipient = PW_MULTI_RCPT_LIMIT;
	o->missing_consent = PW_NOCONSENT_REFUSE_AT_RCPT;
	p->orgs->v = pw_realloc(p->orgs->v, (p->orgs->n + 1) * sizeof(o));
	p->orgs->v[p->orgs->n++] = o;
	/* by_name is kept linear while loading (checked once per [org]). */
	p->orgs->by_name.v = pw_realloc(p->orgs->by_name.v,
	    p->orgs->n * sizeof(struct ent));
	p->orgs->by_name.v[p->orgs->n - 1] = (struct ent){o->name, o};
	p->orgs->by_name.n = p->orgs->n;
	p->cur = o;
}

/* key_line - "key = value" */
static void
key_line(struct parse *p, int line, char *s)
{
	char *eq = strchr(s, '='), *key, *val;
	int *seen;
	size_t i;

	if (eq == NULL) {
		perr(p, line, "expected key = value");
		return;
	}
	*eq = '\0';
	key = pw_trim(s);
	val = pw_trim(eq + 1);
	for (i = 0; i < NKEYS; i++)
		if (strcmp(okeys[i].name, key) == 0)
			break;
	if (i == NKEYS) {
		perr(p, line, "unknown key \"%s\"", key);
		return;
	}
	if (p->cur == NULL) {
		/* A bad [org] line already reported: stay quiet here. */
		if (p->orgs->n == 0 && !p->bad)
			perr(p, line, "\"%s\" outside an [org NAME] section",
			    key);
		return;
	}
	seen = ((struct org_full *)p->cur)->key_line;
	if (seen[i] != 0) {
		perr(p, line, "\"%s\" repeated (first at line %d)", key,
		    seen[i]);
		return;
	}
	seen[i] = line;
	if (*val == '\0') {
		perr(p, line, "\"%s\" has an empty value", key);
		return;
	}
	set_value(p, line, &okeys[i], val);
}

/* flush - act on one complete logical line */
static void
flush(struct parse *p, struct pw_buf *logical, int start)
{
	if (logical->len == 0)
		return;
	if (logical->data[0] == '[')
		section_start(p, start, logical->data);
	else
		key_line(p, start, logical->data);
	logical->len = 0;
	logical->data[0] = '\0';
}

/* parse_file - read every line; continuation lines join the previous */
static int
parse_file(struct parse *p)
{
	FILE *fp = fopen(p->path, "r");
	char *line = NULL, *t;
	size_t cap = 0;
	ssize_t len;
	int lineno = 0, start = 0;
	struct pw_buf logical = {0};

	if (fp == NULL) {
		pw_buf_printf(p->errors, "%s: cannot open: %s\n", p->path,
		    strerror(errno));
		p->bad = 1;
		return -1;
	}
	while ((len = getline(&line, &cap, fp)) >= 0) {
		lineno++;
		if (memchr(line, '\0', (size_t)len) != NULL) {
			perr(p, lineno, "NUL byte in line");
			continue;
		}
		t = pw_trim(line);
		if (*t == '\0' || *t == '#')
			continue;	/* blank or comment */
		if (t != line) {
			/* Indented: continues the previous value. */
			if (logical.len == 0) {
				perr(p, lineno, "continuation line without "
				    "a key before it");
				continue;
			}
			pw_buf_puts(&logical, " ");
			pw_buf_puts(&logical, t);
			continue;
		}
		flush(p, &logical, start);
		pw_buf_puts(&logical, t);
		start = lineno;
	}
	flush(p, &logical, start);
	section_end(p);
	free(line);
	pw_buf_free(&logical);
	if (ferror(fp)) {
		pw_buf_printf(p->errors, "%s: read error\n", p->path);
		p->bad = 1;
	}
	fclose(fp);
	return p->bad ? -1 : 0;
}

static int
ent_cmp(const void *a, const void *b)
{
	const struct ent *x = a, *y = b;

	return strcmp(x->key, y->key);
}

/* claim_line - the line of the key that made org claim a name */
static int
claim_line(const struct pw_org *o, size_t ki)
{
	const struct org_full *f = (const struct org_full *)o;

	/* envelope_domains and from_domains default to domains (index 0). */
	return f->key_line[ki] ? f->key_line[ki] :
	       f->key_line[0] ? f->key_line[0] : f->line;
}

/* defaulted - did org's list for okeys[ki] come from "domains"? */
static bool
defaulted(const struct pw_org *o, size_t ki)
{
	return ((const struct org_full *)o)->key_line[ki] == 0;
}

/* index_build - sort the claims of key okeys[ki]; report double claims */
static void
index_build(struct parse *p, struct index *ix, size_t ki, const char *what)
{
	for (size_t i = 0; i < p->orgs->n; i++) {
		const struct pw_org *o = p->orgs->v[i];
		char **v = *(char ***)((char *)o + okeys[ki].off);

		for (size_t j = 0; v != NULL && v[j] != NULL; j++) {
			ix->v = pw_realloc(ix->v, (ix->n + 1) * sizeof(*ix->v));
			ix->v[ix->n++] = (struct ent){v[j], o};
		}
	}
	if (ix->n == 0)
		return;
	qsort(ix->v, ix->n, sizeof(*ix->v), ent_cmp);
	for (size_t i = 1; i < ix->n; i++) {
		const struct pw_org *a = ix->v[i - 1].org, *b = ix->v[i].org;

		if (strcmp(ix->v[i - 1].key, ix->v[i].key) != 0)
			continue;
		if (a == b) {
			perr(p, claim_line(a, ki), "organisation \"%s\": %s "
			    "\"%s\" listed twice", a->name, what,
			    ix->v[i].key);
			continue;
		}
		/* Report at the later organisation, naming the first. */
		if (((const struct org_full *)a)->pos >
		    ((const struct org_full *)b)->pos) {
			const struct pw_org *t = a;

			a = b;
			b = t;
		}
		/* Both lists defaulted to "domains": one report suffices
		   (the envelope one, which says "domain"). */
		if (ki == KI_FROM && defaulted(a, KI_FROM) &&
		    defaulted(b, KI_FROM) && defaulted(a, KI_ENV) &&
		    defaulted(b, KI_ENV))
			continue;
		perr(p, claim_line(b, ki), "%s \"%s\" of organisation \"%s\" "
		    "is already claimed by organisation \"%s\" (%s)",
		    ki == KI_ENV && defaulted(a, ki) && defaulted(b, ki) ?
		    "domain" : what, ix->v[i].key, b->name, a->name, a->where);
	}
}

struct pw_orgs *
pw_orgs_load(const char *path, struct pw_buf *errors)
{
	struct parse p = {0};

	p.path = path;
	p.errors = errors;
	p.orgs = pw_calloc(1, sizeof(*p.orgs));
	/* Keep going after errors in the file, so that claims made twice
	   are reported with them; only an unreadable file stops here. */
	if (parse_file(&p) < 0 && p.orgs->n == 0) {
		pw_orgs_free(&p.orgs);
		return NULL;
	}
	/* A domain in two organisations would make the match depend on the
	   file order: R1 wants exactly one organisation per message. */
	index_build(&p, &p.orgs->by_sasl, KI_SASL, "SASL login");
	index_build(&p, &p.orgs->by_env, KI_ENV, "envelope domain");
	index_build(&p, &p.orgs->by_from, KI_FROM, "From domain");
	if (p.orgs->by_name.n > 0)
		qsort(p.orgs->by_name.v, p.orgs->by_name.n,
		    sizeof(struct ent), ent_cmp);
	if (p.bad) {
		pw_orgs_free(&p.orgs);
		return NULL;
	}
	return p.orgs;
}

/* key_index - the okeys[] index of a key name */
static size_t
key_index(const char *name)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (strcmp(okeys[i].name, name) == 0)
			break;
	return i;
}

/* rcpt_warn - one warning line at the key's line of org's section */
static void
rcpt_warn(struct pw_buf *out, const struct pw_org *o, int line,
    const char *setting, const char *why, const char *instead)
{
	const char *colon = strrchr(o->where, ':');
	int plen = colon ? (int)(colon - o->where) : (int)strlen(o->where);

	pw_buf_printf(out, "%.*s:%d: warning: organisation \"%s\": %s cannot "
	    "act at RCPT %s; %s\n", plen, o->where, line, o->name, setting, why,
	    instead);
}

size_t
pw_orgs_warnings(const struct pw_orgs *orgs, struct pw_buf *out)
{
	size_t ki_multi = key_index("multi_recipient");
	size_t ki_cons = key_index("missing_consent");
	size_t n = 0;

	for (size_t i = 0; orgs != NULL && i < orgs->n; i++) {
		const struct pw_org *o = orgs->v[i];
		const struct org_full *f = (const struct org_full *)o;
		const char *why;

		/* The RCPT-time choices act only when the class is final at
		   MAIL FROM (pol_classify): a commercial default that no
		   trusted Postwarden-Class header can lower.  Only a value
		   written in the file is questioned: the defaults fall back
		   as documented. */
		if (o->default_class != PW_CLASS_COMMERCIAL)
			why = "(its default_class is not commercial: the class "
			      "is only known at end of headers)";
		else if (o->mode[PW_RULE_CLASS_HEADER] != PW_MODE_OFF &&
			 o->class_header_from != PW_CLASSHDR_NOBODY)
			why = "for mail of its own submitters (SASL logins, "
			      "internal_hosts): class_header_mode is not off, "
			      "so their Postwarden-Class header can change the "
			      "class, which is then only known at end of "
			      "headers";
		else
			continue;
		if (f->key_line[ki_multi] != 0 &&
		    o->multi_recipient == PW_MULTI_RCPT_LIMIT &&
		    o->mode[PW_RULE_UNSUB] != PW_MODE_OFF) {
			rcpt_warn(out, o, f->key_line[ki_multi],
			    "multi_recipient = rcpt_limit", why,
			    "such mail with several recipients is rejected "
			    "instead (set class_header_mode = off, or "
			    "multi_recipient = reject or mailto_only)");
			n++;
		}
		if (f->key_line[ki_cons] != 0 &&
		    o->missing_consent == PW_NOCONSENT_REFUSE_AT_RCPT &&
		    o->mode[PW_RULE_CONSENT] != PW_MODE_OFF) {
			rcpt_warn(out, o, f->key_line[ki_cons],
			    "missing_consent = refuse_at_rcpt", why,
			    "recipients without consent are removed at end of "
			    "message instead, as with drop_at_eom (set "
			    "class_header_mode = off, or missing_consent = "
			    "drop_at_eom)");
			n++;
		}
	}
	return n;
}

void
pw_orgs_free(struct pw_orgs **op)
{
	struct pw_orgs *o = *op;

	if (o == NULL)
		return;
	for (size_t i = 0; i < o->n; i++)
		org_free(o->v[i]);
	free(o->v);
	free(o->by_name.v);
	free(o->by_sasl.v);
	free(o->by_env.v);
	free(o->by_from.v);
	free(o);
	*op = NULL;
}

size_t
pw_orgs_count(const struct pw_orgs *o)
{
	return o->n;
}

const struct pw_org *
pw_orgs_nth(const struct pw_orgs *o, size_t i)
{
	return i < o->n ? o->v[i] : NULL;
}

/* index_find - bsearch one key */
static const struct pw_org *
index_find(const struct index *ix, const char *key)
{
	struct ent k = {key, NULL}, *e;

	if (ix->n == 0)
		return NULL;
	e = bsearch(&k, ix->v, ix->n, sizeof(*ix->v), ent_cmp);
	return e ? e->org : NULL;
}

const struct pw_org *
pw_orgs_by_name(const struct pw_orgs *o, const char *name)
{
	/* Linear while loading (unsorted), bsearch afterwards would need a
	   flag; organisation counts make the scan cheap enough either way. */
	for (size_t i = 0; i < o->by_name.n; i++)
		if (strcmp(o->by_name.v[i].key, name) == 0)
			return o->by_name.v[i].org;
	return NULL;
}

const struct pw_org *
pw_orgs_by_sasl(const struct pw_orgs *o, const char *login)
{
	const struct pw_org *r;
	char *l;

	if (login == NULL || *login == '\0')
		return NULL;
	l = pw_lowercase(pw_strdup(login));
	r = index_find(&o->by_sasl, l);
	free(l);
	return r;
}

/* domain_find - exact domain, then ".parent" entries, nearest first */
static const struct pw_org *
domain_find(const struct index *ix, const char *domain)
{
	const struct pw_org *r;
	const char *why;
	char *d;

	if (domain == NULL || *domain == '\0' || *domain == '.')
		return NULL;
	if ((d = domain_norm(domain, &why)) == NULL)
		return NULL;
	r = index_find(ix, d);
	for (const char *s = strchr(d, '.'); r == NULL && s != NULL;
	     s = strchr(s + 1, '.'))
		r = index_find(ix, s);
	free(d);
	return r;
}

const struct pw_org *
pw_orgs_by_envelope(const struct pw_orgs *o, const char *domain)
{
	return domain_find(&o->by_env, domain);
}

const struct pw_org *
pw_orgs_by_from(const struct pw_orgs *o, const char *domain)
{
	return domain_find(&o->by_from, domain);
}

const struct pw_org *
pw_orgs_match(const struct pw_orgs *o, const char *sasl, const char *env_from,
    const char *from_addr, enum pw_org_how *how_r)
{
	const struct pw_org *r;
	const char *at;

	*how_r = PW_ORG_NONE;
	if ((r = pw_orgs_by_sasl(o, sasl)) != NULL) {
		*how_r = PW_ORG_BY_SASL;
		return r;
	}
	/* The null sender (bounces, RFC 5321 §4.5.5) names no domain. */
	if (env_from != NULL && (at = strrchr(env_from, '@')) != NULL &&
	    (r = pw_orgs_by_envelope(o, at + 1)) != NULL) {
		*how_r = PW_ORG_BY_ENVELOPE;
		return r;
	}
	if (from_addr != NULL && (at = strrchr(from_addr, '@')) != NULL &&
	    (r = pw_orgs_by_from(o, at + 1)) != NULL) {
		*how_r = PW_ORG_BY_FROM;
		return r;
	}
	return NULL;
}

/* list_has_domain - d (normalised) is an entry of v, or under a
   ".parent" entry of v; entries with "@" (addresses) are skipped */
static bool
list_has_domain(char *const *v, const char *d)
{
	size_t dl = strlen(d);

	for (size_t i = 0; v != NULL && v[i] != NULL; i++) {
		size_t el = strlen(v[i]);

		if (strchr(v[i], '@') != NULL)
			continue;
		if (strcmp(v[i], d) == 0)
			return true;
		if (v[i][0] == '.' && dl > el && strcmp(d + dl - el, v[i]) == 0)
			return true;
	}
	return false;
}

bool
pw_org_may_send_as(const struct pw_org *o, const char *addr)
{
	const char *why;
	char *a, *d;
	bool r = false;

	if (o == NULL || addr == NULL || (a = addr_norm(addr, &why)) == NULL)
		return false;
	d = strrchr(a, '@') + 1;
	if (list_has_domain(o->domains, d) ||
	    list_has_domain(o->envelope_domains, d) ||
	    list_has_domain(o->from_domains, d) ||
	    list_has_domain(o->send_as, d))
		r = true;
	for (size_t i = 0; !r && o->send_as != NULL && o->send_as[i]; i++)
		r = strcmp(o->send_as[i], a) == 0;
	free(a);
	return r;
}

const struct pw_org *
pw_orgs_owner(const struct pw_orgs *o, const char *domain)
{
	const struct pw_org *r;

	if (o == NULL)
		return NULL;
	if ((r = domain_find(&o->by_from, domain)) == NULL)
		r = domain_find(&o->by_env, domain);
	/* "domains" set beside explicit envelope_domains and from_domains
	   is in neither index: rare, so a scan. */
	if (r == NULL && domain != NULL && *domain != '\0' && *domain != '.') {
		const char *why;
		char *d = domain_norm(domain, &why);

		for (size_t i = 0; d != NULL && r == NULL && i < o->n; i++)
			if (list_has_domain(o->v[i]->domains, d))
				r = o->v[i];
		free(d);
	}
	return r;
}

const char *
pw_class_name(enum pw_class c)
{
	return (unsigned)c < 4 ? class_names[c] : "?";
}

const char *
pw_class_how_name(enum pw_class_how h)
{
	return (unsigned)h < 4 ? class_how_names[h] : "?";
}

const char *
pw_org_how_name(enum pw_org_how h)
{
	return (unsigned)h < 4 ? org_how_names[h] : "?";
}

int
pw_class_parse(const char *s, enum pw_class *c_r)
{
	int i = enum_parse(setclass_names, s);

	if (i < 0)
		return -1;
	*c_r = (enum pw_class)(i + 1);
	return 0;
}
