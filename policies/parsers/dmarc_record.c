/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dmarc_record - our own DMARC record parser (see dmarc_record.h).
 *
 * Why not libopendmarc's opendmarc_policy_parse_dmarc(): version 1.4.2
 * refuses a record without p (or with an invalid p) even when it has a
 * valid rua, which RFC 7489 section 6.6.3 (and RFC 9989) treat as
 * p=none, it silently accepts pct=abc, and it knows nothing of the RFC
 * 9989 tags.  The grammar followed here is RFC 7489 section 6.4:
 *
 *   - v=DMARC1 first: the tag name is case-insensitive (an ABNF quoted
 *     string), the value "DMARC1" is exact (%x44 %x4d %x41 %x52 %x43
 *     %x31).  Leading white space is allowed: discarding " v=DMARC1;..."
 *     would fail open.
 *   - tags are separated by *WSP ";" *WSP and written name *WSP "="
 *     *WSP value: "v = DMARC1; p = reject" is a record.
 *   - tag names and the keyword values (none, r, s, y...) are
 *     case-insensitive; tags after v come in any order (RFC 9989 drops
 *     the order the RFC 7489 ABNF had for p).
 *   - unknown tags, and terms that are no tag at all, are ignored (RFC
 *     7489 6.3: "Unknown tags MUST be ignored"); a repeated tag keeps its
 *     first value.
 */
#include "autoconf.h"

#include <string.h>
#include <strings.h>

#include "parsers/dmarc_record.h"

struct span {
	const char	*s;
	size_t		 len;
};

static bool
is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

static bool
is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool
is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static char
lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static struct span
trim(const char *s, size_t len)
{
	while (len > 0 && is_wsp(*s)) {
		s++;
		len--;
	}
	while (len > 0 && is_wsp(s[len - 1]))
		len--;
	return (struct span){s, len};
}

/* is - case-insensitive comparison with a lowercase keyword */
static bool
is(struct span v, const char *word)
{
	size_t n = strlen(word);

	if (v.len != n)
		return false;
	for (size_t i = 0; i < n; i++)
		if (lower(v.s[i]) != word[i])
			return false;
	return true;
}

/* policy - none / quarantine / reject, else UNSET */
static enum pw_dmarc_policy
policy(struct span v)
{
	return is(v, "none") ? PW_DMARC_P_NONE :
	    is(v, "quarantine") ? PW_DMARC_P_QUARANTINE :
	    is(v, "reject") ? PW_DMARC_P_REJECT : PW_DMARC_P_UNSET;
}

/*
 * uri_ok - one DMARC-URI (RFC 7489 6.4): URI [ "!" 1*DIGIT [ "k" / "m" /
 * "g" / "t" ] ].  The URI is checked as far as RFC 3986 section 3.1
 * goes (a scheme, ":", something after it) and for characters a URI
 * cannot hold unencoded (controls, space, 8-bit, and the "," and ";"
 * that RFC 7489 says must be encoded here).  Good enough to tell "a
 * reporting address was meant" from garbage, which is what 6.6.3 asks.
 */
static bool
uri_ok(struct span u)
{
	size_t end = u.len, i;

	for (i = u.len; i > 0; i--)
		if (u.s[i - 1] == '!')
			break;
	if (i > 0) {			/* size limit after the last "!" */
		size_t k = i;

		end = i - 1;
		if (k >= u.len || !is_digit(u.s[k]))
			return false;
		while (k < u.len && is_digit(u.s[k]))
			k++;
		if (k < u.len && strchr("kmgt", lower(u.s[k])) != NULL &&
		    u.s[k] != '\0')
			k++;
		if (k != u.len)
			return false;
	}
	if (end == 0 || !is_alpha(u.s[0]))
		return false;
	for (i = 1; i < end && u.s[i] != ':'; i++)
		if (!is_alpha(u.s[i]) && !is_digit(u.s[i]) &&
		    u.s[i] != '+' && u.s[i] != '-' && u.s[i] != '.')
			return false;
	if (i >= end - 1)		/* no ":" or nothing after it */
		return false;
	for (; i < end; i++) {
		unsigned char c = (unsigned char)u.s[i];

		if (c <= 0x20 || c >= 0x7f || c == ',' || c == ';')
			return false;
	}
	return true;
}

/* uri_list - how many of the comma-separated DMARC-URIs are valid */
static unsigned int
uri_list(struct span v)
{
	unsigned int n = 0;
	size_t start = 0;

	for (size_t i = 0; i <= v.len; i++) {
		if (i < v.len && v.s[i] != ',')
			continue;
		if (uri_ok(trim(v.s + start, i - start)))
			n++;
		start = i + 1;
	}
	return n;
}

/* pct - 1*3DIGIT, 0 to 100 (RFC 7489 6.3); -1 otherwise */
static int
pct(struct span v)
{
	int n = 0;

	if (v.len == 0 || v.len > 3)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (!is_digit(v.s[i]))
			return -1;
		n = n * 10 + (v.s[i] - '0');
	}
	return n <= 100 ? n : -1;
}

enum tag {
	T_P, T_SP, T_NP, T_ADKIM, T_ASPF, T_PCT, T_PSD, T_T, T_RUA, T_RUF,
	T_FO, T_RF, T_RI, T_V, T_UNKNOWN
};

static const char *const tag_names[] = {
	"p", "sp", "np", "adkim", "aspf", "pct", "psd", "t", "rua", "ruf",
	"fo", "rf", "ri", "v",
};

/* tag - the term's name; its value in *val_r.  T_UNKNOWN also for a term
   that is no name=value at all */
static enum tag
tag(struct span term, struct span *val_r)
{
	const char *eq = memchr(term.s, '=', term.len);
	struct span name;
	size_t i;

	if (eq == NULL)
		return T_UNKNOWN;
	name = trim(term.s, (size_t)(eq - term.s));
	*val_r = trim(eq + 1, term.len - (size_t)(eq - term.s) - 1);
	if (name.len == 0 || !is_alpha(name.s[0]))
		return T_UNKNOWN;
	for (i = 1; i < name.len; i++)
		if (!is_alpha(name.s[i]) && !is_digit(name.s[i]) &&
		    name.s[i] != '_')
			return T_UNKNOWN;
	for (i = 0; i < sizeof(tag_names) / sizeof(*tag_names); i++)
		if (is(name, tag_names[i]))
			return (enum tag)i;
	return T_UNKNOWN;
}

/* version - the first term is v=DMARC1; the offset after it, or 0 */
static size_t
version(const char *txt, size_t len)
{
	size_t i = 0;

	while (i < len && is_wsp(txt[i]))
		i++;
	if (i >= len || lower(txt[i]) != 'v')
		return 0;
	for (i++; i < len && is_wsp(txt[i]); i++)
		;
	if (i >= len || txt[i] != '=')
		return 0;
	for (i++; i < len && is_wsp(txt[i]); i++)
		;
	if (len - i < 6 || memcmp(txt + i, "DMARC1", 6) != 0)
		return 0;
	for (i += 6; i < len && is_wsp(txt[i]); i++)
		;
	if (i < len && txt[i] != ';')
		return 0;		/* "v=DMARC1p=reject", "v=DMARC10" */
	return i;
}

int
pw_dmarc_record_parse(const char *txt, size_t len,
    struct pw_dmarc_record *rec)
{
	unsigned int seen = 0;
	size_t i, start;

	memset(rec, 0, sizeof(*rec));
	rec->pct = 100;
	rec->psd = 'u';
	if (txt == NULL || (i = version(txt, len)) == 0)
		return -1;
	seen = 1u << T_V;
	for (start = ++i; i <= len; i++) {
		struct span term, val = {NULL, 0};
		enum tag t;
		int n;

		if (i < len && txt[i] != ';')
			continue;
		term = trim(txt + start, i - start);
		start = i + 1;
		if (term.len == 0)
			continue;	/* ";;" or a trailing ";" */
		if ((t = tag(term, &val)) == T_UNKNOWN) {
			rec->unknown++;
			continue;
		}
		if (seen & (1u << t)) {
			rec->dups++;
			continue;
		}
		seen |= 1u << t;
		switch (t) {
		case T_P:
			if ((rec->p = policy(val)) == PW_DMARC_P_UNSET)
				rec->bad |= PW_DMARC_BAD_P;
			break;
		case T_SP:
			if ((rec->sp = policy(val)) == PW_DMARC_P_UNSET)
				rec->bad |= PW_DMARC_BAD_SP;
			break;
		case T_NP:
			if ((rec->np = policy(val)) == PW_DMARC_P_UNSET)
				rec->bad |= PW_DMARC_BAD_NP;
			break;
		case T_ADKIM:
		case T_ASPF:
			if (!is(val, "r") && !is(val, "s"))
				rec->bad |= t == T_ADKIM ? PW_DMARC_BAD_ADKIM :
							   PW_DMARC_BAD_ASPF;
			else if (t == T_ADKIM)
				rec->adkim_strict = is(val, "s");
			else
				rec->aspf_strict = is(val, "s");
			break;
		case T_PCT:
			if ((n = pct(val)) < 0)
				rec->bad |= PW_DMARC_BAD_PCT;
			else
				rec->pct = n;
			break;
		case T_PSD:
			if (is(val, "y") || is(val, "n") || is(val, "u"))
				rec->psd = lower(val.s[0]);
			else
				rec->bad |= PW_DMARC_BAD_PSD;
			break;
		case T_T:
			if (is(val, "y") || is(val, "n"))
				rec->testing = is(val, "y");
			else
				rec->bad |= PW_DMARC_BAD_T;
			break;
		case T_RUA:
			rec->rua = (struct pw_dmarc_span){val.s, val.len};
			if ((rec->rua_valid = uri_list(val)) == 0)
				rec->bad |= PW_DMARC_BAD_RUA;
			break;
		case T_RUF:
			rec->ruf = (struct pw_dmarc_span){val.s, val.len};
			if ((rec->ruf_valid = uri_list(val)) == 0)
				rec->bad |= PW_DMARC_BAD_RUF;
			break;
		default:	/* fo, rf, ri: no effect on the outcome */
			break;
		}
	}
	return 0;
}

bool
pw_dmarc_report_subject(const char *s)
{
	static const char id[] = "report-id:";

	if (s == NULL)
		return false;
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	if (strncasecmp(s, "Report", 6) != 0 || (s[6] != ' ' &&
	    s[6] != '\t' && s[6] != '\r' && s[6] != '\n'))
		return false;
	for (s += 6; *s == ' ' || *s == '\t' || *s == '\r' || *s == '\n'; s++)
		;
	if (strncasecmp(s, "Domain:", 7) != 0)
		return false;
	for (s += 7; *s != '\0'; s++)
		if (strncasecmp(s, id, sizeof(id) - 1) == 0)
			return true;
	return false;
}
