/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_unsub_mailto - pol_unsub_mailto driven stage by stage (MAIL, RCPT,
 * EOM) over a real SQLite store and key ring: which recipients are
 * unsubscribe addresses, tokens valid, repeated, tampered and of another
 * organisation, the From fallback (allowed, not allowed, DMARC fail, no
 * usable From, an address shared by two organisations), discard versus
 * deliver, and a store that cannot be written (451).
 */
#include "unit.h"

#include <sqlite3.h>

#include "base/config.h"
#include "compliance/token.h"
#include "msg.h"
#include "policy.h"
#include "store/store.h"

extern const struct pw_policy pol_unsub_mailto;

#define KEY "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"

#define ORGS                                                                   \
	"[org acme]\n"                                                         \
	"domains = acme.example\n"                                             \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.acme.example/u/\n"                        \
	"unsubscribe_mailto = Unsub@acme.example\n"                            \
	"[org shop]\n"                                                         \
	"domains = shop.example\n"                                             \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.shop.example/u/\n"                        \
	"unsubscribe_mailto = mailto:unsub@shop.example\n"                     \
	"unsubscribe_mailto_from = yes\n"                                      \
	"unsubscribe_mailto_action = deliver\n"                                \
	"[org one]\n"                                                          \
	"domains = one.example\n"                                              \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.host.example/u/\n"                        \
	"unsubscribe_mailto = lists@host.example\n"                            \
	"unsubscribe_mailto_from = yes\n"                                      \
	"[org two]\n"                                                          \
	"domains = two.example\n"                                              \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.host.example/u/\n"                        \
	"unsubscribe_mailto = lists@host.example\n"                            \
	"unsubscribe_mailto_from = yes\n"                                      \
	"[org news]\n"                                                         \
	"domains = news.example\n"                                             \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.news.example/u/\n"                        \
	"unsubscribe_mailto = unsub+news@acme.example\n"                       \
	"unsubscribe_mailto_from = yes\n"                                      \
	"unsubscribe_mailto_action = deliver\n"                                \
	"[org quiet]\n"                                                        \
	"domains = quiet.example\n"                                            \
	"identification_mode = off\n"                                          \
	"unsubscribe_url = https://u.quiet.example/u/\n"

static char *ringpath;
static struct pw_keyring *ring;

static struct pw_config *
load(const char *store)
{
	char *orgs = t_tmpfile("orgs.conf", ORGS, 0644);
	char *text = pw_asprintf("organisations = file:%s\nstore = %s\n"
				 "unsubscribe_keys = %s\n",
	    orgs, store, ringpath);
	char *path = t_tmpfile("mailto.conf", text, 0644);
	struct pw_buf err = {0};
	struct pw_config *cfg = pw_policies_load(path, &err);

	if (cfg == NULL)
		fail_msg("load: %s", err.data);
	free(orgs);
	free(text);
	free(path);
	return cfg;
}

static struct pw_call
call_of(struct pw_msg *m)
{
	size_t i;
	struct pw_call c = {m, NULL, NULL};

	for (i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_unsub_mailto)
			break;
	assert_true(i < pw_npolicies);
	c.conf = pw_policy_conf(m->cfg, i);
	if (m->priv[i] == NULL)
		m->priv[i] = pw_arena_alloc(m->arena,
		    pol_unsub_mailto.msg_state_size);
	c.priv = m->priv[i];
	return c;
}

/* mint - a token of org for rcpt, as pol_unsub makes them */
static char *
mint(const char *org, const char *rcpt)
{
	char *tok = NULL, id[17];
	const char *why;

	if (pw_token_mint(ring, 1, org, "", rcpt, time(NULL), &tok, id,
	    &why) < 0)
		fail_msg("mint: %s", why);
	return tok;
}

static long
rows(const char *dbpath, const char *addr)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long n = -1;

	if (access(dbpath, F_OK) != 0)
		return 0;
	assert_int_equal(sqlite3_open_v2(dbpath, &db, SQLITE_OPEN_READONLY,
	    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM "
	    "suppression WHERE address = ?", -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_text(st, 1, addr, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

/* What a case sends: rcpt patterns use "%T" for the token. */
static const struct t_case {
	const char	*name;
	const char	*tok_org;	/* token of this org, or NULL */
	const char	*tok_rcpt;	/* ... for this address */
	bool		 tamper;
	const char	*rcpts[3];
	const char	*from;		/* From header value, or NULL */
	bool		 two_froms;
	bool		 dmarc_fail;
	enum pw_verdict	 want;
	const char	*summary;	/* substring; NULL: none at all */
	const char	*addr;		/* suppression rows counted for */
	long		 rows;		/* rows after the case */
	size_t		 ndel;		/* recipients removed */
} cases[] = {
    {"token", "acme", "bob@x.example", false, {"unsub+%T@acme.example"},
	NULL, false, false, PW_DISCARD, "unsub=recorded(acme,token=",
	"bob@x.example", 1, 1},
    {"token again: already in force", "acme", "bob@x.example", false,
	{"<unsub+%T@acme.example>"}, NULL, false, false, PW_DISCARD,
	"unsub=already(acme,token=", "bob@x.example", 1, 1},
    {"local part case, domain case", "acme", "carl@x.example", false,
	{"UNSUB+%T@Acme.Example"}, NULL, false, false, PW_DISCARD,
	"unsub=recorded(acme", "carl@x.example", 1, 1},
    {"other recipients keep the message", "acme", "dan@x.example", false,
	{"unsub+%T@acme.example", "info@acme.example"}, NULL, false, false,
	PW_DUNNO, "unsub=recorded(acme", "dan@x.example", 1, 1},
    {"tampered token", "acme", "eve@x.example", true,
	{"unsub+%T@acme.example"}, "eve@x.example", false, false, PW_DUNNO,
	"unsub=ignored(bad MAC)", "eve@x.example", 0, 0},
    {"token of another organisation", "shop", "fay@x.example", false,
	{"unsub+%T@acme.example"}, NULL, false, false, PW_DUNNO,
	"unsub=ignored(wrong organisation", "fay@x.example", 0, 0},
    {"plain address, From fallback not allowed", NULL, NULL, false,
	{"unsub@acme.example"}, "gus@x.example", false, false, PW_DUNNO,
	"unsub=ignored(no token)", "gus@x.example", 0, 0},
    {"plain address, From fallback, deliver", NULL, NULL, false,
	{"unsub@shop.example"}, "Hal <Hal@X.Example>", false, false, PW_DUNNO,
	"unsub=recorded(shop,from)", "hal@x.example", 1, 0},
    {"bad token falls back to From", "shop", "ivy@x.example", true,
	{"unsub+%T@shop.example"}, "ivy@x.example", false, false, PW_DUNNO,
	"unsub=recorded(shop,from)", "ivy@x.example", 1, 0},
    {"From fails DMARC", NULL, NULL, false, {"unsub@shop.example"},
	"jon@x.example", false, true, PW_DUNNO, "From fails DMARC",
	"jon@x.example", 0, 0},
    {"two From fields", NULL, NULL, false, {"unsub@shop.example"},
	"kim@x.example", true, false, PW_DUNNO, "no usable From",
	"kim@x.example", 0, 0},
    {"shared address: token picks the organisation", "two",
	"lea@x.example", false, {"lists+%T@host.example"}, NULL, false,
	false, PW_DISCARD, "unsub=recorded(two,token=", "lea@x.example", 1,
	1},
    {"shared address: From fallback ambiguous", NULL, NULL, false,
	{"lists@host.example"}, "max@x.example", false, false, PW_DUNNO,
	"unsub=ignored(no token)", "max@x.example", 0, 0},
    {"longest local part wins: unsub+news is another organisation's",
	NULL, NULL, false, {"unsub+news@acme.example"}, "oli@x.example",
	false, false, PW_DUNNO, "unsub=recorded(news,from)", "oli@x.example",
	1, 0},
    {"... and its own token", "news", "pat@x.example", false,
	{"unsub+news+%T@acme.example"}, NULL, false, false, PW_DUNNO,
	"unsub=recorded(news,token=", "pat@x.example", 1, 0},
    {"not an unsubscribe address", NULL, NULL, false,
	{"unsub-x@acme.example", "unsub+@acme.example", "unsub@other.example"},
	"ned@x.example", false, false, PW_DUNNO, NULL, "ned@x.example", 0,
	0},
};

static void
run(const struct t_case *t, struct pw_config *cfg, const char *dbpath)
{
	static struct pw_client cl;
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	struct pw_call c = call_of(m);
	char *tok = NULL;
	enum pw_verdict v;

	m->dir = PW_DIR_IN;
	m->env_from = "someone@x.example";
	if (t->tok_org != NULL) {
		tok = mint(t->tok_org, t->tok_rcpt);
		if (t->tamper) {	/* stays base64url: a bad MAC */
			char *ch = &tok[strlen(tok) - 2];

			*ch = *ch == 'A' ? 'B' : 'A';
		}
	}
	assert_int_equal(pol_unsub_mailto.mail(&c), PW_DUNNO);
	for (size_t i = 0; i < 3 && t->rcpts[i] != NULL; i++) {
		struct pw_buf r = {0};
		const char *p = t->rcpts[i], *pct = strstr(p, "%T");

		if (pct != NULL)
			pw_buf_printf(&r, "%.*s%s%s", (int)(pct - p), p, tok,
			    pct + 2);
		else
			pw_buf_puts(&r, p);
		assert_int_equal(pol_unsub_mailto.rcpt(&c, r.data), PW_DUNNO);
		pw_msg_add_rcpt(m, pw_msg_strip_angle(m, r.data));
		pw_buf_free(&r);
	}
	if (t->from != NULL) {
		pw_msg_add_hdr(m, "From", t->from);
		if (t->two_froms)
			pw_msg_add_hdr(m, "From", "other@x.example");
	}
	if (t->dmarc_fail) {
		m->auth.dmarc.done = true;
		m->auth.dmarc.result = PW_AUTH_FAIL;
	}
	v = pw_msg_decide(m, pol_unsub_mailto.eom(&c));
	if (v != t->want)
		fail_msg("%s: verdict %d, want %d", t->name, v, t->want);
	if (t->summary == NULL ? m->summary.len != 0 :
	    m->summary.data == NULL || strstr(m->summary.data, t->summary) ==
	    NULL)
		fail_msg("%s: summary \"%s\", want \"%s\"", t->name,
		    m->summary.data ? m->summary.data : "",
		    t->summary ? t->summary : "");
	if (rows(dbpath, t->addr) != t->rows)
		fail_msg("%s: %ld rows for %s, want %ld", t->name,
		    rows(dbpath, t->addr), t->addr, t->rows);
	if (m->ndelrcpts != t->ndel)
		fail_msg("%s: %zu recipients removed, want %zu", t->name,
		    m->ndelrcpts, t->ndel);
	free(tok);
	pw_msg_free(&m);
}

static void
t_cases(void **state)
{
	char *dbpath = t_tmpfile("mailto.db", "", 0600);
	char *spec = pw_asprintf("sqlite:%s", dbpath);
	struct pw_config *cfg;

	(void)state;
	unlink(dbpath);
	cfg = load(spec);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		run(&cases[i], cfg, dbpath);
	pw_config_release(&cfg);
	free(spec);
	free(dbpath);
}

/* The store cannot be opened: 451, so that the sender retries. */
static void
t_store_down(void **state)
{
	struct pw_config *cfg = load("sqlite:/nonexistent/dir/x.db");
	static struct pw_client cl;
	struct pw_msg *m = pw_msg_new(cfg, &cl);
	struct pw_call c = call_of(m);
	char *tok = mint("acme", "zoe@x.example");
	char *to = pw_asprintf("unsub+%s@acme.example", tok);

	(void)state;
	m->dir = PW_DIR_IN;
	pol_unsub_mailto.mail(&c);
	pol_unsub_mailto.rcpt(&c, to);
	pw_msg_add_rcpt(m, to);
	assert_int_equal(pw_msg_decide(m, pol_unsub_mailto.eom(&c)),
	    PW_TEMPFAIL);
	assert_string_equal(m->reply.rcode, "451");
	assert_string_equal(m->reply.xcode, "4.3.0");
	free(to);
	free(tok);
	pw_msg_free(&m);
	pw_config_release(&cfg);
}

/* No organisation has unsubscribe_mailto, or no organisations: idle. */
static void
t_idle(void **state)
{
	char *orgs = t_tmpfile("quiet.conf", "[org quiet]\ndomains = q.example\n"
	    "identification_mode = off\nunsub_mode = off\n"
	    "unsubscribe_url = https://u.q.example/u/\n", 0644);
	char *text = pw_asprintf("organisations = file:%s\nstore = "
	    "sqlite:/nonexistent/x.db\n", orgs);
	char *path = t_tmpfile("idle.conf", text, 0644);
	struct pw_buf err = {0};
	struct pw_config *cfg = pw_policies_load(path, &err);
	size_t i;

	(void)state;
	if (cfg == NULL)
		fail_msg("load: %s", err.data);
	for (i = 0; pw_policies[i] != &pol_unsub_mailto; i++)
		;
	assert_null(pw_policy_conf(cfg, i));
	pw_config_release(&cfg);
	free(orgs);
	free(text);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_cases),
	    cmocka_unit_test(t_store_down),
	    cmocka_unit_test(t_idle),
	};
	struct pw_buf err = {0};

	ringpath = t_tmpfile("ring", "1 " KEY "\n", 0600);
	if ((ring = pw_keyring_load(ringpath, &err)) == NULL) {
		fprintf(stderr, "ring: %s\n", err.data);
		return 1;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
