/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mint-tokens - N one-click tokens for N recipients in one process, for
 * bench/bench-unsubd.sh (`postwarden-ctl token mint` is one process per
 * token: minutes for tens of thousands on a loaded machine).  Not built
 * by make; the bench script compiles it from a configured build directory:
 *
 *   gcc -O2 -I. -I../policies -o /tmp/mint-tokens ../bench/mint-tokens.c \
 *       policies/libpolicies.a $(pkg-config --libs libcrypto libidn2)
 *   /tmp/mint-tokens RING ORG LIST PREFIX N
 *
 * Prints one token a line, for PREFIX<i>@bench.example, i = 1..N, under
 * the newest key of RING.
 */
#include "autoconf.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/util.h"
#include "compliance/token.h"

int
main(int argc, char **argv)
{
	struct pw_buf errs = {0};
	struct pw_keyring *ring;
	const char *err;
	char *tok, rcpt[128];
	long i, n;

	if (argc != 6 || (n = strtol(argv[5], NULL, 10)) <= 0) {
		fprintf(stderr, "usage: mint-tokens RING ORG LIST PREFIX N\n");
		return 2;
	}
	if ((ring = pw_keyring_load(argv[1], &errs)) == NULL) {
		fprintf(stderr, "%s", errs.data ? errs.data : "cannot load\n");
		return 1;
	}
	for (i = 1; i <= n; i++) {
		snprintf(rcpt, sizeof(rcpt), "%s%ld@bench.example", argv[4], i);
		if (pw_token_mint(ring, (unsigned int)pw_keyring_latest(ring),
				  argv[2], argv[3], rcpt, time(NULL), &tok,
				  NULL, &err) < 0) {
			fprintf(stderr, "mint: %s\n", err);
			return 1;
		}
		printf("%s\n", tok);
		free(tok);
	}
	pw_keyring_free(&ring);
	return 0;
}
