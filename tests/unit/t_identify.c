/* SPDX-License-Identifier: BSD-2-Clause */
/* t_identify - sender identification (R8) in MIME bodies: multipart,
   quoted-printable, base64, charsets, HTML tags and entities. */
#include "unit.h"

#include "base/config.h"
#include "compliance/org.h"
#include "msg.h"
#include "policy.h"

extern const struct pw_policy pol_identify;

#define PROFILE                                                                \
	"business_name = Acme Widgets Inc.\n"                                  \
	"mailing_address = 123 Main Street West, Montr\xc3\xa9" "al QC "      \
	"H2X 1Y4\n"                                                            \
	"contact_phone = +1 514 555 0100\n"                                    \
	"contact_email = info@acme.example\n"                                  \
	"identification_url = https://acme.example/about/sender\n"             \
	"unsub_mode = off\n"

#define ORGS                                                                   \
	"[org acme]\ndomains = acme.example\n" PROFILE                         \
	"[org beta]\ndomains = beta.example\nidentification_mode = warn\n"     \
	PROFILE

#define CRLF "\r\n"
#define PLAIN_OK                                                               \
	"Hello." CRLF CRLF "--" CRLF "Acme Widgets Inc." CRLF                  \
	"123 Main Street West" CRLF "Montr\xc3\xa9" "al QC  H2X 1Y4" CRLF      \
	"Call +1 514 555 0100" CRLF
#define HDR_PLAIN "Content-Type: text/plain; charset=utf-8\n"
#define HDR_ALT                                                                \
	"MIME-Version: 1.0\n"                                                  \
	"Content-Type: multipart/alternative; boundary=\"b1\"\n"

struct t_case {
	const char	*name;
	const char	*org;
	enum pw_class	 class;
	const char	*hdrs;	/* "Name: value\n"... */
	const char	*body;
	enum pw_verdict	 verdict;
	const char	*expect;	/* reply (REJECT) or summary substring */
};

static const struct t_case cases[] = {
    {"plain text, all present", "acme", PW_CLASS_COMMERCIAL, HDR_PLAIN,
	PLAIN_OK, PW_DUNNO, "ident=ok"},
    {"plain text, no address", "acme", PW_CLASS_COMMERCIAL, HDR_PLAIN,
	"Acme Widgets Inc." CRLF "info@acme.example" CRLF, PW_REJECT,
	"identification (CASL, CRTC Regs s.2): text/plain: mailing address"},
    {"plain text, nothing", "acme", PW_CLASS_COMMERCIAL, HDR_PLAIN,
	"Buy now!" CRLF, PW_REJECT,
	"text/plain: business name, mailing address, contact (phone, email "
	"or web address)"},
    {"alternative: html with tags and entities between words", "acme",
	PW_CLASS_COMMERCIAL, HDR_ALT,
	"--b1" CRLF "Content-Type: text/plain; charset=utf-8" CRLF CRLF
	PLAIN_OK CRLF "--b1" CRLF "Content-Type: text/html; charset=utf-8"
	CRLF CRLF "<html><body><p>Sale!</p><footer>ACME&nbsp;<b>Wid</b>gets "
	"<i>Inc</i>.<br>123&#32;Main Street&#x20;West,<br/>\r\n"
	"Montr&eacute;al QC H2X&nbsp;1Y4<br>(514) 555-0100</footer>"
	"</body></html>" CRLF "--b1--" CRLF,
	PW_DUNNO, "ident=ok"},
    {"alternative: html part lacks it", "acme", PW_CLASS_COMMERCIAL, HDR_ALT,
	"--b1" CRLF "Content-Type: text/plain" CRLF CRLF PLAIN_OK CRLF "--b1"
	CRLF "Content-Type: text/html" CRLF CRLF
	"<p>Acme Widgets Inc.</p><p>Great deals</p>" CRLF "--b1--" CRLF,
	PW_REJECT,
	"s.2): text/html: mailing address, contact (phone, email or web "
	"address)"},
    {"both parts lack it: both named", "acme", PW_CLASS_COMMERCIAL, HDR_ALT,
	"--b1" CRLF "Content-Type: text/plain" CRLF CRLF "Deals" CRLF "--b1"
	CRLF "Content-Type: text/html" CRLF CRLF "<p>Acme Widgets Inc.</p>"
	CRLF "--b1--" CRLF,
	PW_REJECT, "text/plain: business name, mailing address, contact "
		   "(phone, email or web address); text/html: mailing address"},
    {"quoted-printable, soft breaks inside words", "acme",
	PW_CLASS_COMMERCIAL,
	HDR_PLAIN "Content-Transfer-Encoding: quoted-printable\n",
	"Acme Wid=" CRLF "gets Inc.=20" CRLF "123 Main Street West, Montr=C3=A9"
	"al QC H2X 1Y4" CRLF "Write to info=40acme.example" CRLF,
	PW_DUNNO, "ident=ok"},
    {"quoted-printable, garbled address", "acme", PW_CLASS_COMMERCIAL,
	HDR_PLAIN "Content-Transfer-Encoding: quoted-printable\n",
	"Acme Widgets Inc." CRLF "124 Main Street West, Montr=C3=A9al QC H2X "
	"1Y4" CRLF "info@acme.example" CRLF,
	PW_REJECT, "text/plain: mailing address"},
    {"base64 html in ISO-8859-1", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: text/html; charset=iso-8859-1\n"
	"Content-Transfer-Encoding: base64\n",
	/* "<p>Acme Widgets Inc.<br>123 Main Street West, Montr\xe9al QC H2X
	   1Y4<br><a href="mailto:info@acme.example">write</a></p>" */
	"PHA+QWNtZSBXaWRnZXRzIEluYy48YnI+MTIzIE1haW4gU3RyZWV0IFdlc3QsIE1vbnRy"
	"6WFsIFFDIEgyWCAxWTQ8YnI+PGEgaHJlZj0ibWFpbHRvOmluZm9AYWNtZS5leGFtcGxl"
	"Ij53cml0ZTwvYT48L3A+" CRLF,
	PW_DUNNO, "ident=ok"},
    {"base64 plain lacking contact", "acme", PW_CLASS_COMMERCIAL,
	HDR_PLAIN "Content-Transfer-Encoding: base64\n",
	/* "Acme Widgets Inc.\n123 Main Street West, Montreal QC H2X 1Y4\n" */
	"QWNtZSBXaWRnZXRzIEluYy4KMTIzIE1haW4gU3RyZWV0IFdlc3QsIE1vbnRyZWFs"
	"IFFDIEgyWCAxWTQK" CRLF,
	PW_REJECT, "text/plain: contact (phone, email or web address)"},
    {"link to the identification page suffices", "acme",
	PW_CLASS_COMMERCIAL, "Content-Type: text/html\n",
	"<p>Deals! <a href=\"https://acme.example/about/sender\">Who we "
	"are</a></p>" CRLF,
	PW_DUNNO, "ident=ok"},
    {"hidden in style and comments does not count", "acme",
	PW_CLASS_COMMERCIAL, "Content-Type: text/html\n",
	"<style>/* Acme Widgets Inc. */</style><!-- Acme Widgets Inc. -->"
	"<p>123 Main Street West, Montreal QC H2X 1Y4, (514) 555 0100</p>" CRLF,
	PW_REJECT, "text/html: business name"},
    {"name in an attribute only does not count", "acme",
	PW_CLASS_COMMERCIAL, "Content-Type: text/html\n",
	"<img alt=\"Acme Widgets Inc.\"><p>123 Main Street West, Montreal QC "
	"H2X 1Y4, info@acme.example</p>" CRLF,
	PW_REJECT, "text/html: business name"},
    {"text attachment is skipped", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: multipart/mixed; boundary=b2\n",
	"--b2" CRLF "Content-Type: text/plain" CRLF CRLF PLAIN_OK CRLF "--b2"
	CRLF "Content-Type: text/plain" CRLF
	"Content-Disposition: attachment; filename=terms.txt" CRLF CRLF
	"Terms." CRLF "--b2--" CRLF,
	PW_DUNNO, "ident=ok"},
    {"nested multipart", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: multipart/mixed; boundary=outer\n",
	"--outer" CRLF "Content-Type: multipart/alternative; boundary=inner"
	CRLF CRLF "--inner" CRLF "Content-Type: text/plain" CRLF CRLF PLAIN_OK
	CRLF "--inner" CRLF "Content-Type: text/html" CRLF CRLF "<b>x</b>"
	CRLF "--inner--" CRLF "--outer--" CRLF,
	PW_REJECT, "text/html: business name"},
    {"no text part", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n",
	"JVBERi0xLjQK" CRLF, PW_REJECT, "no text/plain or text/html part"},
    {"no MIME headers: text/plain us-ascii", "acme", PW_CLASS_COMMERCIAL,
	"Subject: hi\n", PLAIN_OK, PW_DUNNO, "ident=ok"},
    {"warn mode only logs", "beta", PW_CLASS_COMMERCIAL, HDR_PLAIN,
	"Buy now" CRLF, PW_DUNNO, "ident=missing(warn)"},
    /* CASL s.6(6) exempts transactional mail from consent only: the
       identification of s.6(2) is still required (R8, issue 4). */
    {"transactional is checked too", "acme", PW_CLASS_TRANSACTIONAL,
	HDR_PLAIN, "Your receipt" CRLF, PW_REJECT,
	"text/plain: business name, mailing address, contact"},
    {"transactional with identification", "acme", PW_CLASS_TRANSACTIONAL,
	HDR_PLAIN, PLAIN_OK, PW_DUNNO, "ident=ok"},
    {"other (not a CEM) is not checked", "acme", PW_CLASS_OTHER,
	HDR_PLAIN, "Your receipt" CRLF, PW_DUNNO, NULL},
    {"no organisation", NULL, PW_CLASS_NONE, HDR_PLAIN, "x" CRLF, PW_DUNNO,
	NULL},
    {"malformed multipart does not crash", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: multipart/alternative; boundary=\n"
	"Content-Transfer-Encoding: base64\n",
	"--" CRLF "Content-Type: text/html; charset=bogus-charset" CRLF CRLF
	"<p>x" CRLF,
	PW_REJECT, "no text/plain or text/html part"},
    {"bad entities, unknown charset, unclosed tag", "acme",
	PW_CLASS_COMMERCIAL, "Content-Type: text/html; charset=bogus-x\n",
	"&#xD800;&#0;&#1114112;&#x;&;&unknown;&eacute <p" CRLF,
	PW_REJECT, "text/html: business name"},
    {"numeric entities spell the name", "acme", PW_CLASS_COMMERCIAL,
	"Content-Type: text/html\n",
	"&#65;&#x63;me Widgets Inc &amp; co<br>123 Main Street West "
	"Montr&#233;al QC H2X 1Y4 <a href=\"https://acme.example/\">web</a> "
	"info&#64;acme.example" CRLF,
	PW_DUNNO, "ident=ok"},
};

static struct pw_config *cfg;
static struct pw_orgs *orgs;

static int
setup(void **state)
{
	char *o = t_tmpfile("orgs.conf", ORGS, 0644);
	char *text = pw_asprintf("body_memory_limit = 300\n"
	    "organisations = file:%s\n", o);
	char *c = t_tmpfile("identify.conf", text, 0644);
	struct pw_buf err = {0};

	(void)state;
	orgs = pw_orgs_load(o, &err);
	cfg = pw_policies_load(c, &err);
	if (err.data != NULL)
		fprintf(stderr, "%s", err.data);
	pw_buf_free(&err);
	free(o);
	free(c);
	free(text);
	return orgs == NULL || cfg == NULL ? -1 : 0;
}

static int
teardown(void **state)
{
	(void)state;
	pw_orgs_free(&orgs);
	pw_config_release(&cfg);
	return 0;
}

/* conf_of - the identify policy's conf in the snapshot */
static void *
conf_of(void)
{
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_identify)
			return pw_policy_conf(cfg, i);
	fail_msg("pol_identify not registered");
	return NULL;
}

static void
test_cases(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct t_case *tc = &cases[i];
		struct pw_client cl = {0};
		struct pw_msg *m = pw_msg_new(cfg, &cl);
		struct pw_call call = {m, conf_of(), NULL};
		char *h = pw_strdup(tc->hdrs), *line, *save = NULL;
		enum pw_verdict v;

		m->dir = PW_DIR_OUT;
		m->comply.org = tc->org ? pw_orgs_by_name(orgs, tc->org) : NULL;
		m->comply.class = tc->class;
		for (line = strtok_r(h, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char *colon = strchr(line, ':');

			*colon = '\0';
			pw_msg_add_hdr(m, line, colon + 1);
		}
		free(h);
		/* In small pieces, past body_memory_limit: the spill file
		   path is exercised too. */
		for (size_t off = 0, n = strlen(tc->body); off < n; off += 7)
			pw_msg_add_body(m, (const unsigned char *)tc->body + off,
			    n - off < 7 ? n - off : 7);
		v = pol_identify.eom(&call);
		if (v != tc->verdict)
			fail_msg("%s: verdict %d, reply %s", tc->name, v,
			    m->reply.text ? m->reply.text : "-");
		if (v == PW_REJECT) {
			assert_string_equal(m->reply.rcode, "550");
			assert_string_equal(m->reply.xcode, "5.7.1");
			if (strstr(m->reply.text, tc->expect) == NULL)
				fail_msg("%s: reply \"%s\"", tc->name,
				    m->reply.text);
		} else if (tc->expect != NULL &&
			   (m->summary.data == NULL ||
			    strstr(m->summary.data, tc->expect) == NULL)) {
			fail_msg("%s: summary \"%s\"", tc->name,
			    m->summary.data ? m->summary.data : "");
		} else if (tc->expect == NULL && m->summary.data != NULL) {
			fail_msg("%s: unexpected summary \"%s\"", tc->name,
			    m->summary.data);
		}
		pw_msg_free(&m);
	}
}

/* Without organisations the policy is idle (no body buffering). */
static void
test_idle(void **state)
{
	char *c = t_tmpfile("idle.conf", "temp_dir = /tmp\n", 0644);
	struct pw_buf err = {0};
	struct pw_config *idle = pw_policies_load(c, &err);

	(void)state;
	assert_non_null(idle);
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_identify)
			assert_null(pw_policy_conf(idle, i));
	pw_config_release(&idle);
	free(c);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cases),
	    cmocka_unit_test(test_idle),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
