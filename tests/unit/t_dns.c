/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_dns - the shared resolver against a real unbound on 127.0.0.1:5310
 * (tests/unit/dns_server.sh, zone tests/data/dns/unit.zone): answers,
 * NXDOMAIN, NODATA, REFUSED and timeouts as temporary failures, the
 * per-message cap and deadline, many threads at once, and the server
 * stopped.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include <pthread.h>
#include <time.h>

#include "dns/dns.h"
#define DNSFIX_PORT "5310"
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
	dns = pw_dns_new(dnsfix_fwd, 2000, &err);
	if (dns == NULL) {
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

static const struct {
	const char	*spec;
	bool		 ok;
	const char	*err;	/* substring of the error */
} spec_cases[] = {
	{"127.0.0.1@5310", true, NULL},
	{"127.0.0.1, ::1@53", true, NULL},
	{"192.0.2.1 198.51.100.1@5353", true, NULL},
	{"localhost", false, "not an IP address"},
	{"127.0.0.1@", false, "bad port"},
	{"127.0.0.1@0", false, "bad port"},
	{"127.0.0.1@65536", false, "bad port"},
	{"127.0.0.1@53x", false, "bad port"},
	{"127.0.0.1, 300.1.1.1", false, "\"300.1.1.1\""},
};

static void
t_specs(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(spec_cases) / sizeof(*spec_cases);
	    i++) {
		char *err = NULL;
		struct pw_dns *d = pw_dns_new(spec_cases[i].spec, 100, &err);

		if (spec_cases[i].ok) {
			assert_non_null(d);
			assert_null(err);
		} else {
			assert_null(d);
			assert_non_null(err);
			if (strstr(err, spec_cases[i].err) == NULL)
				fail_msg("%s: error \"%s\" lacks \"%s\"",
				    spec_cases[i].spec, err,
				    spec_cases[i].err);
		}
		pw_dns_free(&d);
		free(err);
	}
}

static const struct {
	const char		*name;
	int			 type;
	enum pw_dns_status	 st;
	const char		*txt0;	/* first TXT, joined */
	size_t			 n;
} q_cases[] = {
	{"example.test", PW_DNS_T_TXT, PW_DNS_ANSWER,
	    "v=spf1 ip4:192.0.2.1 -all", 1},
	{"split.example.test", PW_DNS_T_TXT, PW_DNS_ANSWER,
	    "v=spf1 ip4:192.0.2.2 -all", 1},
	{"multi.example.test", PW_DNS_T_TXT, PW_DNS_ANSWER, NULL, 2},
	{"a.example.test", PW_DNS_T_A, PW_DNS_ANSWER, NULL, 1},
	{"a.example.test", PW_DNS_T_AAAA, PW_DNS_ANSWER, NULL, 1},
	{"a.example.test", PW_DNS_T_TXT, PW_DNS_NODATA, NULL, 0},
	{"a.example.test", PW_DNS_T_MX, PW_DNS_NODATA, NULL, 0},
	{"nope.example.test", PW_DNS_T_TXT, PW_DNS_NXDOMAIN, NULL, 0},
	{"_dmarc.example.test", PW_DNS_T_TXT, PW_DNS_ANSWER,
	    "v=DMARC1; p=reject", 1},
	{"x.refused.test", PW_DNS_T_TXT, PW_DNS_TEMPFAIL, NULL, 0},
	{"EXAMPLE.TEST.", PW_DNS_T_TXT, PW_DNS_ANSWER,
	    "v=spf1 ip4:192.0.2.1 -all", 1},
};

static void
t_queries(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(q_cases) / sizeof(*q_cases); i++) {
		struct pw_dns_result r;
		enum pw_dns_status st;

		st = pw_dns_query(dns, NULL, q_cases[i].name, q_cases[i].type,
		    &r);
		if (st != q_cases[i].st)
			fail_msg("%s/%d: got %s, want %s", q_cases[i].name,
			    q_cases[i].type, pw_dns_status_name(st),
			    pw_dns_status_name(q_cases[i].st));
		assert_int_equal(r.n, q_cases[i].n);
		if (st == PW_DNS_TEMPFAIL)
			assert_non_null(r.why);
		if (st == PW_DNS_ANSWER)
			assert_non_null(r.packet);
		pw_dns_result_free(&r);
		if (q_cases[i].type == PW_DNS_T_TXT) {
			char **txt;
			const char *why;

			st = pw_dns_txt(dns, NULL, q_cases[i].name, &txt,
			    &why);
			assert_int_equal(st, q_cases[i].st);
			if (q_cases[i].txt0 != NULL)
				assert_string_equal(txt[0], q_cases[i].txt0);
			if (st == PW_DNS_ANSWER) {
				size_t n = 0;

				while (txt[n] != NULL)
					n++;
				assert_int_equal(n, q_cases[i].n);
			} else
				assert_null(txt);
			pw_strv_free(&txt);
		}
	}
}

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A forwarder that never answers: the per-query deadline must hold. */
static void
t_timeout(void **state)
{
	struct pw_dns_result r;
	struct pw_dns *d;
	char *err = NULL;
	double t0;

	(void)state;
	d = pw_dns_new(DNSFIX_DEAD, 300, &err);
	assert_non_null(d);
	t0 = now();
	assert_int_equal(pw_dns_query(d, NULL, "example.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	assert_string_equal(r.why, "timeout");
	assert_true(now() - t0 < 1.5);
	assert_true(now() - t0 >= 0.25);
	pw_dns_result_free(&r);
	/* The zone's own dead delegation, through the live server. */
	t0 = now();
	assert_int_equal(pw_dns_query(d, NULL, "x.dead.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	pw_dns_result_free(&r);
	/* Freeing with the abandoned queries still inside libunbound. */
	pw_dns_free(&d);
}

static void
t_budget(void **state)
{
	struct pw_dns_budget b;
	struct pw_dns_result r;
	struct pw_dns *d;
	char *err = NULL;
	double t0;

	(void)state;
	pw_dns_budget_init(&b, 2, 0);
	assert_int_equal(pw_dns_query(dns, &b, "example.test", PW_DNS_T_TXT,
	    &r), PW_DNS_ANSWER);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(dns, &b, "nope.example.test",
	    PW_DNS_T_TXT, &r), PW_DNS_NXDOMAIN);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(dns, &b, "example.test", PW_DNS_T_TXT,
	    &r), PW_DNS_LIMIT);
	pw_dns_result_free(&r);
	assert_int_equal(b.used, 2);
	assert_int_equal(b.limited, 1);
	assert_int_equal(b.tempfails, 0);

	/* A stage deadline shorter than the per-query timeout wins. */
	d = pw_dns_new(DNSFIX_DEAD, 5000, &err);
	assert_non_null(d);
	pw_dns_budget_init(&b, 0, 200);
	t0 = now();
	assert_int_equal(pw_dns_query(d, &b, "example.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	assert_true(now() - t0 < 1.0);
	assert_int_equal(b.tempfails, 1);
	pw_dns_result_free(&r);
	pw_dns_free(&d);

	/* The thread-local binding the library hooks use. */
	assert_null(pw_dns_budget_current());
	assert_null(pw_dns_budget_bind(&b));
	assert_ptr_equal(pw_dns_budget_current(), &b);
	assert_ptr_equal(pw_dns_budget_bind(NULL), &b);
}

static void
t_shared(void **state)
{
	struct pw_dns *a, *b, *c;
	char *err = NULL;

	(void)state;
	a = pw_dns_shared(dnsfix_fwd, 2000, &err);
	b = pw_dns_shared(dnsfix_fwd, 2000, &err);
	assert_non_null(a);
	assert_ptr_equal(a, b);
	c = pw_dns_shared(DNSFIX_DEAD, 2000, &err);
	assert_non_null(c);
	assert_ptr_not_equal(a, c);
	assert_null(pw_dns_shared("bogus", 2000, &err));
	assert_non_null(err);
	free(err);
	pw_dns_free(&a);
	pw_dns_free(&b);
	pw_dns_free(&c);
}

/* issue 13: names that cannot be a DNS query */
static const struct {
	const char	*name;
	bool		 ok;
} name_cases[] = {
	{"example.test", true},
	{"example.test.", true},
	{"a", true},
	{"", false},
	{".", false},
	{".example.test", false},
	{"a..example.test", false},
	{"example.test..", false},
	{"a\\046b.example.test", false},
	{"_dmarc.example.test", true},
	{"with space.example.test", true},
};

static void
t_names(void **state)
{
	struct pw_dns_budget b;
	struct pw_dns_result r;
	char lab63[64], lab64[65], name[300];

	(void)state;
	for (size_t i = 0; i < sizeof(name_cases) / sizeof(*name_cases); i++)
		if (pw_dns_name_ok(name_cases[i].name) != name_cases[i].ok)
			fail_msg("\"%s\": want %s", name_cases[i].name,
			    name_cases[i].ok ? "ok" : "not a DNS name");
	memset(lab63, 'a', 63);
	lab63[63] = '\0';
	memset(lab64, 'a', 64);
	lab64[64] = '\0';
	snprintf(name, sizeof(name), "%s.check.test", lab63);
	assert_true(pw_dns_name_ok(name));
	snprintf(name, sizeof(name), "%s.check.test", lab64);
	assert_false(pw_dns_name_ok(name));
	/* 253 octets (255 on the wire) is the most; a final dot is free */
	snprintf(name, sizeof(name), "%s.%s.%s.%.50s.check.test", lab63,
	    lab63, lab63, lab63);
	assert_int_equal(strlen(name), 253);
	assert_true(pw_dns_name_ok(name));
	strcat(name, ".");
	assert_true(pw_dns_name_ok(name));
	snprintf(name, sizeof(name), "%s.%s.%s.%.51s.check.test", lab63,
	    lab63, lab63, lab63);
	assert_false(pw_dns_name_ok(name));

	/* Not sent, not charged, not a temporary failure: NXDOMAIN. */
	pw_dns_budget_init(&b, 3, 0);
	snprintf(name, sizeof(name), "%s.check.test", lab64);
	assert_int_equal(pw_dns_query(dns, &b, name, PW_DNS_T_TXT, &r),
	    PW_DNS_NXDOMAIN);
	assert_string_equal(r.why, "not a DNS name");
	assert_null(r.packet);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(dns, &b, "a..check.test", PW_DNS_T_A,
	    &r), PW_DNS_NXDOMAIN);
	pw_dns_result_free(&r);
	assert_int_equal(b.used, 0);
	assert_int_equal(b.tempfails, 0);
	/* The longest valid name is asked (the server says NXDOMAIN). */
	snprintf(name, sizeof(name), "%s.%s.%s.%.50s.check.test", lab63,
	    lab63, lab63, lab63);
	assert_int_equal(pw_dns_query(dns, &b, name, PW_DNS_T_TXT, &r),
	    PW_DNS_NXDOMAIN);
	assert_null(r.why);
	pw_dns_result_free(&r);
	assert_int_equal(b.used, 1);
	/* With forwarders, libunbound's own RFC 6303 zones are gone: the
	   PTR of a private or documentation address is the server's. */
	assert_int_equal(pw_dns_query(dns, NULL, "7.0.168.192.in-addr.arpa",
	    PW_DNS_T_PTR, &r), PW_DNS_ANSWER);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(dns, NULL, "1.0.0.0.0.0.0.0.0.0.0.0.0.0."
	    "0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa", PW_DNS_T_PTR,
	    &r), PW_DNS_ANSWER);
	pw_dns_result_free(&r);
	/* DMARC records go through pw_dns_txt(): the same answer */
	{
		char **txt = NULL;
		const char *why = NULL;

		assert_int_equal(pw_dns_txt(dns, &b, "_dmarc..check.test",
		    &txt, &why), PW_DNS_NXDOMAIN);
		assert_null(txt);
	}
	assert_int_equal(b.tempfails, 0);
}

static void *
hammer(void *arg)
{
	long bad = 0;

	(void)arg;
	for (int i = 0; i < 40; i++) {
		struct pw_dns_result r;
		const char *name = i % 3 == 0 ? "example.test" :
		    i % 3 == 1 ? "nope.example.test" : "a.example.test";
		enum pw_dns_status want = i % 3 == 0 ? PW_DNS_ANSWER :
		    i % 3 == 1 ? PW_DNS_NXDOMAIN : PW_DNS_ANSWER;

		if (pw_dns_query(dns, NULL, name, i % 3 == 2 ? PW_DNS_T_A :
		    PW_DNS_T_TXT, &r) != want)
			bad++;
		pw_dns_result_free(&r);
	}
	return (void *)bad;
}

static void
t_threads(void **state)
{
	pthread_t t[8];

	(void)state;
	for (int i = 0; i < 8; i++)
		assert_int_equal(pthread_create(&t[i], NULL, hammer, NULL), 0);
	for (int i = 0; i < 8; i++) {
		void *bad;

		pthread_join(t[i], &bad);
		assert_int_equal((long)bad, 0);
	}
}

/* Our answer cache: hits for answers and negative answers (TTL > 0),
   name case and the final dot ignored; temporary failures never kept. */
static void
t_cache(void **state)
{
	struct pw_dns_result r, r2;
	struct pw_dns *d;
	char *err = NULL;
	unsigned long q0, q1, tf;

	(void)state;
	d = pw_dns_new(dnsfix_fwd, 2000, &err);
	assert_non_null(d);
	assert_int_equal(pw_dns_query(d, NULL, "split.example.test",
	    PW_DNS_T_TXT, &r), PW_DNS_ANSWER);
	pw_dns_stats(d, &q0, &tf);
	assert_int_equal(pw_dns_cache_hits(d), 0);
	assert_int_equal(pw_dns_query(d, NULL, "SPLIT.Example.TEST.",
	    PW_DNS_T_TXT, &r2), PW_DNS_ANSWER);
	pw_dns_stats(d, &q1, &tf);
	assert_int_equal(q1, q0);		/* not sent again */
	assert_int_equal(pw_dns_cache_hits(d), 1);
	assert_int_equal(r2.n, r.n);
	assert_int_equal(r2.len[0], r.len[0]);
	assert_memory_equal(r2.data[0], r.data[0], (size_t)r.len[0]);
	assert_int_equal(r2.packet_len, r.packet_len);
	pw_dns_result_free(&r);		/* the entry outlives either */
	assert_int_equal(r2.data[0][0], 7);	/* "v=spf1 " */
	pw_dns_result_free(&r2);
	/* another type of the same name is another entry */
	assert_int_equal(pw_dns_query(d, NULL, "split.example.test",
	    PW_DNS_T_A, &r), PW_DNS_NODATA);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_cache_hits(d), 1);
	/* temporary failures are asked again every time */
	assert_int_equal(pw_dns_query(d, NULL, "x.refused.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(d, NULL, "x.refused.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	pw_dns_result_free(&r);
	pw_dns_stats(d, &q1, &tf);
	assert_int_equal(tf, 2);
	assert_int_equal(pw_dns_cache_hits(d), 1);
	/* a budget counts cached lookups too */
	{
		struct pw_dns_budget b;

		pw_dns_budget_init(&b, 1, 0);
		assert_int_equal(pw_dns_query(d, &b, "split.example.test",
		    PW_DNS_T_TXT, &r), PW_DNS_ANSWER);
		pw_dns_result_free(&r);
		assert_int_equal(pw_dns_query(d, &b, "split.example.test",
		    PW_DNS_T_TXT, &r), PW_DNS_LIMIT);
		pw_dns_result_free(&r);
	}
	pw_dns_free(&d);
}

/* Last: the server goes away; a fresh resolver (empty cache) must say
   "temporary failure", never NXDOMAIN or NODATA. */
static void
t_server_stopped(void **state)
{
	struct pw_dns_result r;
	struct pw_dns *d;
	char *err = NULL;
	unsigned long nq, ntf;

	(void)state;
	dnsfix_server("stop");
	d = pw_dns_new(dnsfix_fwd, 500, &err);
	assert_non_null(d);
	assert_int_equal(pw_dns_query(d, NULL, "example.test", PW_DNS_T_TXT,
	    &r), PW_DNS_TEMPFAIL);
	pw_dns_result_free(&r);
	assert_int_equal(pw_dns_query(d, NULL, "nope.example.test",
	    PW_DNS_T_TXT, &r), PW_DNS_TEMPFAIL);
	pw_dns_result_free(&r);
	pw_dns_stats(d, &nq, &ntf);
	assert_int_equal(nq, 2);
	assert_int_equal(ntf, 2);
	pw_dns_free(&d);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_specs),
		cmocka_unit_test(t_queries),
		cmocka_unit_test(t_names),
		cmocka_unit_test(t_timeout),
		cmocka_unit_test(t_budget),
		cmocka_unit_test(t_shared),
		cmocka_unit_test(t_threads),
		cmocka_unit_test(t_cache),
		cmocka_unit_test(t_server_stopped),
	};

	dnsfix_require();
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
