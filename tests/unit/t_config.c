/* SPDX-License-Identifier: BSD-2-Clause */
/* t_config - postwarden.conf parsing: every error names FILE:LINE. */
#include "unit.h"

#include "base/config.h"
#include "base/util.h"
#include "policy.h"

static const struct {
	const char	*text;
	const char	*error;	/* substring expected, NULL: loads */
} cases[] = {
	{"milter_socket = inet:9999@127.0.0.1\n", NULL},
	{"# comment\n\nlog = stderr\n", NULL},
	{"milter_sockett = inet:1@127.0.0.1\n", ":1: unknown parameter \"milter_sockett\""},
	{"log = stderr\nlog = syslog\n", ":2: \"log\" is already set at line 1"},
	{"log = files\n", ":1: log = files: not one of the allowed values (syslog | stderr)"},
	{"max_header_bytes = 10q\n", ":1: max_header_bytes = 10q: bad size unit"},
	{"max_header_bytes = 10\n", ":1: max_header_bytes = 10: value out of range"},
	{"max_header_bytes = 2m\n", NULL},
	{"no equals sign here\n", ":1: expected \"name = value\""},
	{"  continued\n", ":1: continuation line without a parameter"},
	{"internal_hosts = 10.0.0.0/8,\n  192.0.2.0/24\n", NULL},
	{"internal_hosts = 10.0.0.0/8,\n  192.0.2.0/33\n", ":1: \"192.0.2.0/33\""},
	{"milter_socket = tcp:1\n", ":1: milter_socket = tcp:1: expected"},
	{"store = mysql://x\n", ":1: store = mysql://x: expected"},
	{"log_facility = mial\n", ":1: log_facility = mial: unknown syslog facility"},
	{"milter_socket_mode = 0666\n", NULL},
	{"milter_socket_mode = 0999\n", ":1: milter_socket_mode = 0999"},
	{"dkim_key_table = file:/nonexistent\n", "dkim_key_table and dkim_signing_table go together"},
	{"on_internal_error = accept\n", NULL},
	{"Bad-Name = 1\n", ":1: bad parameter name \"Bad-Name\""},
	/* the services' own keys (issue 17): a bad one is an error, not a
	   crash of the checks that take the services */
	{"complaint_hold_action = park\n", ":1: complaint_hold_action = park: "
	    "not one of the allowed values (tempfail | hold)"},
	{"complaint_rate_interval = 0\n", ":1: complaint_rate_interval = 0: "
	    "value out of range"},
	{"complaint_rate_hold = 0.3\n", ":1: complaint_rate_hold = 0.3: "
	    "expected a percentage with its % sign"},
	{"complaint_rate_warn = off\ncomplaint_rate_hold = 2.5%\n"
	    "complaint_hold_action = hold\n", NULL},
};

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char name[32];
		char *path;
		struct pw_buf err = {0};
		struct pw_config *cfg;

		snprintf(name, sizeof(name), "c%zu.conf", i);
		path = t_tmpfile(name, cases[i].text, 0644);
		cfg = pw_policies_load(path, &err);
		if (cases[i].error == NULL) {
			if (cfg == NULL)
				fail_msg("case %zu: unexpected error: %s", i,
				    err.data);
		} else {
			if (cfg != NULL)
				fail_msg("case %zu: loaded, expected \"%s\"", i,
				    cases[i].error);
			if (err.data == NULL ||
			    strstr(err.data, cases[i].error) == NULL)
				fail_msg("case %zu: got \"%s\", expected \"%s\"",
				    i, err.data ? err.data : "", cases[i].error);
			if (strstr(err.data, path) != err.data)
				fail_msg("case %zu: error does not start with "
				    "the file name: %s", i, err.data);
		}
		pw_config_release(&cfg);
		pw_buf_free(&err);
		free(path);
	}
}

static void
test_all_errors_reported(void **state)
{
	char *path = t_tmpfile("many.conf", "bogus1 = 1\nlog = x\nbogus2 = 2\n",
	    0644);
	struct pw_buf err = {0};
	struct pw_config *cfg = pw_policies_load(path, &err);

	(void)state;
	assert_null(cfg);
	assert_non_null(strstr(err.data, ":1: unknown parameter \"bogus1\""));
	assert_non_null(strstr(err.data, ":2: log = x"));
	assert_non_null(strstr(err.data, ":3: unknown parameter \"bogus2\""));
	pw_buf_free(&err);
	free(path);
}

static void
test_values_and_print(void **state)
{
	char *path = t_tmpfile("v.conf", "log = stderr\nmax_header_bytes = 2k\n"
	    "milter_socket_mode = 0600\ninternal_hosts = 10.0.0.0/8\n", 0644);
	struct pw_buf err = {0};
	struct pw_config *cfg = pw_policies_load(path, &err);
	char *out = NULL, *where;
	size_t len = 0;
	FILE *fp;

	(void)state;
	assert_non_null(cfg);
	assert_int_equal(cfg->core.log, PW_LOG_STDERR);
	assert_int_equal(cfg->core.max_header_bytes, 2048);
	assert_int_equal(cfg->core.milter_socket_mode, 0600);
	assert_string_equal(cfg->core.milter_socket, "inet:8891@127.0.0.1");
	assert_true(pw_cidr_match_str(cfg->internal, "10.2.3.4"));
	assert_false(pw_cidr_match_str(cfg->internal, "127.0.0.1"));
	where = pw_asprintf("%s:2", path);
	assert_string_equal(pw_config_where(cfg, "max_header_bytes"), where);
	free(where);	/* LeakSanitizer (the sanitizer pass) */
	fp = open_memstream(&out, &len);
	pw_config_print(cfg, fp, false);
	fclose(fp);
	assert_non_null(strstr(out, "max_header_bytes = 2k\n"));
	assert_null(strstr(out, "milter_socket ="));	/* default: not shown */
	free(out);
	pw_config_release(&cfg);
	assert_null(cfg);
	free(path);
}

static void
test_missing_file(void **state)
{
	struct pw_buf err = {0};

	(void)state;
	assert_null(pw_policies_load("/nonexistent/postwarden.conf", &err));
	assert_non_null(strstr(err.data,
	    "/nonexistent/postwarden.conf: cannot open"));
	pw_buf_free(&err);
}

/* Checks that span two policies' keys still end in FILE:LINE errors. */
static void
test_unsub_keys(void **state)
{
	char *orgs = t_tmpfile("orgs.conf", "[org acme]\ndomains = acme.test\n"
	    "identification_mode = off\ntoken_key_id = 7\n"
	    "unsubscribe_url = https://u.acme.test/u/\n", 0644);
	char *ring = t_tmpfile("ring", "1 000102030405060708090a0b0c0d0e0f"
	    "101112131415161718191a1b1c1d1e1f\n", 0600);
	char *text = pw_asprintf("organisations = file:%s\n", orgs);
	char *path = t_tmpfile("u1.conf", text, 0644);
	struct pw_buf err = {0};

	(void)state;
	assert_null(pw_policies_load(path, &err));
	assert_non_null(strstr(err.data, "orgs.conf:1: [org acme] generates "
	    "unsubscribe headers, but unsubscribe_keys is not set"));
	pw_buf_free(&err);
	free(text);
	free(path);
	text = pw_asprintf("organisations = file:%s\nunsubscribe_keys = %s\n",
	    orgs, ring);
	path = t_tmpfile("u2.conf", text, 0644);
	assert_null(pw_policies_load(path, &err));
	assert_non_null(strstr(err.data, "[org acme] token_key_id 7 is not in "
	    "the key ring"));
	pw_buf_free(&err);
	free(text);
	free(path);
	free(orgs);
	free(ring);
}

/* The postwarden.conf lines shown in conf/nginx-unsubd.conf load as they
   are written there ("#   key = value" lines, the "# " taken off). */
static void
test_nginx_sample(void **state)
{
	const char *src = getenv("PW_SRCDIR");
	char *in = pw_asprintf("%s/conf/nginx-unsubd.conf", src ? src : "..");
	FILE *fp = fopen(in, "r");
	struct pw_buf text = {0}, err = {0};
	struct pw_config *cfg;
	char line[1024], *path;
	int n = 0;

	(void)state;
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL)
		if (strncmp(line, "#   unsubd_", 11) == 0 &&
		    strchr(line, '=') != NULL) {
			pw_buf_puts(&text, line + 4);
			n++;
		}
	fclose(fp);
	assert_true(n >= 4);
	path = t_tmpfile("nginx-sample.conf", text.data, 0644);
	cfg = pw_policies_load(path, &err);
	if (cfg == NULL)
		fail_msg("nginx-unsubd.conf sample lines: %s", err.data);
	assert_string_equal(pw_config_str(cfg, "unsubd_proxy_hosts"),
	    "127.0.0.1");
	pw_config_release(&cfg);
	pw_buf_free(&text);
	free(path);
	free(in);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_all_errors_reported),
	    cmocka_unit_test(test_values_and_print),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_unsub_keys),
	    cmocka_unit_test(test_nginx_sample),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
