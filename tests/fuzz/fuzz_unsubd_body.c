/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_unsubd_body - libFuzzer harness for postwarden-unsubd's own
 * parsing (tools/unsubd_http.c): the one-click POST body under each
 * Content-Type, the Content-Type parameters themselves, and the request
 * path.  libmicrohttpd's HTTP parsing is not ours and not fuzzed here.
 *
 * The parser lives in tools/, which build.sh does not compile into its
 * policies library, so it is included here whole.
 *
 *   tests/fuzz/build.sh --run 10 unsubd_body
 *
 * Input: byte 0 picks the mode, the rest is the data.  Properties besides
 * "never crash": results are -1 or a subset of the known flags; a parsed
 * path points inside the input and has the documented character sets.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../tools/unsubd_http.c"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check_flags(int r)
{
	if (r < -1 ||
	    (r > 0 && (r & ~(PW_UNSUBD_ONECLICK | PW_UNSUBD_SCOPE_ALL)) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_unsubd_target t;
	struct pw_buf b = {0};
	char *s, *nl;
	size_t i;

	if (size < 1)
		return 0;
	switch (data[0] % 4) {
	case 0: /* urlencoded body */
		check_flags(pw_unsubd_body_parse(
		    "application/x-www-form-urlencoded", data + 1, size - 1));
		break;
	case 1: /* multipart body, fixed boundary */
		check_flags(pw_unsubd_body_parse(
		    "multipart/form-data; boundary=XyZ", data + 1, size - 1));
		break;
	case 2: /* "CONTENT-TYPE\nBODY": the type's parameters too */
		s = strndup((const char *)data + 1, size - 1);
		if (s == NULL)
			return 0;
		if ((nl = strchr(s, '\n')) != NULL) {
			*nl = '\0';
			check_flags(pw_unsubd_body_parse(
			    s, (const unsigned char *)data + 1 + (nl - s) + 1,
			    size - 1 - (size_t)(nl - s) - 1));
		}
		pw_unsubd_html_escape(&b, s);
		pw_buf_free(&b);
		free(s);
		break;
	default: /* a request path under "/u" */
		s = strndup((const char *)data + 1, size - 1);
		if (s == NULL)
			return 0;
		if (pw_unsubd_path_parse(s, "/u", &t) == 0) {
			if (t.token < s ||
			    t.token + t.token_len > s + strlen(s) ||
			    t.token_len == 0 ||
			    t.token_len > PW_UNSUBD_MAX_TOKEN)
				abort();
			for (i = 0; i < t.token_len; i++)
				if (strchr(b64url, t.token[i]) == NULL)
					abort();
			if (t.org != NULL && (t.org_len == 0 || t.org_len > 64))
				abort();
		}
		free(s);
		break;
	}
	return 0;
}
