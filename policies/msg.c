/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * msg - per-message state, replies, verdict combination and the header
 * edit list.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "msg.h"
#include "policy.h"

/* msg_qid - the queue ID for log lines (base/log.h cannot see pw_msg) */
static const char *
msg_qid(const struct pw_msg *m)
{
	return m->qid;
}

__attribute__((constructor)) static void
msg_log_init(void)
{
	pw_log_set_msg_qid(msg_qid);
}

struct pw_msg *
pw_msg_new(const struct pw_config *cfg, const struct pw_client *client)
{
	struct pw_arena *arena = pw_arena_new(16384);
	struct pw_msg *m = pw_arena_alloc(arena, sizeof(*m));

	m->arena = arena;
	m->cfg = cfg;
	m->client = client;
	m->qid = "NOQUEUE";
	m->edits_tail = &m->edits;
	return m;
}

void
pw_msg_free(struct pw_msg **mp)
{
	struct pw_msg *m = *mp;
	struct pw_arena *arena;

	if (m == NULL)
		return;
	free(m->hdrs.v);
	free(m->rcpts);
	free(m->delrcpts);
	pw_buf_free(&m->body.mem);
	if (m->body.spill != NULL)
		fclose(m->body.spill);
	pw_buf_free(&m->summary);
	arena = m->arena;
	pw_arena_free(&arena);
	*mp = NULL;
}

void
pw_msg_set_qid(struct pw_msg *m, const char *qid)
{
	if (qid != NULL && *qid != '\0')
		m->qid = pw_arena_strdup(m->arena, qid);
}

const char *
pw_msg_strip_angle(struct pw_msg *m, const char *a)
{
	size_t len;

	while (*a == ' ' || *a == '\t')
		a++;
	len = strlen(a);
	while (len > 0 && (a[len - 1] == ' ' || a[len - 1] == '\t'))
		len--;
	if (len >= 2 && a[0] == '<' && a[len - 1] == '>') {
		a++;
		len -= 2;
	}
	return pw_arena_strndup(m->arena, a, len);
}

void
pw_msg_add_rcpt(struct pw_msg *m, const char *rcpt)
{
	if (m->nrcpts == m->rcpts_cap) {
		m->rcpts_cap = m->rcpts_cap ? m->rcpts_cap * 2 : 4;
		m->rcpts = pw_realloc(m->rcpts,
		    m->rcpts_cap * sizeof(*m->rcpts));
	}
	m->rcpts[m->nrcpts++] = (char *)pw_msg_strip_angle(m, rcpt);
}

bool
pw_msg_add_hdr(struct pw_msg *m, const char *name, const char *value)
{
	size_t len = strlen(name) + strlen(value) + 3;

	if (m->hdrs_truncated ||
	    m->hdr_bytes + len > (size_t)m->cfg->core.max_header_bytes) {
		m->hdrs_truncated = true;
		return false;
	}
	m->hdr_bytes += len;
	if (m->hdrs.n == m->hdrs.cap) {
		m->hdrs.cap = m->hdrs.cap ? m->hdrs.cap * 2 : 32;
		m->hdrs.v = pw_realloc(m->hdrs.v,
		    m->hdrs.cap * sizeof(*m->hdrs.v));
	}
	m->hdrs.v[m->hdrs.n].name = pw_arena_strdup(m->arena, name);
	m->hdrs.v[m->hdrs.n].value = pw_arena_strdup(m->arena, value);
	m->hdrs.n++;
	return true;
}

/* body_spill - move the in-memory body to an unlinked temporary file */
static int
body_spill(struct pw_msg *m)
{
	char *path = pw_asprintf("%s/postwarden.XXXXXX",
	    m->cfg->core.temp_dir);
	int fd = mkstemp(path);

	if (fd < 0) {
		pw_warn(m, "cannot create %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	unlink(path);
	free(path);
	m->body.spill = fdopen(fd, "w+");
	if (m->body.spill == NULL) {
		close(fd);
		return -1;
	}
	if (m->body.mem.len > 0 &&
	    fwrite(m->body.mem.data, 1, m->body.mem.len, m->body.spill) !=
		m->body.mem.len)
		return -1;
	pw_buf_free(&m->body.mem);
	return 0;
}

void
pw_msg_add_body(struct pw_msg *m, const unsigned char *p, size_t len)
{
	m->body.len += len;
	if (m->body.spill == NULL &&
	    m->body.mem.len + len > (size_t)m->cfg->core.body_memory_limit &&
	    body_spill(m) < 0) {
		/* Keep it in memory: slower, but nothing is lost. */
		pw_warn(m, "body spill failed; keeping %zu bytes in memory",
		    m->body.len);
	}
	if (m->body.spill != NULL) {
		if (fwrite(p, 1, len, m->body.spill) != len)
			pw_warn(m, "body spill write: %s", strerror(errno));
		return;
	}
	pw_buf_add(&m->body.mem, p, len);
}

int
pw_msg_body_foreach(struct pw_msg *m,
    int (*fn)(void *, const unsigned char *, size_t), void *ctx)
{
	unsigned char buf[65536];
	size_t n;

	if (m->body.spill == NULL)
		return m->body.mem.len > 0 ?
		    fn(ctx, (unsigned char *)m->body.mem.data, m->body.mem.len) :
		    0;
	if (fflush(m->body.spill) != 0 || fseek(m->body.spill, 0, SEEK_SET))
		return -1;
	while ((n = fread(buf, 1, sizeof(buf), m->body.spill)) > 0)
		if (fn(ctx, buf, n) < 0)
			return -1;
	return ferror(m->body.spill) ? -1 : 0;
}

const struct pw_hdr *
pw_msg_hdr(const struct pw_msg *m, const char *name)
{
	for (size_t i = 0; i < m->hdrs.n; i++)
		if (pw_strcaseeq(m->hdrs.v[i].name, name))
			return &m->hdrs.v[i];
	return NULL;
}

size_t
pw_msg_hdr_count(const struct pw_msg *m, const char *name)
{
	size_t n = 0;

	for (size_t i = 0; i < m->hdrs.n; i++)
		if (pw_strcaseeq(m->hdrs.v[i].name, name))
			n++;
	return n;
}

void
pw_msg_reply(struct pw_msg *m, const char *rcode, const char *xcode,
    const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = pw_vasprintf(fmt, ap);
	va_end(ap);
	m->reply.rcode = pw_arena_strdup(m->arena, rcode);
	m->reply.xcode = pw_arena_strdup(m->arena, xcode);
	m->reply.text = pw_arena_strdup(m->arena, s);
	free(s);
}

void
pw_msg_defer_if_permit(struct pw_msg *m, const char *fmt, ...)
{
	va_list ap;
	char *s;

	if (m->defer)
		return;		/* the first reason is the one we give */
	va_start(ap, fmt);
	s = pw_vasprintf(fmt, ap);
	va_end(ap);
	m->defer = true;
	m->defer_reply.rcode = "451";
	m->defer_reply.xcode = "4.7.1";
	m->defer_reply.text = pw_arena_strdup(m->arena, s);
	free(s);
}

enum pw_verdict
pw_msg_decide(struct pw_msg *m, enum pw_verdict v)
{
	switch (v) {
	case PW_DUNNO:
		return PW_DUNNO;
	case PW_QUARANTINE:
		m->verdict = PW_QUARANTINE;	/* sticky; keep checking */
		return PW_DUNNO;
	case PW_TEMPFAIL:
	case PW_REJECT:
		if (m->reply.rcode == NULL)
			pw_panic("%s: policy %s: verdict %d without a reply",
			    m->qid, m->current ? m->current->name : "?", v);
		/* FALLTHROUGH */
	case PW_ACCEPT:
	case PW_DISCARD:
		m->verdict = v;
		return v;
	}
	pw_panic("%s: unknown verdict %d", m->qid, v);
}

void
pw_msg_summary(struct pw_msg *m, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = pw_vasprintf(fmt, ap);
	va_end(ap);
	pw_buf_puts(&m->summary, " ");
	pw_buf_puts(&m->summary, s);
	free(s);
}

/* edit_new - append one edit to the list */
static void
edit_new(struct pw_msg *m, enum pw_edit_op op, const char *name, int index,
    const char *value)
{
	struct pw_edit *e = pw_arena_alloc(m->arena, sizeof(*e));

	e->op = op;
	e->name = pw_arena_strdup(m->arena, name);
	/* Values are kept raw, as received headers are (SMFIP_HDR_LEADSPC):
	   with the one space after the colon. */
	if (value == NULL)
		e->value = NULL;
	else if (*value == ' ' || *value == '\t')
		e->value = pw_arena_strdup(m->arena, value);
	else
		e->value = pw_arena_printf(m->arena, " %s", value);
	e->index = index;
	e->origin = m->current;
	*m->edits_tail = e;
	m->edits_tail = &e->next;
}

void
pw_edit_add(struct pw_msg *m, const char *name, const char *value)
{
	edit_new(m, PW_EDIT_ADD, name, 0, value);
}

void
pw_edit_insert(struct pw_msg *m, int pos, const char *name,
    const char *value)
{
	edit_new(m, PW_EDIT_INSERT, name, pos, value);
}

void
pw_edit_change(struct pw_msg *m, const char *name, int nth,
    const char *value)
{
	edit_new(m, PW_EDIT_CHANGE, name, nth, value);
}

void
pw_edit_delete(struct pw_msg *m, const char *name, int nth)
{
	edit_new(m, PW_EDIT_DELETE, name, nth, NULL);
}

void
pw_edit_delete_all(struct pw_msg *m, const char *name)
{
	for (size_t n = pw_msg_hdr_count(m, name); n > 0; n--)
		pw_edit_delete(m, name, (int)n);
}

const char *const pw_private_hdrs[PW_NPRIVATE_HDRS] = {"Postwarden-Class",
    "Postwarden-List"};

void
pw_msg_seen_hdr(struct pw_msg *m, const char *name)
{
	for (size_t i = 0; i < PW_NPRIVATE_HDRS; i++)
		if (pw_strcaseeq(name, pw_private_hdrs[i]))
			m->nprivate[i]++;
}

size_t
pw_msg_strip_private(struct pw_msg *m)
{
	size_t n = 0;

	for (size_t i = 0; i < PW_NPRIVATE_HDRS; i++) {
		/* The MTA counts every header of that name, also those past
		   max_header_bytes that m->hdrs does not keep. */
		for (unsigned int k = m->nprivate[i]; k > 0; k--)
			pw_edit_delete(m, pw_private_hdrs[i], (int)k);
		if (m->nprivate[i] > 0)
			pw_msg_summary(m, "removed=%s:%u", pw_private_hdrs[i],
			    m->nprivate[i]);
		n += m->nprivate[i];
		m->nprivate[i] = 0;
	}
	return n;
}

void
pw_msg_delrcpt(struct pw_msg *m, const char *rcpt)
{
	for (size_t i = 0; i < m->ndelrcpts; i++)
		if (strcmp(m->delrcpts[i], rcpt) == 0)
			return;
	m->delrcpts = pw_realloc(m->delrcpts,
	    (m->ndelrcpts + 1) * sizeof(*m->delrcpts));
	m->delrcpts[m->ndelrcpts++] = pw_arena_strdup(m->arena, rcpt);
}

/* final_find - index of the nth header called name, or -1 */
static long
final_find(const struct pw_hdr *v, size_t n, const char *name, int nth)
{
	int seen = 0;

	for (size_t i = 0; i < n; i++)
		if (pw_strcaseeq(v[i].name, name) && ++seen == nth)
			return (long)i;
	return -1;
}

/*
 * pw_msg_final_hdrs - replay the edits over a copy of the header list.
 * The semantics are those of the MTA applying them one by one: change and
 * delete name the nth occurrence in the list as it stands at that point,
 * a change of a missing header adds it (Postfix, Sendmail), insert puts
 * the header before position pos.
 */
size_t
pw_msg_final_hdrs(struct pw_msg *m, const struct pw_hdr **vec_r)
{
	size_t cap = m->hdrs.n + 8, n = m->hdrs.n;
	struct pw_hdr *v = pw_arena_alloc(m->arena, cap * sizeof(*v));

	if (n > 0)
		memcpy(v, m->hdrs.v, n * sizeof(*v));
	for (const struct pw_edit *e = m->edits; e != NULL; e = e->next) {
		long at;

		if (n + 1 > cap) {
			struct pw_hdr *nv;

			cap *= 2;
			nv = pw_arena_alloc(m->arena, cap * sizeof(*v));
			memcpy(nv, v, n * sizeof(*v));
			v = nv;
		}
		switch (e->op) {
		case PW_EDIT_ADD:
			v[n].name = (char *)e->name;
			v[n++].value = (char *)e->value;
			break;
		case PW_EDIT_INSERT:
			at = e->index < 0 ? 0 :
			     (size_t)e->index > n ? (long)n : e->index;
			memmove(v + at + 1, v + at, (n - (size_t)at) * sizeof(*v));
			v[at].name = (char *)e->name;
			v[at].value = (char *)e->value;
			n++;
			break;
		case PW_EDIT_CHANGE:
			at = final_find(v, n, e->name, e->index);
			if (at < 0) {
				v[n].name = (char *)e->name;
				v[n++].value = (char *)e->value;
			} else {
				v[at].value = (char *)e->value;
			}
			break;
		case PW_EDIT_DELETE:
			at = final_find(v, n, e->name, e->index);
			if (at >= 0) {
				memmove(v + at, v + at + 1,
				    (n - (size_t)at - 1) * sizeof(*v));
				n--;
			}
			break;
		}
	}
	*vec_r = v;
	return n;
}

struct pw_dns_budget *
pw_dns_msg_budget(struct pw_msg *m, long stage_ms)
{
	struct pw_dns_budget *b = &m->dns;
	unsigned int used = b->used, tf = b->tempfails, lim = b->limited;

	pw_dns_budget_init(b, (unsigned int)m->cfg->core.dns_max_queries,
	    stage_ms);
	if (m->dns_ready) {
		b->used = used;
		b->tempfails = tf;
		b->limited = lim;
	}
	m->dns_ready = true;
	return b;
}
