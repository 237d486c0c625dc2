/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * evidence - pure helpers behind the auditor's reports of postwarden-ctl
 * (audit report, consent proof, unsubscribe report; compliance-rules.md
 * §6.5): what counts as a message sent after an unsubscribe request, and
 * a stable name for an organisation's identification profile.
 * Pure; thread-safe.
 */
#ifndef PW_EVIDENCE_H
#define PW_EVIDENCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "store/store.h"

struct pw_org;

/*
 * Was this audit row a commercial message delivered to the recipient at
 * or after requested_at (CASL s.11(3): no commercial message after the
 * request, beyond the 10 business days; we allow none)?  A message whose
 * consent basis is one of reconsent[] (consent events the recipient gave
 * after the request) is not counted.  Same-second rows count: the
 * store's times are in seconds, and the report errs towards showing.
 * Transactional and other mail is not counted (CASL s.6(6)).
 */
bool	pw_evidence_sent_after(const struct pw_audit_row *,
	    time_t requested_at, const int64_t *reconsent, size_t n);

/*
 * The identification profile (CRTC Regs s.2(1): business name, mailing
 * address, contact items, s.2(2) page) as "sha256:" and the first 16 hex
 * digits of SHA-256 over the fields in a fixed, length-prefixed order, in
 * out[24].  Returns out, or NULL if the organisation has no profile or
 * hashing failed.
 */
char	*pw_evidence_profile(const struct pw_org *, char *out);

/* Seconds from requested_at to effective_at, never negative (a clock
   step between them is not a negative delay). */
long	pw_evidence_delay(time_t requested_at, time_t effective_at);

#endif
