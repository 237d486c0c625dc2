/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * registry - every policy, in phase order (VERIFY, COMPLY, SIGN).  The
 * glue runs them in this order at every stage.  A policy whose init()
 * leaves its conf NULL is idle for that snapshot.
 */
#include "autoconf.h"

#include "policy.h"

extern const struct pw_policy pol_spf_verify, pol_dkim_verify,
    pol_dmarc_verify, pol_auth_results;
extern const struct pw_policy pol_classify, pol_identify;
extern const struct pw_policy pol_consent, pol_unsub;
extern const struct pw_policy pol_unsub_mailto;
extern const struct pw_policy pol_unsubd;	/* settings only: unsubd_conf.h */
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
    /* consent first: its refusals at RCPT do not count against unsub's
       one-recipient limit, and unsub mints the token for the recipient
       that is left after consent removed the others at EOM */
    &pol_consent,
    &pol_unsub,
    /* inbound: mail to an organisation's unsubscribe_mailto address
       records the withdrawal (the mailto half of pol_unsub's header) */
    &pol_unsub_mailto,
    /* the keys of postwarden-unsubd; no callbacks, idle in the milter */
    &pol_unsubd,
    /* SIGN: dkim_sign signs the final headers; audit then checks that
       commercial mail was signed and writes the R20 rows */
    &pol_dkim_sign,
    &pol_audit,
};

const size_t pw_npolicies = sizeof(pw_policies) / sizeof(pw_policies[0]);
