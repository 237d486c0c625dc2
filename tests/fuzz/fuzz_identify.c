/* SPDX-License-Identifier: BSD-2-Clause */
/* fuzz_identify - sender identification over arbitrary MIME bodies (GMime
   parsing, QP/base64, charsets, the HTML tag and entity scanner): never a
   crash, a leak or a terminal verdict without a reply. */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "compliance/org.h"
#include "msg.h"
#include "policy.h"

extern const struct pw_policy pol_identify;

static struct pw_config *cfg;
static struct pw_orgs *orgs;
static void *conf;

/* Content-Type variants picked by the first input byte. */
static const char *const types[][2] = {
    {" multipart/alternative; boundary=b", NULL},
    {" text/html; charset=utf-8", " quoted-printable"},
    {" text/plain; charset=iso-8859-1", " base64"},
    {" multipart/mixed; boundary=\"b\"", " 7bit"},
    {" text/html; charset=windows-1252", NULL},
    {" message/rfc822", NULL},
};

/* setup - one snapshot with an organisations file, built once */
static void
setup(void)
{
	static const char org[] =
	    "[org acme]\ndomains = acme.example\n"
	    "business_name = Acme Widgets Inc.\n"
	    "mailing_address = 123 Main St, Montr\xc3\xa9" "al QC\n"
	    "contact_phone = +1 514 555 0100\n"
	    "identification_url = https://acme.example/id\n"
	    "unsub_mode = off\n";
	char opath[] = "/tmp/fuzz_identify_org.XXXXXX";
	char cpath[] = "/tmp/fuzz_identify_cfg.XXXXXX";
	int ofd = mkstemp(opath), cfd = mkstemp(cpath);
	struct pw_buf err = {0};
	char *text;

	if (ofd < 0 || cfd < 0 || write(ofd, org, strlen(org)) < 0)
		abort();
	text = pw_asprintf("organisations = file:%s\nbody_memory_limit = 2k\n",
	    opath);
	if (write(cfd, text, strlen(text)) < 0)
		abort();
	close(ofd);
	close(cfd);
	free(text);
	orgs = pw_orgs_load(opath, &err);
	cfg = pw_policies_load(cpath, &err);
	if (orgs == NULL || cfg == NULL) {
		fprintf(stderr, "%s", err.data ? err.data : "setup failed\n");
		abort();
	}
	for (size_t i = 0; i < pw_npolicies; i++)
		if (pw_policies[i] == &pol_identify)
			conf = pw_policy_conf(cfg, i);
	if (conf == NULL)
		abort();
	pw_buf_free(&err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_client cl = {0};
	struct pw_msg *m;
	struct pw_call call;
	size_t t;
	enum pw_verdict v;

	if (cfg == NULL)
		setup();
	if (size == 0)
		return 0;
	t = data[0] % (sizeof(types) / sizeof(types[0]));
	m = pw_msg_new(cfg, &cl);
	m->dir = PW_DIR_OUT;
	m->comply.org = pw_orgs_by_name(orgs, "acme");
	m->comply.class = PW_CLASS_COMMERCIAL;
	pw_msg_add_hdr(m, "MIME-Version", " 1.0");
	pw_msg_add_hdr(m, "Content-Type", types[t][0]);
	if (types[t][1] != NULL)
		pw_msg_add_hdr(m, "Content-Transfer-Encoding", types[t][1]);
	pw_msg_add_body(m, data + 1, size - 1);
	call = (struct pw_call){m, conf, NULL};
	v = pol_identify.eom(&call);
	if ((v == PW_REJECT || v == PW_TEMPFAIL) && m->reply.text == NULL)
		abort();
	pw_msg_free(&m);
	return 0;
}
