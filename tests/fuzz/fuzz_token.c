/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_token - libFuzzer harness for the unsubscribe token decoder and
 * verifier (pw_b64url_decode, pw_token_verify).
 *
 *   clang -g -fsanitize=fuzzer,address,undefined -I. -Ipolicies \
 *       tests/fuzz/fuzz_token.c policies/compliance/token.c policies/base/util.c \
 *       policies/base/log.c -lcrypto -o fuzz_token
 *   ./fuzz_token tests/fuzz/seeds/token
 *
 * Besides "never crash", it checks two properties: a token that verifies
 * re-encodes to exactly the input (one spelling per token), and minting
 * what was decoded under the same key gives back the same token.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/util.h"
#include "compliance/token.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct pw_keyring *ring;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const unsigned char k1[32] = {1, 2, 3, 4, 5, 6, 7, 8};
	static const unsigned char k2[32] = {9, 9, 9, 9, 9, 9, 9, 9};
	unsigned char raw[1024];
	struct pw_token tok;
	enum pw_token_status st;
	const char *err;
	char *again;

	if (ring == NULL) {
		ring = pw_keyring_new();
		if (pw_keyring_add(ring, 1, k1, sizeof(k1), &err) < 0 ||
		    pw_keyring_add(ring, 2, k2, sizeof(k2), &err) < 0)
			abort();
	}
	(void)pw_b64url_decode((const char *)data, size, raw, sizeof(raw));
	st = pw_token_verify(ring, (const char *)data, size, 1764072000L,
			     60L * 86400L, NULL, &tok);
	if (st == PW_TOKEN_OK) {
		if (pw_token_mint(ring, tok.kid, tok.org, tok.list, tok.rcpt,
				  tok.issued, &again, NULL, &err) != 0 ||
		    strlen(again) != size || memcmp(again, data, size) != 0)
			abort();
		free(again);
	}
	pw_token_clear(&tok);
	return 0;
}
