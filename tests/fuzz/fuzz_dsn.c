/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dsn - libFuzzer harness for the multipart/report reader and the
 * RFC 3464 DSN parser (policies/parsers/dsn.c): a bounce is mail from
 * anyone, read by the milter.
 *
 *   tests/fuzz/build.sh dsn
 *   build-fuzz/fuzz_dsn tests/fuzz/seeds/dsn
 *
 * Properties besides "never crash, never leak":
 *   - 1: at least one and at most PW_REPORT_MAX_RCPTS recipients, each
 *     with a non-empty Final-Recipient free of control characters and
 *     white space; a HARD or SOFT kind only with Action failed and a
 *     status whose class matches; -1: a reason is given;
 *   - kept values hold no control characters (they reach logs).
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/dsn.h"

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
	struct pw_dsn d;
	const char *why = NULL;
	int rc = pw_dsn_parse((const char *)data, size, &d, &why);

	if (rc == -1 && why == NULL)
		abort();
	if (rc == 1) {
		if (d.n == 0 || d.n > PW_REPORT_MAX_RCPTS)
			abort();
		for (size_t i = 0; i < d.n; i++) {
			const struct pw_dsn_rcpt *r = &d.v[i];

			if (r->final_rcpt == NULL || *r->final_rcpt == '\0' ||
			    strpbrk(r->final_rcpt, " \t") != NULL)
				abort();
			clean(r->final_rcpt);
			clean(r->action);
			clean(r->status);
			clean(r->diag);
			if (r->kind != PW_DSN_OTHER &&
			    (r->action == NULL ||
			     strcmp(r->action, "failed") != 0 ||
			     r->status == NULL ||
			     (r->kind == PW_DSN_HARD && r->status[0] != '5')))
				abort();
		}
		clean(d.orig.message_id);
		clean(d.orig.list_unsubscribe);
	}
	pw_dsn_free(&d);
	return 0;
}
