/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dmarc_verify - the DMARC policy on real records (unbound with
 * tests/data/dns/unit.zone on 127.0.0.1:5312, dnsfix.h) and a PSL with
 * the test TLD added.  SPF and DKIM outcomes are set in msg->auth as
 * spf_verify and dkim_verify would leave them; the table covers
 * alignment (relaxed, strict, organizational domain), p/sp, pct, record
 * discovery (none, two records, non-DMARC TXT, bad record), temporary
 * failures (never a fail) and the From header checks.
 *
 * Several rows are regression tests for libopendmarc 1.4.2 behaviour we
 * work around: it aligns a parent domain under aspf=s, ignores pct,
 * treats a temporary SPF/DKIM error as a failure, and gives "test" as the
 * organizational domain of "u.test" (any one-letter label), which would
 * align u.test with r.test.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <arpa/inet.h>

#include "parsers/auth.h"
#include "base/config.h"
#include "msg.h"
#include "policy.h"

#define DNSFIX_PORT "5312"
#include "dnsfix.h"

extern const struct pw_policy pol_dmarc_verify;

static struct pw_config *cfg;
static void *dmarc_conf;
static struct pw_client client;

static int
group_setup(void **state)
{
	char cmd[1024], *text, *conf;
	struct pw_buf errs = {0};

	(void)state;
	if (dnsfix_server("start") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "{ cat /usr/share/publicsuffix/"
	    "public_suffix_list.dat; printf '\\ntest\\n'; } > %s/psl.dat",
	    dnsfix_dir);
	if (system(cmd) != 0)
		return -1;
	text = pw_asprintf("dns_nameservers = %s\nlog = stderr\n"
	    "dmarc_psl_file = %s/psl.dat\ndmarc_store_results = no\n"
	    "spf_verify = no\ndkim_verify = no\n", dnsfix_fwd, dnsfix_dir);
	conf = t_tmpfile("dmarc.conf", text, 0644);
	free(text);
	if ((cfg = pw_policies_load(conf, &errs)) == NULL) {
		fprintf(stderr, "config: %s\n", errs.data);
		return -1;
	}
	free(conf);
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_dmarc_verify)
			dmarc_conf = pw_policy_conf(cfg, i);
	if (dmarc_conf == NULL)
		return -1;
	client.has_addr = true;
	client.sa.ss_family = AF_INET;
	inet_pton(AF_INET, "198.51.100.7",
	    &((struct sockaddr_in *)&client.sa)->sin_addr);
	strcpy(client.addr, "198.51.100.7");
	client.helo = "client.example.test";
	return 0;
}

static int
group_teardown(void **state)
{
	(void)state;
	pw_config_release(&cfg);
	return dnsfix_cleanup();
}

enum { P = PW_AUTH_PASS, F = PW_AUTH_FAIL, T = PW_AUTH_TEMPERROR,
    N = PW_AUTH_NONE, E = PW_AUTH_PERMERROR };

struct id {
	const char	*domain;
	int		 result;
};

static const struct {
	const char		*from;		/* From header value(s) */
	struct id		 spf;
	struct id		 dkim[2];
	int			 want;		/* dmarc result */
	enum pw_dmarc_policy	 policy;
	enum pw_verdict		 verdict;
	bool			 defer;
	const char		*reply;		/* substring, or NULL */
} cases[] = {
	/* alignment */
	{" a@u.test", {"u.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"bounce.r.test", P}, {{"r.test", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false,
	    "Email from u.test rejected per its DMARC policy"},
	{" a@u.test", {"x.u.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"r.test", F}, {{"u.test", P}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@sub.rel.test", {"rel.test", P}, {{NULL, 0}}, P,
	    PW_DMARC_P_REJECT, PW_DUNNO, false, NULL},
	{" a@sub.str.test", {"str.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, "sub.str.test"},
	{" a@str.test", {"str.test", P}, {{NULL, 0}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@sub.dstr.test", {NULL, 0}, {{"dstr.test", P}}, F,
	    PW_DMARC_P_REJECT, PW_REJECT, false, NULL},
	{" a@sub.dstr.test", {NULL, 0}, {{"dstr.test", P},
	    {"sub.dstr.test", P}}, P, PW_DMARC_P_REJECT, PW_DUNNO, false,
	    NULL},
	/* p and sp */
	{" a@sub.sp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL},
	{" a@sp.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	/* pct=0: the next policy down */
	{" a@pct.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_QUARANTINE, false, NULL},
	{" a@pq.test", {"r.test", P}, {{NULL, 0}}, F,
	    PW_DMARC_P_QUARANTINE, PW_DUNNO, false, NULL},
	/* temporary failures */
	{" a@u.test", {"u.test", T}, {{NULL, 0}}, T, PW_DMARC_P_REJECT,
	    PW_DUNNO, true, NULL},
	{" a@u.test", {"u.test", T}, {{"u.test", P}}, P, PW_DMARC_P_REJECT,
	    PW_DUNNO, false, NULL},
	{" a@u.test", {"r.test", T}, {{"u.test", T}}, T, PW_DMARC_P_REJECT,
	    PW_DUNNO, true, NULL},
	{" a@u.test", {"r.test", T}, {{"r.test", T}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	{" a@pn.test", {"pn.test", T}, {{NULL, 0}}, T, PW_DMARC_P_NONE,
	    PW_DUNNO, false, NULL},
	/* the record cannot be fetched: defer only when the outcome could
	   depend on it; an identifier that passes for the From domain
	   itself is aligned under any aspf/adkim, so no policy applies */
	{" a@tf.test", {"tf.test", P}, {{NULL, 0}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@tf.test", {"r.test", F}, {{"tf.test", P}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@tf.test", {"x.tf.test", P}, {{NULL, 0}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, true, NULL},
	{" a@tf.test", {"r.test", P}, {{"tf.test", F}}, T, PW_DMARC_P_UNSET,
	    PW_DUNNO, true, NULL},
	/* record discovery */
	{" a@nodmarc.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@two.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@mix.test", {"r.test", P}, {{NULL, 0}}, F, PW_DMARC_P_REJECT,
	    PW_REJECT, false, NULL},
	{" a@nosep.test", {"r.test", P}, {{NULL, 0}}, N, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	{" a@bad.test", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_DUNNO, false, NULL},
	/* From header checks */
	{" a@u.test, b@r.test", {"r.test", P}, {{NULL, 0}}, E,
	    PW_DMARC_P_UNSET, PW_REJECT, false, "more than one address"},
	{" \"unbalanced <a@u.test>", {"r.test", P}, {{NULL, 0}}, E,
	    PW_DMARC_P_UNSET, PW_REJECT, false, "cannot be parsed"},
	{" undisclosed:;", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_REJECT, false, "without an address"},
	{" a@[192.0.2.1]", {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET,
	    PW_REJECT, false, "without a domain name"},
	{NULL, {"r.test", P}, {{NULL, 0}}, E, PW_DMARC_P_UNSET, PW_REJECT,
	    false, "no From header"},
};

static void
t_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct pw_msg *m = pw_msg_new(cfg, &client);
		struct pw_call call = {m, dmarc_conf, NULL};
		enum pw_verdict v;

		pw_msg_set_qid(m, "T1");
		if (cases[i].from != NULL)
			pw_msg_add_hdr(m, "From", cases[i].from);
		pw_msg_add_hdr(m, "Subject", " t");
		if (cases[i].spf.domain != NULL) {
			m->auth.spf.done = true;
			m->auth.spf.domain = cases[i].spf.domain;
			m->auth.spf.result = cases[i].spf.result;
		}
		for (size_t k = 0; k < 2 && cases[i].dkim[k].domain; k++) {
			m->auth.dkim[k].domain = cases[i].dkim[k].domain;
			m->auth.dkim[k].result = cases[i].dkim[k].result;
			m->auth.ndkim++;
		}
		m->auth.dkim_done = true;
		v = pol_dmarc_verify.eom(&call);
		if ((int)m->auth.dmarc.result != cases[i].want ||
		    m->auth.dmarc.policy != cases[i].policy || v !=
		    cases[i].verdict || m->defer != cases[i].defer)
			fail_msg("case %zu (%s): result %d policy %d verdict %d "
			    "defer %d; want %d %d %d %d (%s)", i,
			    cases[i].from ? cases[i].from : "no From",
			    m->auth.dmarc.result, m->auth.dmarc.policy, v,
			    m->defer, cases[i].want, cases[i].policy,
			    cases[i].verdict, cases[i].defer,
			    m->auth.dmarc.reason ? m->auth.dmarc.reason : "");
		if (cases[i].reply != NULL && (m->reply.text == NULL ||
		    strstr(m->reply.text, cases[i].reply) == NULL))
			fail_msg("case %zu: reply \"%s\" lacks \"%s\"", i,
			    m->reply.text ? m->reply.text : "", cases[i].reply);
		if (v == PW_REJECT)
			assert_string_equal(m->reply.rcode, "550");
		pw_msg_free(&m);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_cases),
	};

	dnsfix_require();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
