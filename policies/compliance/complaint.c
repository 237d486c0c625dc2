/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * complaint - ARF complaints become suppressions.  See complaint.h.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/arena.h"
#include "base/util.h"
#include "compliance/complaint.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "parsers/addr.h"
#include "parsers/addrnorm.h"
#include "parsers/unsub_hdr.h"
#include "store/store.h"

/* token_of - the token of a URI we generated (unsub_hdr.h): malloc'd */
static char *
token_of(const struct pw_unsub_uri *u)
{
	const char *p, *e;

	if (u->scheme == PW_URI_MAILTO) {
		if ((e = strchr(u->uri, '@')) == NULL)
			return NULL;
		for (p = e; p > u->uri && p[-1] != '+' && p[-1] != ':'; p--)
			;
		if (p == u->uri || p[-1] != '+' || p == e)
			return NULL;
		return pw_strndup(p, (size_t)(e - p));
	}
	e = u->uri + strcspn(u->uri, "?#");
	for (p = e; p > u->uri && p[-1] != '/' && p[-1] != '='; p--)
		;
	return p < e ? pw_strndup(p, (size_t)(e - p)) : NULL;
}

bool
pw_unsub_token_find(const struct pw_keyring *ring, const char *value,
    struct pw_token *tok)
{
	struct pw_arena *a;
	struct pw_unsub_hdr h;
	const char *why;
	bool found = false;

	memset(tok, 0, sizeof(*tok));
	if (value == NULL || ring == NULL)
		return false;
	a = pw_arena_new(1024);
	if (pw_unsub_parse(a, value, strlen(value), &h, &why) == 0)
		for (size_t i = 0; !found && i < h.n; i++) {
			char *t = token_of(&h.v[i]);
			enum pw_token_status ts;

			if (t == NULL)
				continue;
			ts = pw_token_verify(ring, t, strlen(t), time(NULL), 0,
			    NULL, tok);
			free(t);
			if (ts == PW_TOKEN_OK || ts == PW_TOKEN_EXPIRED)
				found = true;
			else
				pw_token_clear(tok);
		}
	pw_arena_free(&a);
	return found;
}

/* from_domain_org - the organisation of a From header's domain */
static const struct pw_org *
from_domain_org(const struct pw_orgs *orgs, const char *from)
{
	struct pw_arena *a;
	const char **v, *why, *d;
	char *dom = NULL;
	const struct pw_org *o = NULL;

	if (from == NULL)
		return NULL;
	a = pw_arena_new(1024);
	if (pw_addr_parse_list(a, from, &v, &why) == 1 &&
	    (d = pw_addr_domain(v[0])) != NULL &&
	    pw_domain_normalise(d, strlen(d), &dom, &why) == 0) {
		o = pw_orgs_by_from(orgs, dom);
		free(dom);
	}
	pw_arena_free(&a);
	return o;
}

static int
delivered_row(const struct pw_audit_row *r, void *arg)
{
	bool *found = arg;

	if (r->action != NULL && strcmp(r->action, "delivered") == 0) {
		*found = true;
		return 1;
	}
	return 0;
}

/* first_addr - the first address of a header value (malloc'd) or NULL */
static char *
first_addr(const char *v)
{
	struct pw_arena *a;
	const char **list, *why;
	char *out = NULL;

	if (v == NULL)
		return NULL;
	a = pw_arena_new(1024);
	if (pw_addr_parse_list(a, v, &list, &why) >= 1)
		out = pw_strdup(list[0]);
	pw_arena_free(&a);
	return out;
}

enum pw_complaint_outcome
pw_complaint_record(const struct pw_orgs *orgs, const struct pw_keyring *ring,
    struct pw_store *st, const struct pw_arf *arf, const char *source,
    struct pw_complaint_result *res)
{
	struct pw_token tok;
	struct pw_feedback_row fr = {0};
	struct pw_suppression sup = {0};
	struct pw_consent_events ev = {0};
	struct pw_consent_result cr;
	const char *why;
	char *raw = NULL, *addr = NULL;
	bool have_tok, already;
	int rc;

	memset(res, 0, sizeof(*res));
	res->outcome = PW_COMPLAINT_UNKNOWN;
	/* RFC 5965 §7.3: not-spam undoes nothing and suppresses nothing */
	if (strcmp(arf->feedback_type, "not-spam") == 0) {
		res->outcome = PW_COMPLAINT_IGNORED;
		return res->outcome;
	}
	have_tok = pw_unsub_token_find(ring, arf->orig.list_unsubscribe, &tok);
	if (have_tok) {
		res->org = pw_orgs_by_name(orgs, tok.org);
		raw = pw_strdup(tok.rcpt);
		res->how = "token";
		pw_token_clear(&tok);
	} else {
		res->org = from_domain_org(orgs, arf->orig.from);
		raw = arf->original_rcpt_to ? pw_strdup(arf->original_rcpt_to) :
		    first_addr(arf->orig.to);
		res->how = "headers";
	}
	if (res->org == NULL || raw == NULL ||
	    pw_addr_normalise(raw, strlen(raw), &addr, &why) < 0)
		goto out;
	snprintf(res->addr, sizeof(res->addr), "%s", addr);
	if (!have_tok) {
		struct pw_audit_filter f = {res->org->name, addr, PW_NOTIME,
		    PW_NOTIME};
		bool found = false;

		if (pw_store_audit_list(st, &f, delivered_row, &found) < 0) {
			res->outcome = PW_COMPLAINT_FAIL;
			goto out;
		}
		if (!found) {
			res->outcome = PW_COMPLAINT_UNMATCHED;
			goto out;
		}
	}
	rc = pw_store_consent_check(st, res->org->name, addr, NULL, time(NULL),
	    &cr, &ev);
	pw_consent_events_free(&ev);
	if (rc < 0) {
		res->outcome = PW_COMPLAINT_FAIL;
		goto out;
	}
	/* A recipient already suppressed for a complaint is counted once:
	   the same report imported twice, or a second report about them,
	   does not raise the organisation's complaint rate again. */
	if (rc == 0 && cr.state == PW_CSTATE_WITHDRAWN && cr.basis != NULL &&
	    cr.basis->id < 0) {
		char *reason = NULL;

		rc = pw_store_suppression_reason(st, -cr.basis->id, &reason);
		already = rc == 1 && strcmp(reason, "complaint") == 0;
		free(reason);
		if (rc < 0) {
			res->outcome = PW_COMPLAINT_FAIL;
			goto out;
		}
		if (already) {
			res->outcome = PW_COMPLAINT_ALREADY;
			goto out;
		}
	}
	fr.time_us = pw_now_us();
	fr.time = pw_time_us_sec(fr.time_us);
	fr.org = res->org->name;
	fr.address = addr;
	fr.kind = "complaint";
	fr.status = arf->feedback_type;
	fr.source = source;
	if (arf->orig.message_id != NULL) {
		const char *p = strchr(arf->orig.message_id, '<');
		const char *e = p ? strchr(p, '>') : NULL;

		fr.message_id = p && e ? pw_strndup(p + 1, (size_t)(e - p - 1)) :
		    pw_strdup(arf->orig.message_id);
	}
	rc = pw_store_feedback_add(st, &fr);
	free((char *)fr.message_id);
	if (rc < 0) {
		res->outcome = PW_COMPLAINT_FAIL;
		goto out;
	}
	/* withdrawn for another reason: counted, nothing more to suppress */
	if (cr.state == PW_CSTATE_WITHDRAWN) {
		res->outcome = PW_COMPLAINT_ALREADY;
		goto out;
	}
	sup.org = res->org->name;
	sup.address = addr;
	sup.list = "";
	sup.reason = "complaint";
	sup.requested_us = pw_now_us();
	sup.requested_at = pw_time_us_sec(sup.requested_us);
	res->outcome = pw_store_suppression_add(st, &sup) < 0 ?
	    PW_COMPLAINT_FAIL : PW_COMPLAINT_SUPPRESSED;
out:
	free(raw);
	free(addr);
	return res->outcome;
}

const char *
pw_complaint_outcome_name(enum pw_complaint_outcome o)
{
	switch (o) {
	case PW_COMPLAINT_SUPPRESSED:
		return "suppressed";
	case PW_COMPLAINT_ALREADY:
		return "already suppressed";
	case PW_COMPLAINT_IGNORED:
		return "not-spam: ignored";
	case PW_COMPLAINT_UNKNOWN:
		return "no organisation or recipient";
	case PW_COMPLAINT_UNMATCHED:
		return "no message of ours to this recipient";
	default:
		return "store failure";
	}
}
