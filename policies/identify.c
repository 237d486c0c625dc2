/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * identify - sender identification in commercial mail (compliance-rules.md
 * R8; CASL s.6(2)(a)-(b), CRTC Regs s.2 and s.3(1)).
 *
 * Every text/plain and text/html part of a commercial message (decoded
 * from quoted-printable or base64 and converted to UTF-8 by GMime 3) must
 * show the organisation's business name, its mailing address and one
 * contact item (phone, email or web address), or link to its registered
 * identification page (CRTC Regs s.2(2)).  Each part is checked because a
 * reader sees only one alternative (RFC 2046 §5.1.4).  Attachments and
 * embedded messages are not the message's own text and are skipped.
 *
 * Matching compares letters and digits only, after Unicode compatibility
 * decomposition and case folding: case, white space and line breaks,
 * punctuation, accents, HTML tags and entities between or inside words do
 * not matter ("ACME&nbsp;<b>Widgets</b>, Inc" matches "Acme Widgets Inc.").
 * Text inside <script>, <style> and comments is not visible and does not
 * count; URLs (contact_url, identification_url) may also appear in tag
 * attributes (href).  A phone number matches on its digits; a "+1" number
 * also matches without the country code.
 *
 * Missing: identification_mode = enforce rejects with 550 5.7.1 naming
 * what is missing in which part; warn logs it.  Runs after pol_classify
 * (msg->comply) for classes commercial and transactional: CASL s.6(6)
 * exempts transactional messages from consent only, not from the
 * identification of s.6(2) (compliance-rules.md R8: "every CEM, including
 * 6(6)").  Class other (not a CEM) is not checked.
 *
 * GMime is initialised once per process (pthread_once) and never shut
 * down, so configuration reloads are safe; parsing uses per-message
 * objects only.
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "base/config.h"
#include "base/log.h"
#include "compliance/org.h"
#include "comply.h"
#include "policy.h"
#include "snapshot.h"

#define IDF_MAX_DEPTH	16	/* multipart nesting we follow */
#define IDF_REPLY_MAX	400	/* reply text budget (RFC 5321 §4.5.3.1.5) */

struct idf_settings {
	long	max_parts;
};

static const struct pw_setting idf_settings_tab[] = {
    PW_SET_INT("identify_max_parts", "100", 1, 10000, struct idf_settings,
	max_parts),
    PW_SET_END,
};

struct idf_conf {
	long	max_parts;
};

/* What one organisation's profile looks like after normalisation. */
struct needles {
	char	*name, *address, *phone, *phone_national, *email, *url, *page;
};

/* Walk state for one message. */
struct walk {
	const struct needles	*nd;
	long			 max_parts;
	long			 nparts;	/* text parts seen */
	struct pw_buf		 missing;	/* "text/html: ...; ..." */
	bool			 too_many;
};

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* gmime_setup - g_mime_init() exactly once per process */
static void
gmime_setup(void)
{
	g_mime_init();
}

static int
idf_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct idf_settings *s = vs;
	struct idf_conf *c;

	(void)error_r;
	/* Without organisations (pol_classify's key) nothing is commercial
	   and the body need not be kept for us: stay idle.  The key is
	   unset when pw_config_where() names the file without a line. */
	if (pw_services(cfg)->orgs == NULL)
		return 0;
	pthread_once(&gmime_once, gmime_setup);
	c = pw_calloc(1, sizeof(*c));
	c->max_parts = s->max_parts;
	*conf_r = c;
	return 0;
}

static void
idf_deinit(void *conf)
{
	free(conf);	/* GMime stays initialised: other snapshots use it */
}

/* norm - letters and digits only, NFKD, case-folded; malloc'd */
static char *
norm(const char *s)
{
	char *valid = g_utf8_make_valid(s, -1);
	char *nfkd = g_utf8_normalize(valid, -1, G_NORMALIZE_ALL);
	char *fold = g_utf8_casefold(nfkd ? nfkd : "", -1);
	struct pw_buf b = {0};

	/* Marks left by the decomposition (accents) are not alnum: "é"
	   compares as "e". */
	for (const char *p = fold; *p; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_isalnum(c))
			pw_buf_add(&b, p, (size_t)(g_utf8_next_char(p) - p));
	}
	g_free(valid);
	g_free(nfkd);
	g_free(fold);
	return b.data ? b.data : pw_strdup("");
}

/* url_norm - a URL without its scheme, normalised */
static char *
url_norm(const char *u)
{
	const char *p = strstr(u, "://");

	return norm(p ? p + 3 : u);
}

/* digits - the digits of a phone number; malloc'd */
static char *
digits(const char *s)
{
	struct pw_buf b = {0};

	for (; *s; s++)
		if (*s >= '0' && *s <= '9')
			pw_buf_add(&b, s, 1);
	return b.data ? b.data : pw_strdup("");
}

static void
needles_build(struct needles *n, const struct pw_org *o)
{
	memset(n, 0, sizeof(*n));
	n->name = o->business_name ? norm(o->business_name) : NULL;
	n->address = o->mailing_address ? norm(o->mailing_address) : NULL;
	n->email = o->contact_email ? norm(o->contact_email) : NULL;
	n->url = o->contact_url ? url_norm(o->contact_url) : NULL;
	n->page = o->identification_url ? url_norm(o->identification_url) :
					  NULL;
	if (o->contact_phone != NULL) {
		n->phone = digits(o->contact_phone);
		/* NANP: "+1 416 555 0100" is printed "(416) 555-0100". */
		if (strncmp(o->contact_phone + strspn(o->contact_phone, " \t"),
		    "+1", 2) == 0 &&
		    strlen(n->phone) == 11)
			n->phone_national = pw_strdup(n->phone + 1);
	}
}

static void
needles_free(struct needles *n)
{
	free(n->name);
	free(n->address);
	free(n->phone);
	free(n->phone_national);
	free(n->email);
	free(n->url);
	free(n->page);
}

/* has - needle set, non-empty and found */
static bool
has(const char *hay, const char *needle)
{
	return needle != NULL && *needle != '\0' && strstr(hay, needle) != NULL;
}

/* Entities that map to letters or white space; others decode to nothing
   visible for matching (&copy;, &reg;...).  Accented Latin letters
   (&eacute;) decode to their base letter: accents are ignored anyway. */
static const struct {
	const char	*name;
	const char	*text;
} entities[] = {
    {"amp", "&"}, {"lt", "<"}, {"gt", ">"}, {"quot", "\""}, {"apos", "'"},
    {"nbsp", " "}, {"ensp", " "}, {"emsp", " "}, {"thinsp", " "},
    {"shy", ""}, {"ndash", "-"}, {"mdash", "-"}, {"szlig", "ss"},
    {"aelig", "ae"}, {"AElig", "AE"}, {"oelig", "oe"}, {"OElig", "OE"},
    {"oslash", "o"}, {"Oslash", "O"}, {"eth", "d"}, {"ETH", "D"},
    {"thorn", "th"}, {"THORN", "TH"}, {NULL, NULL},
};

static const char *const accents[] = {"grave", "acute", "circ", "tilde",
    "uml", "ring", "cedil", NULL};

/* entity - decode "&...;" at p into b; returns bytes consumed */
static size_t
entity(const char *p, struct pw_buf *b)
{
	const char *semi;
	size_t n;

	if ((semi = strchr(p, ';')) == NULL || semi - p > 32 || semi == p + 1) {
		pw_buf_add(b, "&", 1);
		return 1;
	}
	n = (size_t)(semi - p - 1);
	if (p[1] == '#') {
		char *end, ubuf[8];
		bool hex = p[2] == 'x' || p[2] == 'X';
		unsigned long cp = strtoul(p + 2 + hex, &end, hex ? 16 : 10);

		/* Valid scalar values only (no NUL, no surrogates). */
		if (end == semi && cp > 0 && cp <= 0x10FFFF &&
		    !(cp >= 0xD800 && cp <= 0xDFFF))
			pw_buf_add(b, ubuf,
			    (size_t)g_unichar_to_utf8((gunichar)cp, ubuf));
		return n + 2;
	}
	for (size_t i = 0; entities[i].name; i++)
		if (strlen(entities[i].name) == n &&
		    strncmp(p + 1, entities[i].name, n) == 0) {
			pw_buf_puts(b, entities[i].text);
			return n + 2;
		}
	for (size_t i = 0; accents[i]; i++)
		if (n == strlen(accents[i]) + 1 &&
		    strncmp(p + 2, accents[i], n - 1) == 0 &&
		    g_ascii_isalpha(p[1])) {
			pw_buf_add(b, p + 1, 1);
			return n + 2;
		}
	return n + 2;	/* unknown named entity: a symbol, drop it */
}

/* skip_to - past the first case-insensitive occurrence of end, or to NUL */
static const char *
skip_to(const char *p, const char *end)
{
	size_t n = strlen(end);

	for (; *p; p++)
		if (g_ascii_strncasecmp(p, end, n) == 0)
			return p + n;
	return p;
}

/* html_text - visible text and, separately, everything including tag
   attributes (for links); entities decoded in both */
static void
html_text(const char *s, struct pw_buf *vis, struct pw_buf *all)
{
	const char *p = s;

	while (*p) {
		if (p[0] == '<' && strncmp(p, "<!--", 4) == 0) {
			p = skip_to(p + 4, "-->");
		} else if (p[0] == '<' &&
			   (g_ascii_strncasecmp(p, "<script", 7) == 0 ||
			    g_ascii_strncasecmp(p, "<style", 6) == 0)) {
			p = skip_to(p, g_ascii_strncasecmp(p, "<script", 7) ==
			    0 ? "</script" : "</style");
			p = skip_to(p, ">");
		} else if (p[0] == '<' && (g_ascii_isalpha(p[1]) ||
			   p[1] == '/' || p[1] == '!' || p[1] == '?')) {
			/* A tag: its attributes count for links only.  A
			   tag separates words in the display. */
			const char *q = p + 1;

			while (*q && *q != '>') {
				if (*q == '&')
					q += entity(q, all);
				else
					pw_buf_add(all, q++, 1);
			}
			pw_buf_add(all, " ", 1);
			pw_buf_add(vis, " ", 1);
			p = *q ? q + 1 : q;
		} else if (p[0] == '&') {
			size_t before = vis->len, k = entity(p, vis);

			if (vis->len > before)
				pw_buf_add(all, vis->data + before,
				    vis->len - before);
			p += k;
		} else {
			pw_buf_add(vis, p, 1);
			pw_buf_add(all, p++, 1);
		}
	}
}

/* check_text - one decoded part; appends what is missing to w->missing */
static void
check_text(struct walk *w, const char *type, const char *text, bool html)
{
	const struct needles *nd = w->nd;
	struct pw_buf vis = {0}, all = {0};
	char *hv, *ha;
	bool name, addr, contact;

	if (html) {
		html_text(text, &vis, &all);
		hv = norm(vis.data ? vis.data : "");
		ha = norm(all.data ? all.data : "");
		pw_buf_free(&vis);
		pw_buf_free(&all);
	} else {
		hv = norm(text);
		ha = pw_strdup(hv);
	}
	name = has(hv, nd->name);
	addr = has(hv, nd->address);
	contact = has(hv, nd->phone) || has(hv, nd->phone_national) ||
		  has(ha, nd->email) || has(ha, nd->url);
	/* CRTC Regs s.2(2): a link to a page with the information. */
	if (!(name && addr && contact) && !has(ha, nd->page)) {
		pw_buf_printf(&w->missing, "%s%s: %s%s%s", w->missing.len ?
		    "; " : "", type, name ? "" : "business name, ",
		    addr ? "" : "mailing address, ",
		    contact ? "" : "contact (phone, email or web address), ");
		w->missing.len -= 2;	/* the last ", " */
		w->missing.data[w->missing.len] = '\0';
	}
	free(hv);
	free(ha);
}

/* walk_part - every text part under obj, depth first */
static void
walk_part(struct walk *w, GMimeObject *obj, int depth)
{
	GMimeContentType *ct;
	const char *disp;
	char *text;

	if (obj == NULL || depth > IDF_MAX_DEPTH)
		return;
	if (GMIME_IS_MULTIPART(obj)) {
		int n = g_mime_multipart_get_count(GMIME_MULTIPART(obj));

		for (int i = 0; i < n && !w->too_many; i++)
			walk_part(w, g_mime_multipart_get_part(
			    GMIME_MULTIPART(obj), i), depth + 1);
		return;
	}
	/* message/rfc822 is someone else's message; other types are not
	   text a reader sees. */
	if (!GMIME_IS_TEXT_PART(obj))
		return;
	disp = g_mime_object_get_disposition(obj);
	if (disp != NULL && g_ascii_strcasecmp(disp, "attachment") == 0)
		return;
	ct = g_mime_object_get_content_type(obj);
	if (!g_mime_content_type_is_type(ct, "text", "plain") &&
	    !g_mime_content_type_is_type(ct, "text", "html"))
		return;
	if (++w->nparts > w->max_parts) {
		w->too_many = true;
		return;
	}
	text = g_mime_text_part_get_text(GMIME_TEXT_PART(obj));
	check_text(w, g_mime_content_type_is_type(ct, "text", "html") ?
	    "text/html" : "text/plain", text ? text : "",
	    g_mime_content_type_is_type(ct, "text", "html"));
	g_free(text);
}

/* feed - body chunk callback: append to a GMime memory stream */
static int
feed(void *ctx, const unsigned char *p, size_t len)
{
	return g_mime_stream_write(ctx, (const char *)p, len) ==
		       (ssize_t)len ? 0 : -1;
}

/* parse - the MIME headers and the buffered body as one GMime message */
static GMimeMessage *
parse(struct pw_msg *m)
{
	static const char *const mime_hdrs[] = {"MIME-Version",
	    "Content-Type", "Content-Transfer-Encoding", NULL};
	GMimeStream *s = g_mime_stream_mem_new();
	GMimeParser *p;
	GMimeMessage *msg = NULL;
	struct pw_buf h = {0};

	/* Only the headers that shape the MIME tree; the rest could be
	   large and say nothing about the body. */
	for (size_t i = 0; i < m->hdrs.n; i++)
		for (const char *const *n = mime_hdrs; *n; n++)
			if (pw_strcaseeq(m->hdrs.v[i].name, *n))
				pw_buf_printf(&h, "%s:%s\r\n",
				    m->hdrs.v[i].name, m->hdrs.v[i].value);
	/* Never an empty header block: the first body line must not be
	   taken for a header. */
	pw_buf_puts(&h, "X-Postwarden: parse\r\n\r\n");
	if (g_mime_stream_write(s, h.data, h.len) != (ssize_t)h.len ||
	    pw_msg_body_foreach(m, feed, s) < 0) {
		pw_buf_free(&h);
		g_object_unref(s);
		return NULL;
	}
	pw_buf_free(&h);
	g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET);
	p = g_mime_parser_new_with_stream(s);
	msg = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	return msg;
}

/* verdict - act on what is missing, per the organisation's mode */
static enum pw_verdict
verdict(struct pw_msg *m, const struct pw_org *o, const char *missing)
{
	bool enforce = o->mode[PW_RULE_IDENT] == PW_MODE_ENFORCE;

	pw_warn(m, "identify: %s: CASL identification missing: %s%s",
	    o->name, missing, enforce ? "" : " (warn only)");
	pw_msg_summary(m, "ident=missing%s", enforce ? "" : "(warn)");
	if (!enforce)
		return PW_DUNNO;
	pw_comply_refused(m, "identification_missing", 1);
	pw_msg_reply(m, "550", "5.7.1", "%s message lacks sender "
	    "identification (CASL, CRTC Regs s.2): %.*s",
	    pw_class_name(m->comply.class), IDF_REPLY_MAX, missing);
	return PW_REJECT;
}

static enum pw_verdict
idf_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	struct idf_conf *c = call->conf;
	const struct pw_org *o = m->comply.org;
	struct walk w = {0};
	struct needles nd;
	GMimeMessage *msg;
	enum pw_verdict v = PW_DUNNO;

	if (o == NULL || (m->comply.class != PW_CLASS_COMMERCIAL &&
	    m->comply.class != PW_CLASS_TRANSACTIONAL) ||
	    o->mode[PW_RULE_IDENT] == PW_MODE_OFF)
		return PW_DUNNO;
	if ((msg = parse(m)) == NULL) {
		pw_warn(m, "identify: body could not be read");
		pw_msg_defer_if_permit(m, "body could not be read, try again "
		    "later");
		return PW_DUNNO;
	}
	needles_build(&nd, o);
	w.nd = &nd;
	w.max_parts = c->max_parts;
	walk_part(&w, g_mime_message_get_mime_part(msg), 0);
	if (w.too_many)
		v = verdict(m, o, "too many text parts to check");
	else if (w.nparts == 0)
		v = verdict(m, o, "no text/plain or text/html part");
	else if (w.missing.len > 0)
		v = verdict(m, o, w.missing.data);
	else
		pw_msg_summary(m, "ident=ok");
	pw_buf_free(&w.missing);
	needles_free(&nd);
	g_object_unref(msg);
	return v;
}

const struct pw_policy pol_identify = {
    .name = "identify",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_HEADERS | PW_NEED_BODY_BUFFER,
    .dirs = PW_DIR_OUT,
    .settings = idf_settings_tab,
    .settings_size = sizeof(struct idf_settings),
    .init = idf_init,
    .deinit = idf_deinit,
    .eom = idf_eom,
};
