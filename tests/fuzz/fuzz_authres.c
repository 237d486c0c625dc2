/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_authres - libFuzzer harness for the strict authserv-id reader of
 * incoming Authentication-Results headers (a forged header claiming our
 * authserv-id must be recognised and removed: CVE-2020-12272 was a
 * lenient parser) and for the composer's escaping.
 *
 *   tests/fuzz/build.sh authres
 *   build-fuzz/fuzz_authres tests/fuzz/seeds/authres
 *
 * Properties besides "never crash, never leak":
 *   - a parsed authserv-id is non-empty and holds no control character;
 *   - pw_authres_claims(value, id) is true for the id just parsed;
 *   - composing our header with the input as every message-derived
 *     string yields one header: no CR or LF except CRLF TAB folding, and
 *     it reads back as ours.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/util.h"
#include "parsers/authres.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *s = pw_strndup((const char *)data, size), *id = NULL;
	const char *err = NULL;
	struct pw_arena *a;
	struct pw_auth au;
	char *v;

	if (pw_authres_parse_id(s, &id, &err) == 0) {
		if (id == NULL || *id == '\0')
			abort();
		for (const char *p = id; *p; p++)
			if ((unsigned char)*p < 0x20 && *p != '\t')
				abort();
		if (!pw_authres_claims(s, id))
			abort();
		free(id);
	} else if (err == NULL || id != NULL)
		abort();

	a = pw_arena_new(4096);
	memset(&au, 0, sizeof(au));
	au.spf.done = true;
	au.spf.result = PW_AUTH_FAIL;
	au.spf.mailfrom = s;
	au.spf.reason = s;
	au.dkim_done = true;
	au.ndkim = 1;
	au.dkim[0].result = PW_AUTH_FAIL;
	au.dkim[0].domain = s;
	au.dkim[0].reason = s;
	au.dkim[0].b = s;
	au.dmarc.done = true;
	au.dmarc.from_domain = s;
	au.dmarc.reason = s;
	v = pw_authres_compose(a, "mx.example.test", &au);
	for (const char *p = v; *p; p++)
		if ((*p == '\r' && (p[1] != '\n' || p[2] != '\t')) ||
		    (*p == '\n' && (p == v || p[-1] != '\r')))
			abort();
	if (!pw_authres_claims(v, "mx.example.test"))
		abort();
	pw_arena_free(&a);
	free(s);
	return 0;
}
