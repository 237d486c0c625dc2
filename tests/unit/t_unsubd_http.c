/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_unsubd_http - postwarden-unsubd's own parsing: the request path and
 * the RFC 8058 one-click body, urlencoded and multipart/form-data.
 */
#include "unit.h"

#include "base/util.h"
#include "unsubd_http.h"

#define UE "application/x-www-form-urlencoded"
#define MP "multipart/form-data; boundary=XyZ"
#define OC PW_UNSUBD_ONECLICK
#define ALL PW_UNSUBD_SCOPE_ALL

static const struct {
	const char *ct;
	const char *body;
	int want; /* flags, or -1 */
} bodies[] = {
    /* RFC 8058 §3.1 exactly, and the usual variants */
    {UE, "List-Unsubscribe=One-Click", OC},
    {NULL, "List-Unsubscribe=One-Click", OC},
    {"", "List-Unsubscribe=One-Click", OC},
    {UE "; charset=UTF-8", "List-Unsubscribe=One-Click", OC},
    {"Application/X-WWW-Form-Urlencoded", "List-Unsubscribe=One-Click", OC},
    {UE, "List-Unsubscribe=One-Click\r\n", OC},
    {UE, "List-Unsubscribe=One%2DClick", OC},
    {UE, "List%2dUnsubscribe=One-Click", OC},
    {UE, "a=b&List-Unsubscribe=One-Click&c", OC},
    {UE, "List-Unsubscribe=One-Click&scope=all", OC | ALL},
    {UE, "scope=all", ALL},
    /* near misses: valid bodies, no one-click field */
    {UE, "", 0},
    {UE, "List-Unsubscribe=one-click", 0},
    {UE, "list-unsubscribe=One-Click", 0},
    {UE, "List-Unsubscribe=One-Click+", 0},
    {UE, "List-Unsubscribe=One-Clicks", 0},
    {UE, "List-Unsubscribe", 0},
    {UE, "List-Unsubscribe=", 0},
    {UE, "=One-Click", 0},
    {UE, "List-Unsubscribe=One-Click%", 0},
    {UE, "List-Unsubscribe=One-Click%4", 0},
    {UE, "List-Unsubscribe=One-Click%zz", 0},
    {UE, "&&&", 0},
    /* unsupported types */
    {"text/plain", "List-Unsubscribe=One-Click", -1},
    {"application/json", "{\"List-Unsubscribe\":\"One-Click\"}", -1},
    {"application/x-www-form-urlencodedX", "List-Unsubscribe=One-Click", -1},
    /* multipart/form-data (RFC 7578), as curl -F sends it */
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     OC},
    {"multipart/form-data; boundary=\"XyZ\"",
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--",
     OC},
    {"Multipart/Form-Data;charset=utf-8;BOUNDARY=XyZ",
     "preamble\r\n--XyZ \t\r\ncontent-disposition: form-data; "
     "name=List-Unsubscribe\r\nContent-Type: text/plain\r\n\r\nOne-Click"
     "\r\n--XyZ--\r\nepilogue",
     OC},
    /* bare LF line ends */
    {MP,
     "--XyZ\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\n\n"
     "One-Click\n--XyZ--\n",
     OC},
    /* two parts, scope=all */
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nall\r\n"
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     OC | ALL},
    /* a boundary look-alike inside content is not a delimiter */
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--XyZa\r\n"
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     OC},
    /* wrong value, wrong name, a file, no disposition */
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click \r\n--XyZ--\r\n",
     0},
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe2\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     0},
    {MP,
     "--XyZ\r\nContent-Disposition: attachment; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     0},
    {MP, "--XyZ\r\n\r\nOne-Click\r\n--XyZ--\r\n", 0},
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "One-Click\r\n--XyZ--\r\n",
     0},
    /* malformed multipart */
    {"multipart/form-data", "--XyZ\r\n\r\n--XyZ--", -1},
    {"multipart/form-data; boundary=", "--\r\n\r\n----", -1},
    {"multipart/form-data; boundary=\"XyZ", "--XyZ--", -1},
    {"multipart/form-data; boundary=" /* 71 characters */
     "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
     "", -1},
    {MP, "", -1},
    {MP, "List-Unsubscribe=One-Click", -1},
    {MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click",
     -1},
    {MP, "--XyZ", -1},
    {MP, "--XyZ--", 0},
};

static void
t_bodies(void **state)
{
	size_t i;
	int got;

	(void)state;
	for (i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		got = pw_unsubd_body_parse(
		    bodies[i].ct, (const unsigned char *)bodies[i].body,
		    strlen(bodies[i].body));
		if (got != bodies[i].want)
			fail_msg("case %zu (%s | %s): got %d, want %d", i,
				 bodies[i].ct ? bodies[i].ct : "(null)",
				 bodies[i].body, got, bodies[i].want);
	}
}

/* A NUL inside the body is data, never an end of string: it makes the
   value "One-Click\0", which is not the one-click value. */
static void
t_body_nul(void **state)
{
	static const unsigned char b[] = "List-Unsubscribe=One-Click\0&x=y";

	(void)state;
	assert_int_equal(pw_unsubd_body_parse(UE, b, sizeof(b) - 1), 0);
	assert_int_equal(pw_unsubd_body_parse(UE, b, 26), OC);
	assert_int_equal(pw_unsubd_body_parse(UE, b, 20), 0);
}

#define TOK "AQIAAAAA_-xyz09"

static const struct {
	const char *path, *base;
	int ok;
	const char *org, *token;
} paths[] = {
    {"/u/" TOK, "/u", 0, NULL, TOK},
    {"/u/" TOK "/", "/u", 0, NULL, TOK},
    {"/u/acme/" TOK, "/u", 0, "acme", TOK},
    {"/u/acme.ca_x-1/" TOK "/", "/u", 0, "acme.ca_x-1", TOK},
    {"/" TOK, "", 0, NULL, TOK},
    {"/a/b/" TOK, "/a/b", 0, NULL, TOK},
    {"/u", "/u", -1, NULL, NULL},
    {"/u/", "/u", -1, NULL, NULL},
    {"/uu/" TOK, "/u", -1, NULL, NULL},
    {"/x/" TOK, "/u", -1, NULL, NULL},
    {"/u/a/b/" TOK, "/u", -1, NULL, NULL},
    {"/u/" TOK "=", "/u", -1, NULL, NULL},
    {"/u/" TOK "+", "/u", -1, NULL, NULL},
    {"/u//" TOK, "/u", -1, NULL, NULL},
    {"/u/ac me/" TOK, "/u", -1, NULL, NULL},
    {"/u/acme!/", "/u", -1, NULL, NULL},
    {"/u/" TOK "/x!", "/u", -1, NULL, NULL},
    {"/u/" TOK "//", "/u", -1, NULL, NULL},
};

static void
t_paths(void **state)
{
	struct pw_unsubd_target t;
	size_t i;
	int rc;

	(void)state;
	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		rc = pw_unsubd_path_parse(paths[i].path, paths[i].base, &t);
		if (rc != paths[i].ok)
			fail_msg("path %s: rc %d", paths[i].path, rc);
		if (rc < 0)
			continue;
		assert_int_equal(t.token_len, strlen(paths[i].token));
		assert_memory_equal(t.token, paths[i].token, t.token_len);
		if (paths[i].org == NULL) {
			assert_null(t.org);
		} else {
			assert_int_equal(t.org_len, strlen(paths[i].org));
			assert_memory_equal(t.org, paths[i].org, t.org_len);
		}
	}
}

static void
t_path_limits(void **state)
{
	struct pw_unsubd_target t;
	char *p = malloc(PW_UNSUBD_MAX_TOKEN + 8);

	(void)state;
	strcpy(p, "/u/");
	memset(p + 3, 'A', PW_UNSUBD_MAX_TOKEN);
	p[3 + PW_UNSUBD_MAX_TOKEN] = '\0';
	assert_int_equal(pw_unsubd_path_parse(p, "/u", &t), 0);
	strcat(p, "A");
	assert_int_equal(pw_unsubd_path_parse(p, "/u", &t), -1);
	free(p);
}

static void
t_escape(void **state)
{
	struct pw_buf b = {0};

	(void)state;
	pw_unsubd_html_escape(&b, "A&B <i>\"x\" 'y'");
	pw_buf_add(&b, "", 1);
	assert_string_equal(b.data,
			    "A&amp;B &lt;i&gt;&quot;x&quot; &#39;y&#39;");
	pw_buf_free(&b);
}

/* A name that ends a sentence gets one full stop, never two. */
static void
t_sentence_end(void **state)
{
	static const char *const cases[][2] = {
	    {"Acme Widgets Inc.", "Acme Widgets Inc."},
	    {"Other Ltd", "Other Ltd."},
	    {"Yahoo!", "Yahoo!"},
	    {"Who?", "Who?"},
	    {"A <B.>", "A &lt;B.&gt;."},
	    {"", "."},
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct pw_buf b = {0};

		pw_unsubd_html_sentence_end(&b, cases[i][0]);
		pw_buf_add(&b, "", 1);
		assert_string_equal(b.data, cases[i][1]);
		pw_buf_free(&b);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_bodies), cmocka_unit_test(t_body_nul),
	    cmocka_unit_test(t_paths),	cmocka_unit_test(t_path_limits),
	    cmocka_unit_test(t_escape), cmocka_unit_test(t_sentence_end),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
