/* SPDX-License-Identifier: BSD-2-Clause */
/* t_comply - per-recipient records, the List-Unsubscribe state, and the
   consent / unsub / audit policies driven stage by stage over a real
   SQLite store and key ring (R4, R5, R10-R12, R20). */
#include "unit.h"

#include <sqlite3.h>

#include "base/config.h"
#include "compliance/consent_state.h"
#include "compliance/org.h"
#include "compliance/token.h"
#include "comply.h"
#include "msg.h"
#include "policy.h"
#include "store/store.h"

extern const struct pw_policy pol_classify, pol_consent, pol_unsub,
    pol_audit;

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

#define ORGS                                                                   \
	"[org acme]\n"                                                         \
	"domains = acme.example\n"                                             \
	"sasl_logins = acme-news\n"                                            \
	"class_header_mode = off\n"                                            \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.acme.example/u/\n"                        \
	"unsubscribe_mailto = unsub@acme.example\n"                            \
	"[org shop]\n"                                                         \
	"domains = shop.example\n"                                             \
	"sasl_logins = shop\n"                                                 \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.shop.example/u/\n"                        \
	"unsubscribe_mailto = unsub@shop.example\n"                            \
	"missing_consent = drop_at_eom\n"                                      \
	"multi_recipient = mailto_only\n"                                      \
	"[org strict]\n"                                                       \
	"domains = strict.example\n"                                           \
	"sasl_logins = strict\n"                                               \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.strict.example/u/\n"                      \
	"missing_consent = reject_message\n"                                   \
	"multi_recipient = reject\n"                                           \
	"unsub_invalid = reject\n"                                            \
	"[org free]\n"                                                         \
	"domains = free.example\n"                                             \
	"sasl_logins = free\n"                                                 \
	"identification_mode = off\n"                                          \
	"consent_mode = off\n"                                                 \
	"unsubscribe_url = https://u.free.example/u/\n"                        \
	"[org late]\n"                                                         \
	"domains = late.example\n"                                             \
	"sasl_logins = late\n"                                                 \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.late.example/u/\n"

static char *dbpath;
static char *ringpath;

/* ---- pure helpers ---------------------------------------------------- */

static struct pw_config *
load(const char *store)
{
	char *orgs = t_tmpfile("orgs.conf", ORGS, 0644);
	char *text = pw_asprintf("organisations = file:%s\nstore = %s\n"
				 "unsubscribe_keys = %s\n",
	    orgs, store, ringpath);
	char *path = t_tmpfile("comply.conf", text, 0644);
	struct pw_buf err = {0};
	struct pw_config *cfg = pw_policies_load(path, &err);

	if (cfg == NULL)
		fail_msg("load: %s", err.data);
	free(orgs);
	free(text);
	free(path);
	return cfg;
}

static void
t_records(void **state)
{
	struct pw_config *cfg = load("sqlite:/nonexistent/x.db");
	struct pw_client cl = {0};
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	char name[32];

	(void)state;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "r%d@x.example", i);
		pw_comply_rcpt(m, name, true)->basis_id = i;
		pw_msg_add_rcpt(m, name);
	}
	assert_int_equal(m->comply.nrcpts, 20);
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "r%d@x.example", i);
		assert_int_equal(pw_comply_rcpt(m, name, false)->basis_id, i);
	}
	assert_null(pw_comply_rcpt(m, "none@x.example", false));
	pw_msg_delrcpt(m, "r3@x.example");
	pw_msg_delrcpt(m, "r3@x.example");
	assert_true(pw_comply_removed(m, "r3@x.example"));
	assert_false(pw_comply_removed(m, "r4@x.example"));
	assert_int_equal(pw_comply_live(m), 19);
	pw_msg_free(&m);
	pw_config_release(&cfg);
}

static const struct {
	const char *hdrs;	/* "Name:value|Name:value" */
	enum pw_unsub_status st;
} ucases[] = {
    {"Subject: x", PW_UNSUB_MISSING},
    {"List-Unsubscribe: <https://u.example/u/T>, <mailto:u@example>|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_VALID},
    {"List-Unsubscribe: <https://u.example/u/T>", PW_UNSUB_INVALID},
    {"List-Unsubscribe-Post: List-Unsubscribe=One-Click", PW_UNSUB_INVALID},
    {"List-Unsubscribe: <http://u.example/u/T>|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_INVALID},
    {"List-Unsubscribe: <mailto:u@example>|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_INVALID},
    {"List-Unsubscribe: <https://a.example/1>, <https://b.example/2>|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_INVALID},
    {"List-Unsubscribe: <https://u.example/u/T>|"
     "List-Unsubscribe-Post: List-Unsubscribe=Yes",
	PW_UNSUB_INVALID},
    {"List-Unsubscribe: <https://u.example/u/T>|"
     "List-Unsubscribe: <https://u.example/u/T>|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_INVALID},
    {"List-Unsubscribe: https://u.example/u/T|"
     "List-Unsubscribe-Post: List-Unsubscribe=One-Click",
	PW_UNSUB_INVALID},
};

static void
add_hdrs(struct pw_msg *m, const char *hdrs)
{
	char *h = pw_strdup(hdrs), *line, *save = NULL;

	for (line = strtok_r(h, "|", &save); line;
	     line = strtok_r(NULL, "|", &save)) {
		char *colon = strchr(line, ':');

		*colon = '\0';
		pw_msg_add_hdr(m, line, colon + 1);
	}
	free(h);
}

static void
t_unsub_status(void **state)
{
	struct pw_config *cfg = load("sqlite:/nonexistent/x.db");

	(void)state;
	for (size_t i = 0; i < sizeof(ucases) / sizeof(ucases[0]); i++) {
		struct pw_client cl = {0};
		struct pw_msg *m = pw_msg_new(cfg, &cl);
		const char *why;
		enum pw_unsub_status st;

		add_hdrs(m, ucases[i].hdrs);
		st = pw_comply_unsub_status(m, &why);
		if (st != ucases[i].st)
			fail_msg("case %zu: status %d, want %d", i, st,
			    ucases[i].st);
		if ((st == PW_UNSUB_INVALID) != (why != NULL))
			fail_msg("case %zu: reason %s", i, why ? why : "none");
		pw_msg_free(&m);
	}
	pw_config_release(&cfg);
}

static void
t_message_id(void **state)
{
	static const struct {
		const char *hdrs, *want;
	} mc[] = {
	    {"Message-ID: <a.b@c.example>", "a.b@c.example"},
	    {"Message-ID:  (c) <x@y>  ", "x@y"},
	    {"Message-ID:  bare@id ", "bare@id"},
	    {"Message-ID: <a@b>|Message-ID: <c@d>", NULL},
	    {"Subject: none", NULL},
	    {"Message-ID:   ", NULL},
	};
	struct pw_config *cfg = load("sqlite:/nonexistent/x.db");

	(void)state;
	for (size_t i = 0; i < sizeof(mc) / sizeof(mc[0]); i++) {
		struct pw_client cl = {0};
		struct pw_msg *m = pw_msg_new(cfg, &cl);
		const char *id;

		add_hdrs(m, mc[i].hdrs);
		id = pw_comply_message_id(m);
		if ((id == NULL) != (mc[i].want == NULL) ||
		    (id && strcmp(id, mc[i].want) != 0))
			fail_msg("case %zu: %s", i, id ? id : "NULL");
		pw_msg_free(&m);
	}
	pw_config_release(&cfg);
}

/* ---- the policies, stage by stage ------------------------------------- */

static size_t
pol_index(const struct pw_policy *p)
{
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == p)
			return i;
	fail_msg("policy %s not registered", p->name);
	return 0;
}

static struct pw_call
call_of(struct pw_msg *m, const struct pw_policy *p)
{
	size_t i = pol_index(p);
	struct pw_call c = {m, pw_policy_conf(m->cfg, i), NULL};

	if (p->msg_state_size > 0 && m->priv[i] == NULL)
		m->priv[i] = pw_arena_alloc(m->arena, p->msg_state_size);
	c.priv = m->priv[i];
	return c;
}

/* start - a message from a SASL login, classified at MAIL FROM */
static struct pw_msg *
start(struct pw_config *cfg, const char *sasl, const char *from)
{
	static struct pw_client cl;
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	struct pw_call c = call_of(m, &pol_classify);

	m->dir = PW_DIR_OUT;
	m->dir_why = "auth";
	m->auth_authen = sasl;
	m->env_from = from;
	assert_int_equal(pol_classify.mail(&c), PW_DUNNO);
	assert_non_null(m->comply.org);
	return m;
}

/* rcpt - consent then unsub at RCPT, as the registry orders them */
static enum pw_verdict
rcpt(struct pw_msg *m, const char *to)
{
	struct pw_call c = call_of(m, &pol_consent);
	enum pw_verdict v = pw_msg_decide(m, pol_consent.rcpt(&c, to));

	if (v == PW_DUNNO) {
		c = call_of(m, &pol_unsub);
		v = pw_msg_decide(m, pol_unsub.rcpt(&c, to));
	}
	if (v == PW_DUNNO)
		pw_msg_add_rcpt(m, to);
	else
		m->verdict = PW_DUNNO;	/* as the glue: one recipient only */
	return v;
}

/* eom - classify EOH, then consent, unsub, audit EOM */
static enum pw_verdict
eom(struct pw_msg *m, const char *hdrs, bool sign)
{
	const struct pw_policy *ps[] = {&pol_consent, &pol_unsub, &pol_audit};
	struct pw_call c = call_of(m, &pol_classify);
	enum pw_verdict v;

	add_hdrs(m, hdrs);
	assert_int_equal(pol_classify.eoh(&c), PW_DUNNO);
	for (size_t i = 0; i < 3; i++) {
		if (ps[i] == &pol_audit && sign) {
			m->signed_out.n = 1;
			m->signed_out.d = "acme.example";
			m->signed_out.s = "sel1";
		}
		c = call_of(m, ps[i]);
		if ((v = pw_msg_decide(m, ps[i]->eom(&c))) != PW_DUNNO)
			return v;
	}
	return PW_DUNNO;
}

/* finish - run cleanups and free, as the glue does */
static void
finish(struct pw_msg **m)
{
	struct pw_call c = call_of(*m, &pol_audit);

	pol_audit.cleanup(&c);
	pw_msg_free(m);
}

/* edit_value - the value of the last ADD edit of name, or NULL */
static const char *
edit_value(const struct pw_msg *m, const char *name)
{
	const char *v = NULL;

	for (const struct pw_edit *e = m->edits; e; e = e->next)
		if (e->op == PW_EDIT_ADD && pw_strcaseeq(e->name, name))
			v = e->value;
	return v;
}

/* audit_rows - "recipient:action:consent" of every row, in order */
static char *
audit_rows(void)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	struct pw_buf b = {0};

	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT recipient, action, "
	    "ifnull(consent, '-') FROM audit ORDER BY id", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW)
		pw_buf_printf(&b, "%s:%s:%s;", sqlite3_column_text(st, 0),
		    sqlite3_column_text(st, 1), sqlite3_column_text(st, 2));
	sqlite3_finalize(st);
	sqlite3_close(db);
	return b.data ? b.data : pw_strdup("");
}

static void
consent_express(struct pw_store *s, const char *org, const char *addr)
{
	struct pw_consent_record r = {0};

	r.org = org;
	r.address = addr;
	r.type = PW_CONSENT_EXPRESS;
	r.obtained_at = time(NULL) - 86400;
	r.source = "test";
	assert_int_equal(pw_store_consent_add(s, &r, 1), 0);
}

/* consent_list - express consent for one list */
static void
consent_list(struct pw_store *s, const char *org, const char *addr,
    const char *list)
{
	struct pw_consent_record r = {0};

	r.org = org;
	r.address = addr;
	r.list = list;
	r.type = PW_CONSENT_EXPRESS;
	r.obtained_at = time(NULL) - 86400;
	r.source = "test";
	assert_int_equal(pw_store_consent_add(s, &r, 1), 0);
}

/* consent_inquiry - implied consent from an inquiry on DATE (6 months) */
static void
consent_inquiry(struct pw_store *s, const char *org, const char *addr,
    const char *date)
{
	struct pw_consent_record r = {0};

	r.org = org;
	r.address = addr;
	r.type = PW_CONSENT_IMPLIED_INQUIRY;
	assert_int_equal(pw_date_parse(date, &r.obtained_at), 0);
	r.source = "test";
	assert_int_equal(pw_store_consent_add(s, &r, 1), 0);
}

static int
setup_store(void **state)
{
	struct pw_store *s;
	char *err = NULL, *spec;
	struct pw_suppression sup = {0};

	(void)state;
	dbpath = t_tmpfile("comply.db", "", 0644);
	unlink(dbpath);
	ringpath = t_tmpfile("ring", "1 " KEY "\n", 0600);
	spec = pw_asprintf("sqlite:%s", dbpath);
	if (pw_store_open(spec, NULL, &s, &err) < 0)
		fail_msg("store: %s", err);
	free(spec);
	consent_express(s, "acme", "alice@x.example");
	consent_express(s, "acme", "carol@x.example");
	consent_express(s, "shop", "alice@x.example");
	consent_express(s, "shop", "bob@x.example");
	consent_express(s, "strict", "alice@x.example");
	consent_express(s, "strict", "bob@x.example");
	consent_express(s, "acme", "dave@x.example");
	consent_express(s, "late", "alice@x.example");
	consent_express(s, "late", "bob@x.example");
	consent_inquiry(s, "acme", "old@x.example", "2020-01-10");
	/* per list (t_list_stage): lina for one list only; lars for every
	   list but withdrawn from that one */
	consent_list(s, "acme", "lina@x.example", "news.acme.example");
	consent_express(s, "acme", "lars@x.example");
	sup.org = "acme";
	sup.address = "lars@x.example";
	sup.list = "news.acme.example";
	sup.reason = "one_click_post";
	sup.requested_at = time(NULL);
	assert_int_equal(pw_store_suppression_add(s, &sup), 0);
	memset(&sup, 0, sizeof(sup));
	sup.org = "acme";
	sup.address = "dave@x.example";
	sup.reason = "one_click_post";
	sup.requested_at = time(NULL);
	assert_int_equal(pw_store_suppression_add(s, &sup), 0);
	pw_store_close(&s);
	return 0;
}

static void
t_rcpt_stage(void **state)
{
	char *spec = pw_asprintf("sqlite:%s", dbpath);
	struct pw_config *cfg = load(spec);
	struct pw_msg *m = start(cfg, "acme-news", "n@acme.example");

	(void)state;
	assert_true(m->comply.class_final);
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_REJECT);
	assert_string_equal(m->reply.text,
	    "<nobody@x.example>: no consent on record for acme");
	assert_int_equal(rcpt(m, "dave@x.example"), PW_REJECT); /* suppressed */
	/* refusals do not count: Alice is the first accepted recipient */
	assert_int_equal(rcpt(m, "Alice@X.Example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "carol@x.example"), PW_TEMPFAIL);
	assert_string_equal(m->reply.rcode, "452");
	assert_string_equal(m->reply.xcode, "4.5.3");
	/* unsigned commercial mail is not released (R12) */
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <1@a>",
	    false), PW_TEMPFAIL);
	assert_string_equal(m->reply.xcode, "4.7.1");
	finish(&m);

	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <2@a>",
	    true), PW_DUNNO);
	{
		const char *lu = edit_value(m, "List-Unsubscribe");
		const char *post = edit_value(m, "List-Unsubscribe-Post");
		struct pw_buf err = {0};
		struct pw_keyring *ring = pw_keyring_load(ringpath, &err);
		struct pw_token tok;
		const char *p, *e;
		char *t;

		assert_non_null(lu);
		assert_non_null(post);
		assert_string_equal(post, " List-Unsubscribe=One-Click");
		p = strstr(lu, "https://u.acme.example/u/");
		assert_non_null(p);
		p += strlen("https://u.acme.example/u/");
		e = strchr(p, '>');
		t = pw_strndup(p, (size_t)(e - p));
		assert_int_equal(pw_token_verify(ring, t, strlen(t), time(NULL),
		    0, "acme", &tok), PW_TOKEN_OK);
		assert_string_equal(tok.rcpt, "alice@x.example");
		assert_non_null(strstr(lu, ", <mailto:unsub+"));
		assert_string_equal(tok.id,
		    pw_comply_rcpt(m, "alice@x.example", false)->token_id);
		pw_token_clear(&tok);
		free(t);
		pw_keyring_free(&ring);
	}
	finish(&m);
	{
		char *rows = audit_rows();

		assert_string_equal(rows,
		    "alice@x.example:tempfailed:express;"
		    "nobody@x.example:refused_rcpt:none;"
		    "dave@x.example:refused_rcpt:withdrawn;"
		    "carol@x.example:tempfail_rcpt:express;"
		    "alice@x.example:delivered:express;");
		free(rows);
	}
	pw_config_release(&cfg);
	free(spec);
}

static void
t_eom_stage(void **state)
{
	char *spec = pw_asprintf("sqlite:%s", dbpath);
	struct pw_config *cfg = load(spec);
	struct pw_msg *m;
	const char *lu;

	(void)state;
	/* shop: class not final (trusted header possible): decided at EOM,
	   the recipient without consent is removed; two left: mailto-only */
	m = start(cfg, "shop", "n@shop.example");
	assert_false(m->comply.class_final);
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "bob@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example", true), PW_DUNNO);
	assert_int_equal(m->ndelrcpts, 1);
	assert_string_equal(m->delrcpts[0], "nobody@x.example");
	lu = edit_value(m, "List-Unsubscribe");
	assert_string_equal(lu,
	    " <mailto:unsub@shop.example?subject=unsubscribe>");
	assert_null(edit_value(m, "List-Unsubscribe-Post"));
	finish(&m);

	/* shop, one consented recipient left: its own token */
	m = start(cfg, "shop", "n@shop.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example", true), PW_DUNNO);
	assert_non_null(strstr(edit_value(m, "List-Unsubscribe"),
	    "https://u.shop.example/u/"));
	finish(&m);

	/* shop, nobody with consent: rejected */
	m = start(cfg, "shop", "n@shop.example");
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example", true), PW_REJECT);
	assert_string_equal(m->reply.rcode, "550");
	finish(&m);

	/* strict: one recipient without consent rejects the message */
	m = start(cfg, "strict", "n@strict.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@strict.example", true), PW_REJECT);
	assert_string_equal(m->reply.text,
	    "<nobody@x.example>: no consent on record for strict");
	finish(&m);

	/* strict: a missing header is rejected (unsub_invalid = reject) */
	m = start(cfg, "strict", "n@strict.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@strict.example", true), PW_REJECT);
	assert_non_null(strstr(m->reply.text, "valid List-Unsubscribe"));
	finish(&m);

	/* late: rcpt_limit, but the class is only final at EOH: two
	   consented recipients are rejected, one recipient per message */
	m = start(cfg, "late", "n@late.example");
	assert_false(m->comply.class_final);
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "bob@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@late.example", true), PW_REJECT);
	assert_non_null(strstr(m->reply.text, "one recipient per message"));
	finish(&m);

	/* strict: an invalid header is rejected (unsub_invalid = reject) */
	m = start(cfg, "strict", "n@strict.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@strict.example|List-Unsubscribe: "
	    "<http://x.example/u>", true), PW_REJECT);
	assert_non_null(strstr(m->reply.text, "List-Unsubscribe"));
	finish(&m);

	/* strict: a valid header of the sender is kept, nothing added */
	m = start(cfg, "strict", "n@strict.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@strict.example|List-Unsubscribe: "
	    "<https://esp.example/u/1>|List-Unsubscribe-Post: "
	    "List-Unsubscribe=One-Click", true), PW_DUNNO);
	assert_null(edit_value(m, "List-Unsubscribe"));
	finish(&m);

	/* transactional (trusted label): no consent, no header */
	m = start(cfg, "shop", "n@shop.example");
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example|Postwarden-Class: "
	    "transactional", true), PW_DUNNO);
	assert_null(edit_value(m, "List-Unsubscribe"));
	assert_int_equal(m->ndelrcpts, 0);
	finish(&m);

	{
		struct pw_store *s;
		char *err = NULL;
		int64_t bad = 0;

		assert_int_equal(pw_store_open(spec, NULL, &s, &err), 0);
		assert_int_equal(pw_store_audit_verify(s, &bad, NULL), 1);
		pw_store_close(&s);
	}
	pw_config_release(&cfg);
	free(spec);
}

static void
t_store_down(void **state)
{
	struct pw_config *cfg = load("sqlite:/nonexistent/dir/x.db");
	struct pw_msg *m;

	(void)state;
	/* at RCPT: that recipient is tempfailed */
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_TEMPFAIL);
	assert_string_equal(m->reply.xcode, "4.3.0");
	finish(&m);
	/* at EOM: the message */
	m = start(cfg, "shop", "n@shop.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example", true), PW_TEMPFAIL);
	assert_string_equal(m->reply.xcode, "4.3.0");
	finish(&m);
	/* no consent check, but the audit row of commercial mail cannot be
	   written: tempfailed all the same (R20) */
	m = start(cfg, "free", "n@free.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@free.example", true), PW_TEMPFAIL);
	assert_string_equal(m->reply.text, "audit record could not be "
	    "written, try again later");
	finish(&m);
	/* transactional mail flows although its audit row is lost */
	m = start(cfg, "shop", "n@shop.example");
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@shop.example|Postwarden-Class: "
	    "transactional", true), PW_DUNNO);
	finish(&m);
	pw_config_release(&cfg);
}

/*
 * t_nonsmtp - a refusal says which (nothing on record, expired on DATE,
 * withdrawn on DATE); mail from the sendmail command (msg->nonsmtp,
 * Postfix non_smtpd_milters) is never refused at RCPT, where Postfix
 * cannot refuse one recipient, but decided at end of message: one row
 * per recipient, as for SMTP.
 */
static void
t_nonsmtp(void **state)
{
	char *spec = pw_asprintf("sqlite:%s", dbpath);
	struct pw_config *cfg = load(spec);
	struct pw_msg *m;
	char today[21], *want, *rows;

	(void)state;
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "old@x.example"), PW_REJECT);
	/* inquiry on 2020-01-10: 6 months, exclusive at 00:00Z (consent.h) */
	assert_string_equal(m->reply.text,
	    "<old@x.example>: consent for acme expired on 2020-07-10");
	assert_int_equal(rcpt(m, "dave@x.example"), PW_REJECT);
	want = pw_asprintf("<dave@x.example>: consent for acme withdrawn on "
	    "%.10s", pw_date_format(time(NULL), today));
	assert_string_equal(m->reply.text, want);
	free(want);
	finish(&m);

	/* sendmail command: nothing refused at RCPT; at end of message the
	   recipient without consent is removed, the other one gets it */
	m = start(cfg, "acme-news", "n@acme.example");
	m->nonsmtp = true;
	assert_true(m->comply.class_final);
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <ns1@a>",
	    true), PW_DUNNO);
	assert_int_equal(m->ndelrcpts, 1);
	assert_string_equal(m->delrcpts[0], "nobody@x.example");
	assert_non_null(strstr(edit_value(m, "List-Unsubscribe"),
	    "https://u.acme.example/u/"));
	finish(&m);

	/* nobody left: the whole message is rejected (Postfix bounces it
	   to the sender) */
	m = start(cfg, "acme-news", "n@acme.example");
	m->nonsmtp = true;
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "old@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <ns2@a>",
	    true), PW_REJECT);
	assert_string_equal(m->reply.text,
	    "no valid consent for acme for any of the 2 recipients");
	finish(&m);
	m = start(cfg, "acme-news", "n@acme.example");
	m->nonsmtp = true;
	assert_int_equal(rcpt(m, "old@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <ns3@a>",
	    true), PW_REJECT);
	assert_string_equal(m->reply.text,
	    "<old@x.example>: consent for acme expired on 2020-07-10");
	finish(&m);

	/* rcpt_limit: no 452 4.5.3 at RCPT; two consented recipients are
	   rejected at end of message, one recipient per message */
	m = start(cfg, "acme-news", "n@acme.example");
	m->nonsmtp = true;
	assert_int_equal(rcpt(m, "alice@x.example"), PW_DUNNO);
	assert_int_equal(rcpt(m, "carol@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <ns4@a>",
	    true), PW_REJECT);
	assert_non_null(strstr(m->reply.text, "one recipient per message"));
	finish(&m);

	rows = audit_rows();
	want = "old@x.example:refused_rcpt:expired;"
	       "dave@x.example:refused_rcpt:withdrawn;"
	       "nobody@x.example:removed:none;"
	       "alice@x.example:delivered:express;"
	       "nobody@x.example:rejected:none;"
	       "old@x.example:rejected:expired;"
	       "old@x.example:rejected:expired;"
	       "alice@x.example:rejected:express;"
	       "carol@x.example:rejected:express;";
	if (strlen(rows) < strlen(want) ||
	    strcmp(rows + strlen(rows) - strlen(want), want) != 0)
		fail_msg("audit rows: %s", rows);
	free(rows);
	pw_config_release(&cfg);
	free(spec);
}

/* pw_keyring_load_owner: a ring owned by the daemon's user is accepted
   as root (startup) and by that user (SIGHUP) */
static void
t_ring_owner(void **state)
{
	char *path = t_tmpfile("ring-owned", "7 " KEY "\n", 0600);
	struct pw_buf err = {0};
	struct pw_keyring *ring;

	(void)state;
	if (geteuid() != 0) {
		free(path);
		skip();
	}
	assert_int_equal(chown(path, 12345, 12345), 0);
	assert_null(pw_keyring_load(path, &err));
	assert_non_null(strstr(err.data, "owned by uid 12345"));
	assert_null(pw_keyring_load_owner(path, 54321, &err));
	ring = pw_keyring_load_owner(path, 12345, &err);
	assert_non_null(ring);
	assert_true(pw_keyring_has(ring, 7));
	pw_keyring_free(&ring);
	pw_buf_free(&err);
	free(path);
}

/* Consent per mailing list: the list comes from List-Id at end of
   headers, so RCPT refuses only a recipient with consent for no list. */
static void
t_list_stage(void **state)
{
	char *spec = pw_asprintf("sqlite:%s", dbpath);
	struct pw_config *cfg = load(spec);
	struct pw_msg *m;
	static const char news[] = "From: n@acme.example|Message-ID: <l@a>|"
	    "List-Id: Acme News <News.Acme.Example>";
	static const char deals[] = "From: n@acme.example|Message-ID: <l@a>|"
	    "List-Id: <deals.acme.example>";

	(void)state;
	/* consent for news only: news delivered, with a token for news */
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "lina@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, news, true), PW_DUNNO);
	assert_string_equal(m->comply.list, "news.acme.example");
	{
		const char *lu = edit_value(m, "List-Unsubscribe");
		struct pw_buf err = {0};
		struct pw_keyring *ring = pw_keyring_load(ringpath, &err);
		struct pw_token tok;
		const char *p = strstr(lu, "/u/") + 3, *e = strchr(p, '>');
		char *t = pw_strndup(p, (size_t)(e - p));

		assert_int_equal(pw_token_verify(ring, t, strlen(t), time(NULL),
		    0, "acme", &tok), PW_TOKEN_OK);
		assert_string_equal(tok.list, "news.acme.example");
		pw_token_clear(&tok);
		free(t);
		pw_keyring_free(&ring);
	}
	finish(&m);
	/* ... deals and mail on no list refused at end of message */
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "lina@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, deals, true), PW_REJECT);
	assert_string_equal(m->reply.text, "<lina@x.example>: no consent on "
	    "record for acme list deals.acme.example");
	finish(&m);
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "lina@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, "From: n@acme.example|Message-ID: <l@a>",
	    true), PW_REJECT);
	assert_string_equal(m->reply.text, "<lina@x.example>: no consent on "
	    "record for acme");
	finish(&m);
	/* consent for every list, withdrawn from news: passes RCPT, news
	   refused at end of message, deals delivered */
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "lars@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, news, true), PW_REJECT);
	assert_non_null(strstr(m->reply.text, "<lars@x.example>: consent for "
	    "acme list news.acme.example withdrawn on "));
	finish(&m);
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "lars@x.example"), PW_DUNNO);
	assert_int_equal(eom(m, deals, true), PW_DUNNO);
	assert_string_equal(pw_comply_rcpt(m, "lars@x.example", false)->consent,
	    "express");
	finish(&m);
	/* consent for no list at all: still refused at RCPT */
	m = start(cfg, "acme-news", "n@acme.example");
	assert_int_equal(rcpt(m, "nobody@x.example"), PW_REJECT);
	finish(&m);
	pw_config_release(&cfg);
	free(spec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_records),
	    cmocka_unit_test(t_unsub_status),
	    cmocka_unit_test(t_message_id),
	    cmocka_unit_test(t_rcpt_stage),
	    cmocka_unit_test(t_eom_stage),
	    cmocka_unit_test(t_store_down),
	    cmocka_unit_test(t_nonsmtp),
	    cmocka_unit_test(t_ring_owner),
	    cmocka_unit_test(t_list_stage),
	};

	return cmocka_run_group_tests(tests, setup_store, NULL);
}
