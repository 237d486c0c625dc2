/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * comply - per-recipient compliance records, the List-Unsubscribe state,
 * and audit row composition (comply.h).
 *
 * Records and rows belong to one message and its thread.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/metrics.h"
#include "compliance/org.h"
#include "comply.h"
#include "parsers/addr.h"
#include "parsers/unsub_hdr.h"

struct pw_comply_rcpt *
pw_comply_rcpt(struct pw_msg *m, const char *rcpt, bool create)
{
	struct pw_comply *k = &m->comply;
	struct pw_comply_rcpt *v;

	for (size_t i = 0; i < k->nrcpts; i++)
		if (strcmp(k->rcpts[i].rcpt, rcpt) == 0)
			return &k->rcpts[i];
	if (!create)
		return NULL;
	if (k->nrcpts == k->rcpts_cap) {
		/* Arena vectors cannot grow in place: copy on doubling. */
		size_t cap = k->rcpts_cap ? k->rcpts_cap * 2 : 8;

		v = pw_arena_alloc(m->arena, cap * sizeof(*v));
		if (k->nrcpts > 0)
			memcpy(v, k->rcpts, k->nrcpts * sizeof(*v));
		k->rcpts = v;
		k->rcpts_cap = cap;
	}
	v = &k->rcpts[k->nrcpts++];
	memset(v, 0, sizeof(*v));
	v->rcpt = pw_arena_strdup(m->arena, rcpt);
	return v;
}

bool
pw_comply_removed(const struct pw_msg *m, const char *rcpt)
{
	for (size_t i = 0; i < m->ndelrcpts; i++)
		if (strcmp(m->delrcpts[i], rcpt) == 0)
			return true;
	return false;
}

size_t
pw_comply_live(const struct pw_msg *m)
{
	size_t n = 0;

	for (size_t i = 0; i < m->nrcpts; i++)
		if (!pw_comply_removed(m, m->rcpts[i]))
			n++;
	return n;
}

enum pw_unsub_status
pw_comply_unsub_status(struct pw_msg *m, const char **why_r)
{
	size_t nlu = pw_msg_hdr_count(m, "List-Unsubscribe");
	size_t npost = pw_msg_hdr_count(m, "List-Unsubscribe-Post");
	const struct pw_hdr *lu, *post;
	struct pw_unsub_hdr h;

	*why_r = NULL;
	if (nlu == 0 && npost == 0)
		return PW_UNSUB_MISSING;
	/* RFC 8058 §3.1: "one List-Unsubscribe header field and one
	   List-Unsubscribe-Post header field". */
	if (nlu != 1) {
		*why_r = nlu == 0 ? "List-Unsubscribe-Post without "
				    "List-Unsubscribe" :
				    "several List-Unsubscribe headers";
		return PW_UNSUB_INVALID;
	}
	if (npost != 1) {
		*why_r = npost == 0 ? "no List-Unsubscribe-Post (RFC 8058)" :
				      "several List-Unsubscribe-Post headers";
		return PW_UNSUB_INVALID;
	}
	lu = pw_msg_hdr(m, "List-Unsubscribe");
	post = pw_msg_hdr(m, "List-Unsubscribe-Post");
	if (pw_unsub_parse(m->arena, lu->value, strlen(lu->value), &h,
	    why_r) < 0 || pw_unsub_check(&h, true, why_r) < 0)
		return PW_UNSUB_INVALID;
	if (!pw_unsub_post_ok(post->value, strlen(post->value))) {
		*why_r = "List-Unsubscribe-Post is not "
			 "\"" PW_UNSUB_POST_VALUE "\"";
		return PW_UNSUB_INVALID;
	}
	return PW_UNSUB_VALID;
}

const char *
pw_comply_message_id(struct pw_msg *m)
{
	const struct pw_hdr *h;
	const char *p, *e;

	if (pw_msg_hdr_count(m, "Message-ID") != 1)
		return NULL;
	h = pw_msg_hdr(m, "Message-ID");
	/* RFC 5322 §3.6.4 msg-id: "<" id-left "@" id-right ">"; keep what
	   is between the brackets, or the trimmed value if there are none. */
	if ((p = strchr(h->value, '<')) != NULL &&
	    (e = strchr(p, '>')) != NULL)
		return pw_arena_strndup(m->arena, p + 1, (size_t)(e - p - 1));
	p = h->value + strspn(h->value, " \t\r\n");
	e = p + strlen(p);
	while (e > p && strchr(" \t\r\n", e[-1]) != NULL)
		e--;
	return e > p ? pw_arena_strndup(m->arena, p, (size_t)(e - p)) : NULL;
}

void
pw_comply_audit_row(struct pw_msg *m, const struct pw_comply_rcpt *r,
    const char *rcpt, time_t now, struct pw_audit_row *row)
{
	const struct pw_comply *k = &m->comply;

	memset(row, 0, sizeof(*row));
	row->time = now;
	row->queue_id = m->qid ? m->qid : "NOQUEUE";
	row->message_id = pw_comply_message_id(m);
	row->org = k->org ? k->org->name : NULL;
	row->recipient = r && r->addr ? r->addr : rcpt;
	row->class = pw_class_name(k->class);
	row->class_source = pw_class_how_name(k->class_how);
	row->dkim_d = m->signed_out.d;
	row->dkim_s = m->signed_out.s;
	if (r == NULL)
		return;
	row->consent = r->consent;
	row->basis_id = r->basis_id;
	row->basis_type = r->basis_type;
	row->basis_expires = r->basis_expires;
	row->reason = r->reason;
	row->token_id = r->token_id;
	row->action = r->action;
}

static struct pw_metric m_refusals = PW_COUNTER(
    "postwarden_compliance_refusals_total", "Compliance refusals in "
    "enforce mode: recipients refused or removed (consent_*), or messages "
    "refused (the other reasons), by reason and organisation", "reason",
    "organisation");

void
pw_comply_refused(const struct pw_msg *m, const char *reason, size_t n)
{
	pw_metric_add(&m_refusals, n, PW_LV(reason, m->comply.org != NULL ?
	    m->comply.org->name : ""));
}
