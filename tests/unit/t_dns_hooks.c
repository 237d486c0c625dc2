/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dns_hooks - libspf2 and libopendkim fed by the shared resolver,
 * against a real unbound (dnsfix.h).  Every SPF result the zone can
 * produce, DKIM pass / no key / revoked / key lookup REFUSED, and both
 * libraries with the server gone: temporary failures must come out as
 * temperror (SPF) and DKIM_SIGERROR_KEYFAIL (DKIM), never as fail or
 * "no key".  Also: spf_verify's two checks at MAIL FROM share one stage
 * deadline.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <time.h>
#include <opendkim/dkim.h>
#include <spf2/spf.h>

#include "base/config.h"
#include "dns/dns.h"
#include "dns/dns_hooks.h"
#include "msg.h"
#include "parsers/auth.h"
#include "policy.h"
#define DNSFIX_PORT "5311"
#include "base/util.h"
#include "dnsfix.h"

static struct pw_dns *dns;

static int
group_setup(void **state)
{
	char *err = NULL;

	(void)state;
	if (dnsfix_server("start") != 0)
		return -1;
	if ((dns = pw_dns_new(dnsfix_fwd, 2000, &err)) == NULL) {
		fprintf(stderr, "pw_dns_new: %s\n", err);
		return -1;
	}
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	pw_dns_free(&dns);
	return dnsfix_cleanup();
}

/* spf_check - result of libspf2 on our layer for (ip, mail from) */
static SPF_result_t
spf_check(struct pw_dns *d, struct pw_dns_budget *b, const char *ip,
    const char *from)
{
	SPF_dns_server_t *layer = pw_dns_spf_layer(d);
	SPF_server_t *srv = SPF_server_new_dns(layer, 0);
	SPF_request_t *req = SPF_request_new(srv);
	SPF_response_t *resp = NULL;
	struct pw_dns_budget *old = pw_dns_budget_bind(b);
	SPF_result_t res;
	SPF_errcode_t rc;

	assert_int_equal(SPF_request_set_ipv4_str(req, ip), SPF_E_SUCCESS);
	assert_int_equal(SPF_request_set_helo_dom(req, "helo.example.test"),
	    SPF_E_SUCCESS);
	assert_int_equal(SPF_request_set_env_from(req, from), SPF_E_SUCCESS);
	rc = SPF_request_query_mailfrom(req, &resp);
	res = resp ? SPF_response_result(resp) : SPF_RESULT_INVALID;
	/* A failed fetch of the record itself comes back as "(invalid)"
	   with SPF_E_DNS_ERROR; spf_verify reads it as temperror too. */
	if (res == SPF_RESULT_INVALID && rc == SPF_E_DNS_ERROR)
		res = SPF_RESULT_TEMPERROR;
	pw_dns_budget_bind(old);
	SPF_response_free(resp);
	SPF_request_free(req);
	SPF_server_free(srv);
	SPF_dns_free(layer);
	return res;
}

static const struct {
	const char	*ip;
	const char	*from;
	SPF_result_t	 want;
} spf_cases[] = {
	{"192.0.2.1", "a@example.test", SPF_RESULT_PASS},
	{"198.51.100.7", "a@example.test", SPF_RESULT_FAIL},
	{"192.0.2.2", "a@split.example.test", SPF_RESULT_PASS},
	{"192.0.2.1", "a@inc.example.test", SPF_RESULT_PASS},
	{"192.0.2.9", "a@inc.example.test", SPF_RESULT_FAIL},
	{"192.0.2.25", "a@mx.spf.example.test", SPF_RESULT_PASS},
	{"192.0.2.26", "a@mx.spf.example.test", SPF_RESULT_FAIL},
	{"192.0.2.1", "a@a.example.test", SPF_RESULT_NONE},	/* NODATA */
	{"192.0.2.1", "a@nope.example.test", SPF_RESULT_NONE}, /* NXDOMAIN */
	{"192.0.2.1", "a@refused.test", SPF_RESULT_TEMPERROR},
	{"192.0.2.1", "a@tfinc.spf.example.test", SPF_RESULT_TEMPERROR},
	/* issue 13: exists:%{l}.lp.example.test with a 64-octet local part
	   is a name that cannot exist (no match, RFC 7208 4.8), not a DNS
	   failure the sender could force */
	{"192.0.2.1", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	    "@lp.spf.example.test", SPF_RESULT_FAIL},
	{"192.0.2.1", "a..b@lp.spf.example.test", SPF_RESULT_FAIL},
};

static void
t_spf(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(spf_cases) / sizeof(*spf_cases); i++) {
		SPF_result_t r = spf_check(dns, NULL, spf_cases[i].ip,
		    spf_cases[i].from);

		if (r != spf_cases[i].want)
			fail_msg("%s %s: got %s, want %s", spf_cases[i].ip,
			    spf_cases[i].from, SPF_strresult(r),
			    SPF_strresult(spf_cases[i].want));
	}
}

/* The a: mechanism's lookup is REFUSED.  libspf2 may call that "no
   match" (fail); the budget shows the temporary failure, which the
   spf_verify policy turns into temperror. */
static void
t_spf_mech_tempfail(void **state)
{
	struct pw_dns_budget b;
	SPF_result_t r;

	(void)state;
	pw_dns_budget_init(&b, 0, 0);
	r = spf_check(dns, &b, "192.0.2.1", "a@tf.spf.example.test");
	assert_true(b.tempfails > 0);
	print_message("# a:refused -> libspf2 says %s, %u tempfail(s)\n",
	    SPF_strresult(r), b.tempfails);
}

/* issue 13: the name made from the local part cannot be asked: nothing
   is sent, nothing fails temporarily */
static void
t_spf_bad_name(void **state)
{
	struct pw_dns_budget b;
	SPF_result_t r;

	(void)state;
	pw_dns_budget_init(&b, 0, 0);
	r = spf_check(dns, &b, "192.0.2.1", "a..b@lp.spf.example.test");
	assert_int_equal(r, SPF_RESULT_FAIL);
	assert_int_equal(b.tempfails, 0);
}

static void
t_spf_budget(void **state)
{
	struct pw_dns_budget b;

	(void)state;
	pw_dns_budget_init(&b, 1, 0);
	(void)spf_check(dns, &b, "192.0.2.1", "a@inc.example.test");
	assert_int_equal(b.used, 1);
	assert_true(b.limited > 0);
}

static const char *const msg_hdrs[] = {
	"From: Alice <alice@example.test>",
	"To: bob@remote.test",
	"Subject: hooks",
	"Date: Wed, 25 Nov 2026 12:00:00 +0000",
	NULL,
};
static const char msg_body[] = "Hello Bob,\r\nthis is a test.\r\n";

/* sign - a DKIM-Signature header for d=domain s=sel, with the unit key */
static char *
sign(const char *domain, const char *sel)
{
	char path[512], key[4096], hdr[4096];
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	DKIM *d;
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/tests/data/dns/unit-rsa.key",
	    dnsfix_srcdir());
	assert_non_null(fp = fopen(path, "r"));
	n = fread(key, 1, sizeof(key) - 1, fp);
	key[n] = '\0';
	fclose(fp);
	d = dkim_sign(lib, (unsigned char *)"t", NULL, (unsigned char *)key,
	    (unsigned char *)sel, (unsigned char *)domain, DKIM_CANON_RELAXED,
	    DKIM_CANON_RELAXED, DKIM_SIGN_RSASHA256, -1, &st);
	assert_non_null(d);
	for (int i = 0; msg_hdrs[i]; i++)
		assert_int_equal(dkim_header(d, (unsigned char *)msg_hdrs[i],
		    strlen(msg_hdrs[i])), DKIM_STAT_OK);
	assert_int_equal(dkim_eoh(d), DKIM_STAT_OK);
	assert_int_equal(dkim_body(d, (unsigned char *)msg_body,
	    strlen(msg_body)), DKIM_STAT_OK);
	assert_int_equal(dkim_eom(d, NULL), DKIM_STAT_OK);
	assert_int_equal(dkim_getsighdr(d, (unsigned char *)hdr, sizeof(hdr),
	    strlen(DKIM_SIGNHEADER) + 2), DKIM_STAT_OK);
	dkim_free(d);
	dkim_close(lib);
	return pw_asprintf("%s: %s", DKIM_SIGNHEADER, hdr);
}

/* verify - dkim_eom status and the signature's error code */
static DKIM_STAT
verify(struct pw_dns *d, const char *sighdr, const char *body, int *err_r)
{
	DKIM_LIB *lib = dkim_init(NULL, NULL);
	DKIM_STAT st;
	DKIM_SIGINFO *sig;
	DKIM *v;

	assert_int_equal(pw_dns_dkim_attach(lib, d), 0);
	v = dkim_verify(lib, (unsigned char *)"v", NULL, &st);
	assert_non_null(v);
	assert_int_equal(dkim_header(v, (unsigned char *)sighdr,
	    strlen(sighdr)), DKIM_STAT_OK);
	for (int i = 0; msg_hdrs[i]; i++)
		dkim_header(v, (unsigned char *)msg_hdrs[i],
		    strlen(msg_hdrs[i]));
	dkim_eoh(v);
	dkim_body(v, (unsigned char *)body, strlen(body));
	st = dkim_eom(v, NULL);
	sig = dkim_getsignature(v);
	*err_r = sig ? dkim_sig_geterror(sig) : -100;
	dkim_free(v);
	dkim_close(lib);	/* releases the resolver reference */
	return st;
}

static const struct {
	const char	*domain;
	const char	*sel;
	bool		 tamper;
	DKIM_STAT	 st;
	int		 sigerr;
} dk_cases[] = {
	{"example.test", "unit", false, DKIM_STAT_OK, DKIM_SIGERROR_OK},
	{"example.test", "unit", true, DKIM_STAT_BADSIG, DKIM_SIGERROR_OK},
	{"example.test", "missing", false, DKIM_STAT_NOKEY,
	    DKIM_SIGERROR_NOKEY},
	{"example.test", "revoked", false, DKIM_STAT_REVOKED,
	    DKIM_SIGERROR_KEYREVOKED},
	{"refused.test", "unit", false, DKIM_STAT_KEYFAIL,
	    DKIM_SIGERROR_KEYFAIL},
	{"dead.test", "unit", false, DKIM_STAT_KEYFAIL,
	    DKIM_SIGERROR_KEYFAIL},
	/* issue 13: a selector of 64 octets makes a key name that cannot
	   be asked: no key, not a key lookup failure */
	{"example.test", "ssssssssssssssssssssssssssssssssssssssssssssssssssss"
	    "ssssssssssss", false, DKIM_STAT_NOKEY, DKIM_SIGERROR_NOKEY},
};

static void
t_dkim(void **state)
{
	struct pw_dns *fast;
	char *err = NULL;

	(void)state;
	/* dead.test waits for the per-query deadline: keep it short. */
	fast = pw_dns_new(dnsfix_fwd, 300, &err);
	assert_non_null(fast);
	for (size_t i = 0; i < sizeof(dk_cases) / sizeof(*dk_cases); i++) {
		char *h = sign(dk_cases[i].domain, dk_cases[i].sel);
		int sigerr;
		DKIM_STAT st = verify(fast, h, dk_cases[i].tamper ?
		    "Hello Eve,\r\nthis is a test.\r\n" : msg_body, &sigerr);

		if (st != dk_cases[i].st)
			fail_msg("%s/%s%s: status %d, want %d",
			    dk_cases[i].domain, dk_cases[i].sel,
			    dk_cases[i].tamper ? " (tampered)" : "", st,
			    dk_cases[i].st);
		if (dk_cases[i].st != DKIM_STAT_BADSIG)
			assert_int_equal(sigerr, dk_cases[i].sigerr);
		free(h);
	}
	pw_dns_free(&fast);
}

/*
 * spf_verify with spf_check_helo = yes makes two SPF checks at MAIL FROM;
 * both share one stage deadline (PW_DNS_STAGE_MS from the start of the
 * stage), or the stage could last twice as long as Postfix's
 * milter_command_timeout allows.  A dead server makes each check take
 * one dns_timeout (1 s): a deadline restarted by the second check ends
 * about 1 s later than one taken at the start.
 */
static void
t_spf_stage_deadline(void **state)
{
	extern const struct pw_policy pol_spf_verify;
	struct pw_buf errs = {0};
	struct pw_config *cfg;
	struct pw_client cl = {0};
	struct pw_msg *m;
	struct pw_call call;
	struct timespec t0, lim;
	void *conf = NULL;
	char *text, *path;

	(void)state;
	text = pw_asprintf("dns_nameservers = %s\ndns_timeout = 1s\n"
	    "log = stderr\nspf_check_helo = yes\ndkim_verify = no\n"
	    "dmarc_mode = off\n", DNSFIX_DEAD);
	path = t_tmpfile("spfstage.conf", text, 0644);
	free(text);
	cfg = pw_policies_load(path, &errs);
	free(path);
	if (cfg == NULL)
		fail_msg("config: %s", errs.data);
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_spf_verify)
			conf = pw_policy_conf(cfg, i);
	assert_non_null(conf);
	cl.has_addr = true;
	cl.sa.ss_family = AF_INET;
	inet_pton(AF_INET, "192.0.2.1",
	    &((struct sockaddr_in *)&cl.sa)->sin_addr);
	strcpy(cl.addr, "192.0.2.1");
	cl.helo = "client.example.test";
	m = pw_msg_new(cfg, &cl);
	pw_msg_set_qid(m, "T1");
	m->env_from = "a@example.test";
	call = (struct pw_call){m, conf, NULL};
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(pol_spf_verify.mail(&call), PW_DUNNO);
	assert_int_equal(m->auth.spf.result, PW_AUTH_TEMPERROR);
	assert_true(m->auth.spf_helo.done);
	assert_int_equal(m->auth.spf_helo.result, PW_AUTH_TEMPERROR);
	lim = t0;
	lim.tv_sec += PW_DNS_STAGE_MS / 1000;
	lim.tv_nsec += 500000000L;	/* slack: well below the 1 s */
	if (lim.tv_nsec >= 1000000000L) {
		lim.tv_sec++;
		lim.tv_nsec -= 1000000000L;
	}
	if (m->dns.deadline.tv_sec > lim.tv_sec ||
	    (m->dns.deadline.tv_sec == lim.tv_sec &&
	    m->dns.deadline.tv_nsec > lim.tv_nsec))
		fail_msg("stage deadline %lld ms after the start of the "
		    "stage, want %d ms", (long long)((m->dns.deadline.tv_sec
		    - t0.tv_sec) * 1000 + (m->dns.deadline.tv_nsec -
		    t0.tv_nsec) / 1000000), PW_DNS_STAGE_MS);
	pw_msg_free(&m);
	pw_config_release(&cfg);
}

/*
 * issue 13, through the policy: a "ptr" whose PTR lookup fails does not
 * match (RFC 7208 5.5), so the result is the record's -all, not
 * temperror; a lookup the result depends on still makes it temperror.
 */
static enum pw_auth_result
policy_spf(const char *ip, const char *from)
{
	extern const struct pw_policy pol_spf_verify;
	struct pw_buf errs = {0};
	struct pw_config *cfg;
	struct pw_client cl = {0};
	struct pw_msg *m;
	struct pw_call call;
	void *conf = NULL;
	char *text, *path;
	enum pw_auth_result res;

	text = pw_asprintf("dns_nameservers = %s\nlog = stderr\n"
	    "dkim_verify = no\ndmarc_mode = off\n", dnsfix_fwd);
	path = t_tmpfile("spfptr.conf", text, 0644);
	free(text);
	cfg = pw_policies_load(path, &errs);
	free(path);
	if (cfg == NULL)
		fail_msg("config: %s", errs.data);
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_spf_verify)
			conf = pw_policy_conf(cfg, i);
	assert_non_null(conf);
	cl.has_addr = true;
	cl.sa.ss_family = AF_INET;
	inet_pton(AF_INET, ip, &((struct sockaddr_in *)&cl.sa)->sin_addr);
	strcpy(cl.addr, ip);
	cl.helo = "client.example.test";
	m = pw_msg_new(cfg, &cl);
	pw_msg_set_qid(m, "T2");
	m->env_from = from;
	call = (struct pw_call){m, conf, NULL};
	assert_int_equal(pol_spf_verify.mail(&call), PW_DUNNO);
	res = m->auth.spf.result;
	pw_msg_free(&m);
	pw_config_release(&cfg);
	return res;
}

static void
t_spf_policy_corrections(void **state)
{
	(void)state;
	assert_int_equal(policy_spf("198.0.0.7", "a@ptrtf.spf.example.test"),
	    PW_AUTH_FAIL);
	assert_int_equal(policy_spf("192.0.2.1", "a@tf.spf.example.test"),
	    PW_AUTH_TEMPERROR);
	/* "v=spf1\0 -all": a syntax error, not the empty record */
	assert_int_equal(policy_spf("192.0.2.9", "a@nul.spf.example.test"),
	    PW_AUTH_PERMERROR);
	/* a name from the local part that cannot be asked: no match */
	assert_int_equal(policy_spf("192.0.2.1", "a..b@lp.spf.example.test"),
	    PW_AUTH_FAIL);
}

/* Last: no server at all. */
static void
t_server_stopped(void **state)
{
	struct pw_dns *d;
	char *err = NULL, *h;
	int sigerr;

	(void)state;
	dnsfix_server("stop");
	d = pw_dns_new(dnsfix_fwd, 400, &err);
	assert_non_null(d);
	assert_int_equal(spf_check(d, NULL, "192.0.2.1", "a@example.test"),
	    SPF_RESULT_TEMPERROR);
	h = sign("example.test", "unit");
	assert_int_equal(verify(d, h, msg_body, &sigerr), DKIM_STAT_KEYFAIL);
	assert_int_equal(sigerr, DKIM_SIGERROR_KEYFAIL);
	free(h);
	pw_dns_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_spf),
		cmocka_unit_test(t_spf_mech_tempfail),
		cmocka_unit_test(t_spf_budget),
		cmocka_unit_test(t_spf_bad_name),
		cmocka_unit_test(t_spf_policy_corrections),
		cmocka_unit_test(t_dkim),
		cmocka_unit_test(t_spf_stage_deadline),
		cmocka_unit_test(t_server_stopped),
	};

	dnsfix_require();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
