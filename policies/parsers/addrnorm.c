/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * addrnorm - canonical recipient addresses for consent lookups.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <idn2.h>

#include "base/util.h"
#include "parsers/addrnorm.h"

#define MAX_LOCAL 64 /* RFC 5321 §4.5.3.1.1 */
#define MAX_DOMAIN 253
#define MAX_ADDR 254 /* RFC 5321 §4.5.3.1.3 path minus <> */

/* atext (RFC 5322 §3.2.3) plus UTF-8 (RFC 6532 §3.2) */
static bool
is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* utf8_ok - well-formed UTF-8, no overlongs or surrogates (RFC 3629) */
static bool
utf8_ok(const unsigned char *s, size_t len)
{
	size_t i = 0, n, k;
	unsigned long cp;

	while (i < len) {
		if (s[i] < 0x80) {
			i++;
			continue;
		}
		if (s[i] >= 0xc2 && s[i] <= 0xdf)
			n = 1, cp = s[i] & 0x1f;
		else if (s[i] >= 0xe0 && s[i] <= 0xef)
			n = 2, cp = s[i] & 0x0f;
		else if (s[i] >= 0xf0 && s[i] <= 0xf4)
			n = 3, cp = s[i] & 0x07;
		else
			return false;
		if (i + n >= len) /* truncated sequence */
			return false;
		for (k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		i += n + 1;
	}
	return true;
}

static bool
is_dot_atom(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || s[0] == '.' || s[len - 1] == '.')
		return false;
	for (i = 0; i < len; i++)
		if (s[i] == '.' ? s[i + 1] == '.'
				: !is_atext((unsigned char)s[i]))
			return false;
	return true;
}

static void
lower_ascii(char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (s[i] >= 'A' && s[i] <= 'Z')
			s[i] = (char)(s[i] - 'A' + 'a');
}

/* quoted_local - "..." at s: unescape into *b; returns the length of the
   quoted string including quotes, or 0 if malformed */
static size_t
quoted_local(const char *s, size_t len, struct pw_buf *b)
{
	size_t i;

	for (i = 1; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '"')
			return i + 1;
		if (c == '\\') {
			/* quoted-pair: VCHAR or WSP (RFC 5321 §4.1.2) */
			if (++i == len || (unsigned char)s[i] < 0x20 ||
			    (unsigned char)s[i] == 0x7f)
				return 0;
			pw_buf_add(b, s + i, 1);
		} else if (c < 0x20 || c == 0x7f) {
			return 0;
		} else {
			pw_buf_add(b, s + i, 1);
		}
	}
	return 0;
}

int
pw_domain_normalise(const char *in, size_t len, char **out_r,
		    const char **error_r)
{
	char *dom, *ace = NULL, *p, *label;
	size_t i;
	int rc;

	if (len == 0) {
		*error_r = "empty domain";
		return -1;
	}
	if (memchr(in, '\0', len) != NULL) {
		*error_r = "NUL in domain";
		return -1;
	}
	dom = pw_strndup(in, len);
	if (dom[0] == '[') {
		/* address literal (RFC 5321 §4.1.3): checked for shape only */
		if (len < 3 || dom[len - 1] != ']' ||
		    strspn(dom + 1, "0123456789abcdefABCDEF:.IPVipv-") !=
			len - 2) {
			free(dom);
			*error_r = "malformed address literal";
			return -1;
		}
		lower_ascii(dom, len);
		*out_r = dom;
		return 0;
	}
	/* ASCII must be letters, digits, '-' and '.' before mapping: UTS #46
	   silently drops some ASCII ('@' among them) under STD3 rules. */
	for (i = 0; i < len; i++)
		if ((unsigned char)dom[i] < 0x80 &&
		    strchr(
			"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
			"0123456789-.",
			dom[i]) == NULL) {
			free(dom);
			*error_r = "bad character in domain";
			return -1;
		}
	/* UTS #46 maps upper case and full-width forms; STD3 keeps LDH. */
	rc = idn2_lookup_u8((const uint8_t *)dom, (uint8_t **)&ace,
			    IDN2_NFC_INPUT | IDN2_NONTRANSITIONAL |
				IDN2_USE_STD3_ASCII_RULES);
	free(dom);
	if (rc != IDN2_OK) {
		*error_r = idn2_strerror(rc);
		return -1;
	}
	len = strlen(ace);
	lower_ascii(ace, len);
	/* libidn2 accepts some shapes a mail domain must not have */
	if (len == 0 || len > MAX_DOMAIN || ace[len - 1] == '.') {
		idn2_free(ace);
		*error_r = "domain is empty, too long or ends with a dot";
		return -1;
	}
	for (label = ace; label != NULL; label = p) {
		size_t l;

		p = strchr(label, '.');
		l = p ? (size_t)(p - label) : strlen(label);
		if (p != NULL)
			p++;
		if (l == 0 || l > 63 || label[0] == '-' ||
		    label[l - 1] == '-' ||
		    strspn(label, "abcdefghijklmnopqrstuvwxyz0123456789-") <
			l) {
			idn2_free(ace);
			*error_r = "bad domain label";
			return -1;
		}
	}
	*out_r = pw_strdup(ace);
	idn2_free(ace);
	return 0;
}

int
pw_addr_normalise(const char *in, size_t len, char **out_r,
		  const char **error_r)
{
	struct pw_buf local = {0};
	const char *at;
	char *dom = NULL;
	size_t qlen;

	/* white space, then one pair of angle brackets */
	while (len > 0 && (*in == ' ' || *in == '\t'))
		in++, len--;
	while (len > 0 && (in[len - 1] == ' ' || in[len - 1] == '\t'))
		len--;
	if (len >= 2 && in[0] == '<' && in[len - 1] == '>')
		in++, len -= 2;
	if (len == 0) {
		*error_r = "empty address";
		return -1;
	}
	if (len > MAX_ADDR + 64) { /* before IDNA mapping; rechecked */
		*error_r = "address too long";
		return -1;
	}
	if (in[0] == '"') {
		if ((qlen = quoted_local(in, len, &local)) == 0 ||
		    qlen == len || in[qlen] != '@') {
			pw_buf_free(&local);
			*error_r = "malformed quoted local part";
			return -1;
		}
		at = in + qlen;
		if (local.len == 0) {
			pw_buf_free(&local);
			*error_r = "empty local part";
			return -1;
		}
	} else {
		if ((at = memchr(in, '@', len)) == NULL) {
			*error_r = "no '@' in address";
			return -1;
		}
		if (!is_dot_atom(in, (size_t)(at - in))) {
			*error_r = at == in ? "empty local part"
					    : "malformed local part";
			return -1;
		}
		pw_buf_add(&local, in, (size_t)(at - in));
	}
	if (pw_domain_normalise(at + 1, len - (size_t)(at + 1 - in), &dom,
				error_r) < 0) {
		pw_buf_free(&local);
		return -1;
	}
	if (!utf8_ok((const unsigned char *)local.data, local.len)) {
		pw_buf_free(&local);
		free(dom);
		*error_r = "local part is not valid UTF-8";
		return -1;
	}
	lower_ascii(local.data, local.len);
	if (is_dot_atom(local.data, local.len)) {
		*out_r = pw_asprintf("%s@%s", local.data, dom);
	} else {
		struct pw_buf q = {0};
		size_t i;

		pw_buf_puts(&q, "\"");
		for (i = 0; i < local.len; i++) {
			if (local.data[i] == '"' || local.data[i] == '\\')
				pw_buf_puts(&q, "\\");
			pw_buf_add(&q, local.data + i, 1);
		}
		pw_buf_printf(&q, "\"@%s", dom);
		*out_r = q.data;
	}
	free(dom);
	pw_buf_free(&local);
	if (strlen(*out_r) > MAX_ADDR ||
	    (size_t)(strrchr(*out_r, '@') - *out_r) > MAX_LOCAL) {
		free(*out_r);
		*out_r = NULL;
		*error_r = "local part over 64 or address over 254 octets";
		return -1;
	}
	return 0;
}
