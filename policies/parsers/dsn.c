/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * dsn - read multipart/report messages (RFC 6522) and delivery status
 * notifications (RFC 3464).  See dsn.h.
 *
 * GMime builds the MIME tree and decodes the parts (a report may come
 * base64 or quoted-printable encoded); the fields of the machine-readable
 * part are read here because GMime 3 gives message/delivery-status no
 * structure of its own.  Bounded: PW_REPORT_MAX_RCPTS groups, field
 * values cut at PW_REPORT_MAX_FIELD bytes, a nesting depth of 8.
 */
#include "autoconf.h"

#include <ctype.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <gmime/gmime.h>

#include "base/util.h"
#include "parsers/dsn.h"

#define RPT_MAX_DEPTH	8
#define RPT_MAX_FIELDS	64	/* per group */

static pthread_once_t gmime_once = PTHREAD_ONCE_INIT;

/* gmime_setup - GMime counts its initialisations: identify.c's and ours
   may both run */
static void
gmime_setup(void)
{
	g_mime_init();
}

/* ---- the machine-readable part -------------------------------------- */

static void
group_add(struct pw_report_group *g, const char *name, size_t nl,
    const char *value, size_t vl)
{
	char *v, *t;

	if (g->n == RPT_MAX_FIELDS)
		return;
	if (vl > PW_REPORT_MAX_FIELD)
		vl = PW_REPORT_MAX_FIELD;
	g->v = pw_realloc(g->v, (g->n + 1) * sizeof(*g->v));
	g->v[g->n].name = pw_strndup(name, nl);
	v = pw_strndup(value, vl);
	/* NUL and control characters never reach a log or a store. */
	for (char *p = v; *p; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	t = pw_trim(v);
	if (t != v)
		memmove(v, t, strlen(t) + 1);
	g->v[g->n].value = v;
	g->n++;
}

/*
 * fields - split text into groups of "Name: value" fields.  Lines that
 * start with white space continue the previous field (RFC 5322 folding);
 * an empty line ends a group.  A line without a colon is skipped.
 */
static void
fields(const char *p, size_t len, struct pw_report *r)
{
	const char *end = p + len;
	struct pw_buf val = {0};
	const char *name = NULL;
	size_t nl = 0;
	bool in_group = false;

#define FLUSH() do { \
	if (name != NULL) \
		group_add(&r->groups[r->ngroups - 1], name, nl, \
		    val.len ? (const char *)val.data : "", val.len); \
	name = NULL; \
	val.len = 0; \
} while (0)

	while (p < end) {
		const char *eol = memchr(p, '\n', (size_t)(end - p));
		const char *le = eol ? eol : end, *colon;

		if (le > p && le[-1] == '\r')
			le--;
		if (le == p) {			/* empty line: group ends */
			FLUSH();
			in_group = false;
		} else if ((*p == ' ' || *p == '\t') && name != NULL) {
			if (val.len < PW_REPORT_MAX_FIELD) {
				pw_buf_add(&val, " ", 1);
				pw_buf_add(&val, p, (size_t)(le - p));
			}
		} else if ((colon = memchr(p, ':', (size_t)(le - p))) != NULL &&
			   colon > p) {
			FLUSH();
			if (!in_group) {
				if (r->ngroups > PW_REPORT_MAX_RCPTS)
					break;
				r->groups = pw_realloc(r->groups,
				    (r->ngroups + 1) * sizeof(*r->groups));
				memset(&r->groups[r->ngroups], 0,
				    sizeof(*r->groups));
				r->ngroups++;
				in_group = true;
			}
			name = p;
			nl = (size_t)(colon - p);
			while (nl > 0 && (name[nl - 1] == ' ' ||
			    name[nl - 1] == '\t'))
				nl--;
			pw_buf_add(&val, colon + 1, (size_t)(le - colon - 1));
		}
		p = eol ? eol + 1 : end;
	}
	FLUSH();
#undef FLUSH
	pw_buf_free(&val);
}

const char *
pw_report_get(const struct pw_report_group *g, const char *name)
{
	for (size_t i = 0; i < g->n; i++)
		if (pw_strcaseeq(g->v[i].name, name))
			return g->v[i].value;
	return NULL;
}

char *
pw_report_addr(const char *typed)
{
	const char *semi, *p;
	size_t l;

	if (typed == NULL || (semi = strchr(typed, ';')) == NULL)
		return NULL;
	while (typed < semi && isspace((unsigned char)*typed))
		typed++;
	/* rfc822 (RFC 3464 §2.3.2); utf-8 (RFC 6533) is an address too */
	if (!pw_strncaseeq(typed, "rfc822", 6) &&
	    !pw_strncaseeq(typed, "utf-8", 5))
		return NULL;
	for (p = semi + 1; isspace((unsigned char)*p); p++)
		;
	if (*p == '<')
		p++;
	l = strcspn(p, "> \t");
	if (l == 0)
		return NULL;
	return pw_strndup(p, l);
}

/* ---- GMime walk ------------------------------------------------------- */

/* part_bytes - the decoded content of a leaf, or the serialised message
   of a message part; malloc'd, NUL-terminated */
static char *
part_bytes(GMimeObject *obj, size_t *len_r)
{
	GMimeStream *s = g_mime_stream_mem_new();
	GByteArray *ba;
	char *out = NULL;

	if (GMIME_IS_PART(obj)) {
		GMimeDataWrapper *w = g_mime_part_get_content(GMIME_PART(obj));

		if (w != NULL && g_mime_data_wrapper_write_to_stream(w, s) < 0)
			goto done;
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(
		    GMIME_MESSAGE_PART(obj));

		if (inner != NULL && g_mime_object_write_to_stream(
		    GMIME_OBJECT(inner), NULL, s) < 0)
			goto done;
	} else
		goto done;
	ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(s));
	*len_r = ba->len;
	out = pw_malloc(ba->len + 1);
	if (ba->len > 0)
		memcpy(out, ba->data, ba->len);
	out[ba->len] = '\0';
done:
	g_object_unref(s);
	return out;
}

/* hdr - one header of a GMime object, unfolded (malloc'd) or NULL */
static char *
hdr(GMimeObject *o, const char *name)
{
	const char *v = g_mime_object_get_header(o, name);
	char *out, *d;

	if (v == NULL)
		return NULL;
	out = pw_strndup(v, strnlen(v, PW_REPORT_MAX_FIELD));
	for (d = out; *d; d++)
		if ((unsigned char)*d < 0x20 || *d == 0x7f)
			*d = ' ';
	d = pw_trim(out);
	if (d != out)
		memmove(out, d, strlen(d) + 1);
	return out;
}

static void
orig_from_object(GMimeObject *o, struct pw_report_orig *orig)
{
	orig->present = true;
	orig->message_id = hdr(o, "Message-ID");
	orig->list_unsubscribe = hdr(o, "List-Unsubscribe");
	orig->from = hdr(o, "From");
	orig->to = hdr(o, "To");
	orig->subject = hdr(o, "Subject");
}

/* original - the returned message or its headers */
static void
original(GMimeObject *obj, struct pw_report_orig *orig)
{
	GMimeParser *p;
	GMimeStream *s;
	GMimeMessage *m;
	char *b;
	size_t len = 0;

	if (GMIME_IS_MESSAGE_PART(obj)) {
		m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
		if (m != NULL)
			orig_from_object(GMIME_OBJECT(m), orig);
		return;
	}
	/* text/rfc822-headers: a header block; an empty line after it
	   makes it a message GMime can read */
	if ((b = part_bytes(obj, &len)) == NULL)
		return;
	s = g_mime_stream_mem_new();
	g_mime_stream_write(s, b, len);
	g_mime_stream_write(s, "\n\n", 2);
	g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET);
	free(b);
	p = g_mime_parser_new_with_stream(s);
	if ((m = g_mime_parser_construct_message(p, NULL)) != NULL) {
		orig_from_object(GMIME_OBJECT(m), orig);
		g_object_unref(m);
	}
	g_object_unref(p);
	g_object_unref(s);
}

static bool
is_type(GMimeObject *o, const char *type)
{
	GMimeContentType *ct = g_mime_object_get_content_type(o);
	const char *slash = strchr(type, '/');
	char t[32];

	if (ct == NULL || slash == NULL || (size_t)(slash - type) >= sizeof(t))
		return false;
	memcpy(t, type, (size_t)(slash - type));
	t[slash - type] = '\0';
	return g_mime_content_type_is_type(ct, t, slash + 1);
}

/* find_report - the multipart/report of report_type, depth-first */
static GMimeMultipart *
find_report(GMimeObject *o, const char *report_type, int depth)
{
	GMimeContentType *ct;
	const char *rt;

	if (depth > RPT_MAX_DEPTH || !GMIME_IS_MULTIPART(o))
		return NULL;
	ct = g_mime_object_get_content_type(o);
	if (ct != NULL && g_mime_content_type_is_type(ct, "multipart",
	    "report")) {
		rt = g_mime_content_type_get_parameter(ct, "report-type");
		return rt != NULL && pw_strcaseeq(rt, report_type) ?
		    GMIME_MULTIPART(o) : NULL;
	}
	/* some providers wrap the report in a multipart/mixed */
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(o));
	    i++) {
		GMimeMultipart *r = find_report(g_mime_multipart_get_part(
		    GMIME_MULTIPART(o), i), report_type, depth + 1);

		if (r != NULL)
			return r;
	}
	return NULL;
}

int
pw_report_parse(const char *msg, size_t len, const char *report_type,
    const char *const *machine_types, struct pw_report *r,
    const char **why_r)
{
	GMimeStream *s;
	GMimeParser *p;
	GMimeMessage *m;
	GMimeMultipart *rep;
	GMimeObject *machine = NULL;
	char *b;
	size_t blen = 0;
	int n, rc = 0;

	memset(r, 0, sizeof(*r));
	pthread_once(&gmime_once, gmime_setup);
	s = g_mime_stream_mem_new();
	if (len > 0)
		g_mime_stream_write(s, msg, len);
	g_mime_stream_seek(s, 0, GMIME_STREAM_SEEK_SET);
	p = g_mime_parser_new_with_stream(s);
	m = g_mime_parser_construct_message(p, NULL);
	g_object_unref(p);
	g_object_unref(s);
	if (m == NULL)
		return 0;
	if (g_mime_message_get_mime_part(m) == NULL ||
	    (rep = find_report(g_mime_message_get_mime_part(m), report_type,
	    0)) == NULL)
		goto out;
	r->report_type = pw_lowercase(pw_strdup(report_type));
	/* RFC 6522 §3: human-readable first, machine-readable second; look
	   at every part all the same, some reporters add a leading one */
	n = g_mime_multipart_get_count(rep);
	for (int i = 0; i < n; i++) {
		GMimeObject *part = g_mime_multipart_get_part(rep, i);

		if (machine == NULL)
			for (const char *const *t = machine_types; *t; t++)
				if (is_type(part, *t)) {
					machine = part;
					break;
				}
		if (!r->orig.present && (is_type(part, "message/rfc822") ||
		    is_type(part, "text/rfc822-headers") ||
		    is_type(part, "message/global") ||
		    is_type(part, "message/global-headers")))
			original(part, &r->orig);
	}
	rc = -1;
	if (machine == NULL) {
		*why_r = "no machine-readable part";
		goto out;
	}
	if ((b = part_bytes(machine, &blen)) == NULL) {
		*why_r = "machine-readable part unreadable";
		goto out;
	}
	fields(b, blen, r);
	free(b);
	if (r->ngroups == 0) {
		*why_r = "machine-readable part holds no fields";
		goto out;
	}
	rc = 1;
out:
	g_object_unref(m);
	return rc;
}

void
pw_report_orig_free(struct pw_report_orig *o)
{
	free(o->message_id);
	free(o->list_unsubscribe);
	free(o->from);
	free(o->to);
	free(o->subject);
	memset(o, 0, sizeof(*o));
}

void
pw_report_free(struct pw_report *r)
{
	for (size_t i = 0; i < r->ngroups; i++) {
		for (size_t j = 0; j < r->groups[i].n; j++) {
			free(r->groups[i].v[j].name);
			free(r->groups[i].v[j].value);
		}
		free(r->groups[i].v);
	}
	free(r->groups);
	free(r->report_type);
	pw_report_orig_free(&r->orig);
	memset(r, 0, sizeof(*r));
}

/* ---- delivery status notifications ------------------------------------ */

/* status_code - "5.1.1 (bad mailbox)" -> "5.1.1", or NULL if malformed
   (RFC 3463: class "." 1*3digit "." 1*3digit) */
static char *
status_code(const char *v)
{
	const char *p = v;
	int parts = 0;

	if (v == NULL || (*p != '2' && *p != '4' && *p != '5') || p[1] != '.')
		return NULL;
	p += 2;
	for (parts = 0; parts < 2; parts++) {
		int d = 0;

		while (isdigit((unsigned char)*p) && d < 3) {
			p++;
			d++;
		}
		if (d == 0)
			return NULL;
		if (parts == 0) {
			if (*p != '.')
				return NULL;
			p++;
		}
	}
	if (*p != '\0' && !isspace((unsigned char)*p) && *p != '(')
		return NULL;
	return pw_strndup(v, (size_t)(p - v));
}

enum pw_dsn_kind
pw_dsn_kind(const char *status)
{
	char *c = status_code(status);
	enum pw_dsn_kind k = PW_DSN_OTHER;

	if (c == NULL)
		return k;
	if (c[0] == '4')
		k = PW_DSN_SOFT;
	else if (c[0] == '5') {
		if (strncmp(c, "5.1.", 4) == 0 || strcmp(c, "5.2.1") == 0)
			k = PW_DSN_HARD;
		else if (strncmp(c, "5.2.", 4) == 0 ||
			 strncmp(c, "5.3.", 4) == 0 ||
			 strncmp(c, "5.4.", 4) == 0)
			k = PW_DSN_SOFT;
	}
	free(c);
	return k;
}

const char *
pw_dsn_kind_name(enum pw_dsn_kind k)
{
	switch (k) {
	case PW_DSN_HARD:
		return "hard";
	case PW_DSN_SOFT:
		return "soft";
	default:
		return "other";
	}
}

static const char *const dsn_types[] = {"message/delivery-status",
    "message/global-delivery-status", NULL};

int
pw_dsn_parse(const char *msg, size_t len, struct pw_dsn *d,
    const char **why_r)
{
	struct pw_report r;
	const char *v;
	int rc;

	memset(d, 0, sizeof(*d));
	rc = pw_report_parse(msg, len, "delivery-status", dsn_types, &r,
	    why_r);
	if (rc == 0)
		rc = pw_report_parse(msg, len, "global-delivery-status",
		    dsn_types, &r, why_r);
	if (rc <= 0) {
		pw_report_free(&r);
		return rc;
	}
	if ((v = pw_report_get(&r.groups[0], "Reporting-MTA")) != NULL)
		d->reporting_mta = pw_strdup(v);
	d->v = pw_calloc(r.ngroups, sizeof(*d->v));
	for (size_t i = 1; i < r.ngroups; i++) {
		const struct pw_report_group *g = &r.groups[i];
		struct pw_dsn_rcpt *x = &d->v[d->n];
		char *addr = pw_report_addr(pw_report_get(g, "Final-Recipient"));

		if (addr == NULL)
			continue;	/* required (§2.3.2); skip the group */
		x->final_rcpt = addr;
		x->original_rcpt = pw_report_addr(pw_report_get(g,
		    "Original-Recipient"));
		if ((v = pw_report_get(g, "Action")) != NULL)
			x->action = pw_lowercase(pw_strdup(v));
		x->status = status_code(pw_report_get(g, "Status"));
		if ((v = pw_report_get(g, "Diagnostic-Code")) != NULL)
			x->diag = pw_strdup(v);
		if (x->action != NULL && strcmp(x->action, "failed") == 0 &&
		    x->status != NULL)
			x->kind = pw_dsn_kind(x->status);
		d->n++;
	}
	d->orig = r.orig;
	memset(&r.orig, 0, sizeof(r.orig));
	pw_report_free(&r);
	if (d->n == 0) {
		*why_r = "no per-recipient group with a Final-Recipient";
		pw_dsn_free(d);
		return -1;
	}
	return 1;
}

void
pw_dsn_free(struct pw_dsn *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->v[i].final_rcpt);
		free(d->v[i].original_rcpt);
		free(d->v[i].action);
		free(d->v[i].status);
		free(d->v[i].diag);
	}
	free(d->v);
	free(d->reporting_mta);
	pw_report_orig_free(&d->orig);
	memset(d, 0, sizeof(*d));
}
