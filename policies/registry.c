/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registry - every policy, in phase order (VERIFY, COMPLY, SIGN).  The
 * glue runs them in this order at every stage.  A policy whose init()
 * leaves its conf NULL is idle for that snapshot.
 */
#include "autoconf.h"

#include <pthread.h>

#include "compliance/unsubd_conf.h"
#include "dmarc_report_conf.h"
#include "policy.h"
#include "snapshot.h"

extern const struct pw_policy pol_spf_verify, pol_dkim_verify,
    pol_dmarc_verify, pol_auth_results;
extern const struct pw_policy pol_classify, pol_identify;
extern const struct pw_policy pol_consent, pol_unsub;
extern const struct pw_policy pol_unsub_mailto;
extern const struct pw_policy pol_feedback;
extern const struct pw_policy pol_quota;
extern const struct pw_policy pol_complaint_hold;
extern const struct pw_policy pol_dkim_sign, pol_audit;
#ifdef PW_TEST_HOOKS
extern const struct pw_policy pol_test_hooks;
#endif

const struct pw_policy *const pw_policies[] = {
    /* VERIFY: inbound authentication, results in msg->auth */
    &pol_spf_verify,
    &pol_dkim_verify,
    &pol_dmarc_verify,
    &pol_auth_results,
#ifdef PW_TEST_HOOKS
    &pol_test_hooks,
#endif
    /* COMPLY: outbound; classify first, results in msg->comply */
    &pol_classify,
    &pol_identify,
    /* an organisation held for its complaint rate (issue 17): before
       consent, which would look every recipient up for nothing */
    &pol_complaint_hold,
    /* consent first: its refusals at RCPT do not count against unsub's
       one-recipient limit, and unsub mints the token for the recipient
       that is left after consent removed the others at EOM */
    &pol_consent,
    &pol_unsub,
    /* sending quotas (issue 17): after consent and unsub, so that only
       recipients they let through are counted */
    &pol_quota,
    /* inbound: mail to an organisation's unsubscribe_mailto address
       records the withdrawal (the mailto half of pol_unsub's header) */
    &pol_unsub_mailto,
    /* both directions: bounces (DSNs) of an organisation's mail, from
       other MTAs or Postfix's own, become suppressions (issue 17) */
    &pol_feedback,
    /* SIGN: dkim_sign signs the final headers; audit then checks that
       commercial mail was signed and writes the R20 rows */
    &pol_dkim_sign,
    &pol_audit,
};

const size_t pw_npolicies = sizeof(pw_policies) / sizeof(pw_policies[0]);

/* The milter's settings owners: the shared services first (the checks'
   init() takes them from the snapshot), the endpoint's keys (checked by
   postwarden -n; the file is shared), then every check. */
#define OWNER0	3
static struct pw_config_owner owners[OWNER0 + sizeof(pw_policies) /
    sizeof(pw_policies[0])];
static pthread_once_t owners_once = PTHREAD_ONCE_INIT;

static void
owners_build(void)
{
	owners[0] = pw_services_owner;
	owners[1] = pw_unsubd_owner;
	owners[2] = pw_dmarc_report_owner;
	for (size_t i = 0; i < pw_npolicies; i++) {
		const struct pw_policy *p = pw_policies[i];

		owners[OWNER0 + i].name = p->name;
		owners[OWNER0 + i].settings = p->settings;
		owners[OWNER0 + i].settings_size = p->settings_size;
		owners[OWNER0 + i].init = p->init;
		owners[OWNER0 + i].deinit = p->deinit;
	}
}

struct pw_config *
pw_policies_load(const char *path, struct pw_buf *errors)
{
	pthread_once(&owners_once, owners_build);
	return pw_config_load(path, owners, OWNER0 + pw_npolicies, 0, errors);
}

void *
pw_policy_conf(const struct pw_config *cfg, size_t i)
{
	return cfg->conf[OWNER0 + i];
}
