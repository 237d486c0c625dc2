/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_authres - the Authentication-Results composer and the strict
 * authserv-id reader.  Composed headers are also parsed by an
 * independent implementation, Debian's python3-authres, which must read
 * back the same authserv-id, methods, results and properties.
 */
#include "autoconf.h"

#include <sys/stat.h>	/* unit.h uses chmod() before including it */

#include "unit.h"

#include "base/arena.h"
#include "base/util.h"
#include "parsers/authres.h"

#define PY "/usr/bin/python3"

/* The python side prints "id|method=result prop=value ...|..." */
static const char py_script[] =
    "import sys, authres\n"
    "h = sys.stdin.read()\n"
    "p = authres.AuthenticationResultsHeader.parse(h)\n"
    "out = [p.authserv_id]\n"
    "for r in p.results:\n"
    "    s = r.method + '=' + r.result\n"
    "    if r.reason: s += ' reason=' + r.reason\n"
    "    for q in r.properties: s += ' %s.%s=%s' % (q.type, q.name, q.value)\n"
    "    out.append(s)\n"
    "print('|'.join(out))\n";

static bool have_py;

/* py_parse - what python3-authres makes of "Authentication-Results:" v */
static char *
py_parse(const char *value)
{
	char path[] = "/tmp/pw-t_authres.XXXXXX", cmd[512], line[4096];
	int fd = mkstemp(path);
	FILE *fp;
	char *out = NULL;

	assert_true(fd >= 0);
	fp = fdopen(fd, "w");
	fprintf(fp, "Authentication-Results:%s", value);
	fclose(fp);
	snprintf(cmd, sizeof(cmd), PY " -c \"$PW_T_PY\" < %s 2>&1", path);
	setenv("PW_T_PY", py_script, 1);
	fp = popen(cmd, "r");
	assert_non_null(fp);
	if (fgets(line, sizeof(line), fp) != NULL) {
		line[strcspn(line, "\n")] = '\0';
		out = pw_strdup(line);
	}
	pclose(fp);
	unlink(path);
	return out ? out : pw_strdup("");
}

static struct pw_auth
auth_full(void)
{
	struct pw_auth a;

	memset(&a, 0, sizeof(a));
	a.spf.done = true;
	a.spf.result = PW_AUTH_PASS;
	a.spf.domain = "example.test";
	a.spf.mailfrom = "alice@example.test";
	a.spf.helo = "mail.example.test";
	a.spf.reason = "sender SPF authorized";
	a.dkim_done = true;
	a.ndkim = 2;
	a.dkim[0] = (struct pw_dkim_res){PW_AUTH_PASS, "example.test",
	    "sel1", "rsa-sha256", "ab+/cd12", NULL, 2048};
	a.dkim[1] = (struct pw_dkim_res){PW_AUTH_FAIL, "example.test",
	    "ed1", "ed25519-sha256", "Zz9/x+1a", "body hash mismatch", 0};
	a.dmarc.done = true;
	a.dmarc.result = PW_AUTH_PASS;
	a.dmarc.from_domain = "example.test";
	a.dmarc.policy = PW_DMARC_P_REJECT;
	a.dmarc.disposition = PW_DMARC_P_NONE;
	return a;
}

static void
t_compose_full(void **state)
{
	struct pw_arena *ar = pw_arena_new(1024);
	struct pw_auth a = auth_full();
	char *v, *py;

	(void)state;
	v = pw_authres_compose(ar, "mx.example.test", &a);
	assert_string_equal(v,
	    " mx.example.test;\r\n"
	    "\tspf=pass (sender SPF authorized) "
	    "smtp.mailfrom=alice@example.test;\r\n"
	    "\tdkim=pass (2048-bit key) header.d=example.test header.s=sel1 "
	    "header.a=rsa-sha256 header.b=\"ab+/cd12\";\r\n"
	    "\tdkim=fail reason=\"body hash mismatch\" header.d=example.test "
	    "header.s=ed1 header.a=ed25519-sha256 header.b=\"Zz9/x+1a\";\r\n"
	    "\tdmarc=pass (p=reject dis=none) header.from=example.test "
	    "policy.dmarc=reject");
	if (have_py) {
		py = py_parse(v);
		assert_string_equal(py, "mx.example.test"
		    "|spf=pass smtp.mailfrom=alice@example.test"
		    "|dkim=pass header.d=example.test header.s=sel1 "
		    "header.a=rsa-sha256 header.b=ab+/cd12"
		    "|dkim=fail reason=body hash mismatch header.d=example.test "
		    "header.s=ed1 header.a=ed25519-sha256 header.b=Zz9/x+1a"
		    "|dmarc=pass header.from=example.test policy.dmarc=reject");
		free(py);
	}
	pw_arena_free(&ar);
}

/* Hostile values from the message: each case composes, must not let a
   CR/LF through, and python3-authres must read the value back intact. */
static const struct {
	const char	*mailfrom;
	const char	*helo;
	const char	*reason;
	const char	*want_py;	/* python's view of the spf resinfo */
} hostile[] = {
	{"\"a b\"@example.test", NULL, "x",
	    "spf=fail smtp.mailfrom=\"a b\"@example.test"},
	/* python3-authres does not undo quoted-pairs: it shows them. */
	{"evil@example.test\r\nX-Injected: 1", NULL, "x",
	    "spf=fail smtp.mailfrom=evil@example.testX-Injected: 1"},
	{"a;b@example.test", NULL, "x",
	    "spf=fail smtp.mailfrom=a;b@example.test"},
	{"q\"uote\\@example.test", NULL, "x",
	    "spf=fail smtp.mailfrom=q\\\"uote\\\\@example.test"},
	{"\"a\"b\"@example.test", NULL, "x",
	    "spf=fail smtp.mailfrom=\\\"a\\\"b\\\"@example.test"},
	{NULL, "helo.example.test", "(nested) comment \\ here",
	    "spf=fail smtp.helo=helo.example.test"},
	{NULL, "[192.0.2.1]", "x", "spf=fail smtp.helo=[192.0.2.1]"},
	{"@example.test", NULL, "x", "spf=fail smtp.mailfrom=@example.test"},
	/* a quoted-pair escaping a line break is no quoted-string (found
	   by fuzz_authres: it went out as a bare LF) */
	{"\"a\\\nb\"@example.test", NULL, "x",
	    "spf=fail smtp.mailfrom=\\\"a\\\\b\\\"@example.test"},
};

static void
t_compose_hostile(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(hostile) / sizeof(*hostile); i++) {
		struct pw_arena *ar = pw_arena_new(1024);
		struct pw_auth a;
		char *v, *py, *want;

		memset(&a, 0, sizeof(a));
		a.spf.done = true;
		a.spf.result = PW_AUTH_FAIL;
		a.spf.mailfrom = hostile[i].mailfrom;
		a.spf.helo = hostile[i].helo;
		a.spf.reason = hostile[i].reason;
		v = pw_authres_compose(ar, "mx.example.test", &a);
		for (const char *p = v; (p = strchr(p, '\n')) != NULL; p++)
			if (p[1] != '\t')
				fail_msg("case %zu: bare line break in %s", i,
				    v);
		if (have_py) {
			py = py_parse(v);
			want = pw_asprintf("mx.example.test|%s",
			    hostile[i].want_py);
			if (strcmp(py, want) != 0)
				fail_msg("case %zu: python3-authres read\n%s\n"
				    "want\n%s\nfrom%s", i, py, want, v);
			free(py);
			free(want);
		}
		pw_arena_free(&ar);
	}
}

static void
t_compose_none(void **state)
{
	struct pw_arena *ar = pw_arena_new(1024);
	struct pw_auth a;
	char *v;

	(void)state;
	memset(&a, 0, sizeof(a));
	v = pw_authres_compose(ar, "mx.example.test", &a);
	assert_string_equal(v, " mx.example.test; none");
	a.dkim_done = true;
	a.dmarc.done = true;
	a.dmarc.result = PW_AUTH_TEMPERROR;
	a.dmarc.from_domain = "example.test";
	a.dmarc.reason = "DNS: SERVFAIL";
	v = pw_authres_compose(ar, "mx.example.test", &a);
	assert_string_equal(v, " mx.example.test;\r\n\tdkim=none;\r\n"
	    "\tdmarc=temperror (DNS: SERVFAIL) header.from=example.test");
	if (have_py) {
		char *py = py_parse(v);

		assert_string_equal(py, "mx.example.test|dkim=none|"
		    "dmarc=temperror header.from=example.test");
		free(py);
	}
	pw_arena_free(&ar);
}

static const struct {
	const char	*value;
	const char	*id;	/* NULL: must not parse */
	bool		 claims;	/* vs "mx.example.test" */
} ids[] = {
	{" mx.example.test; spf=pass", "mx.example.test", true},
	{" MX.Example.TEST; none", "MX.Example.TEST", true},
	{" mx.example.test 1; dkim=pass", "mx.example.test", true},
	{" (comment (nested)) mx.example.test (c) ; x", "mx.example.test",
	    true},
	{"\r\n\tmx.example.test\r\n\t; dkim=pass", "mx.example.test", true},
	{" \"mx.example.test\"; dkim=pass", "mx.example.test", true},
	{" \"mx.ex\\ample.test\"; dkim=pass", "mx.example.test", true},
	{" other.example; spf=pass", "other.example", false},
	{" mx.example.test.evil; spf=pass", "mx.example.test.evil", false},
	{" mx.example.testing; spf=pass", "mx.example.testing", false},
	/* Unparseable, but a lenient reader might see ours: removed. */
	{" mx.example.test spf=pass", NULL, true},
	{" mx.example.test", NULL, true},
	{" \"mx.example.test; dkim=pass", NULL, true},
	{" (unclosed mx.example.test; spf=pass", NULL, false},
	{" mx.example.test(unclosed; spf=pass", NULL, true},
	{"", NULL, false},
	{" ;spf=pass", NULL, false},
	{" \"\"; spf=pass", NULL, false},
	{" mx.example.test\x01; spf=pass", NULL, false},
	{" other.example spf=pass", NULL, false},
};

static void
t_parse_id(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(ids) / sizeof(*ids); i++) {
		const char *err = NULL;
		char *id = NULL;
		int rc = pw_authres_parse_id(ids[i].value, &id, &err);

		if (ids[i].id == NULL) {
			if (rc != -1)
				fail_msg("case %zu parsed as \"%s\"", i, id);
			assert_non_null(err);
			assert_null(id);
		} else {
			if (rc != 0)
				fail_msg("case %zu: %s", i, err);
			assert_string_equal(id, ids[i].id);
		}
		free(id);
		if (pw_authres_claims(ids[i].value, "mx.example.test") !=
		    ids[i].claims)
			fail_msg("case %zu: claims != %d", i, ids[i].claims);
	}
}

/* Our own output must read back as ours. */
static void
t_roundtrip(void **state)
{
	struct pw_arena *ar = pw_arena_new(1024);
	struct pw_auth a = auth_full();
	char *id;
	const char *err;

	(void)state;
	assert_int_equal(pw_authres_parse_id(pw_authres_compose(ar,
	    "mx.example.test", &a), &id, &err), 0);
	assert_string_equal(id, "mx.example.test");
	free(id);
	assert_true(pw_authres_claims(pw_authres_compose(ar, "mx.example.test",
	    &a), "mx.example.test"));
	pw_arena_free(&ar);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(t_compose_full),
		cmocka_unit_test(t_compose_hostile),
		cmocka_unit_test(t_compose_none),
		cmocka_unit_test(t_parse_id),
		cmocka_unit_test(t_roundtrip),
	};

	have_py = system(PY " -c 'import authres' >/dev/null 2>&1") == 0;
	if (!have_py)
		fprintf(stderr, "# python3-authres missing: cross-check "
		    "skipped\n");
	return cmocka_run_group_tests(tests, NULL, NULL);
}
