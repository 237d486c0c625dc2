/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_arf - libFuzzer harness for the ARF complaint parser
 * (policies/parsers/arf.c; RFC 5965): complaints are mail from anyone.
 *
 *   tests/fuzz/build.sh arf
 *   build-fuzz/fuzz_arf tests/fuzz/seeds/arf
 *
 * Properties besides "never crash, never leak": 1 comes with a
 * non-empty lower-case Feedback-Type; -1 with a reason; kept values hold
 * no control characters (they reach logs and the store).
 */
#include "autoconf.h"

#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>

#include "parsers/arf.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
clean(const char *s)
{
	for (; s != NULL && *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_arf a;
	const char *why = NULL;
	int rc = pw_arf_parse((const char *)data, size, &a, &why);

	if (rc == -1 && why == NULL)
		abort();
	if (rc == 1) {
		if (a.feedback_type == NULL || *a.feedback_type == '\0')
			abort();
		for (const char *p = a.feedback_type; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
		clean(a.feedback_type);
		clean(a.original_rcpt_to);
		clean(a.original_mail_from);
		clean(a.orig.message_id);
		clean(a.orig.list_unsubscribe);
	}
	pw_arf_free(&a);
	return 0;
}
