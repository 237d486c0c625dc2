/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_token - "postwarden-ctl token ...": the unsubscribe-token key ring
 * (token.h) and tokens by hand, for rotation, tests and support.
 *
 *   token newkey --ring FILE [--id N]
 *       append a fresh 256-bit key (hex) as the newest line; create FILE
 *       with mode 0600 if missing.  Older keys stay: tokens minted under
 *       them keep verifying until their line is removed (keep >= 400
 *       days, compliance-rules.md §7.3).
 *   token mint --ring FILE --org ORG [--list L] [--id N] ADDRESS
 *       print a token for ADDRESS (normalised), under key N or the newest
 *   token verify --ring FILE [--org ORG] [--lifetime DAYS] TOKEN
 *       print what an authentic token says; exit 1 if it is not valid
 */
#include "autoconf.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <time.h>
#include <unistd.h>

#include <openssl/crypto.h>
#include <openssl/rand.h>

#include "base/util.h"
#include "compliance/consent_state.h"
#include "compliance/token.h"
#include "ctl.h"
#include "parsers/addrnorm.h"

#define TK "token"

struct tk_opts {
	const char *ring;
	const char *org;
	const char *list;
	long id;       /* -1: not given */
	long lifetime; /* days */
};

static struct pw_keyring *
tk_load(const char *path)
{
	struct pw_buf errors = {0};
	struct pw_keyring *ring = pw_keyring_load(path, &errors);

	if (ring == NULL)
		fprintf(stderr, "postwarden-ctl: %s: %s", TK,
			errors.data ? errors.data : "cannot load\n");
	pw_buf_free(&errors);
	return ring;
}

static int
tk_newkey(const struct tk_opts *o)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char key[32];
	char line[80];
	struct pw_keyring *ring = NULL;
	struct stat st;
	long id = o->id, max = -1, i;
	int fd, n;

	if (stat(o->ring, &st) == 0) {
		if ((ring = tk_load(o->ring)) == NULL)
			return 1;
		for (i = 0; i < 256; i++)
			if (pw_keyring_has(ring, (unsigned int)i))
				max = i;
		if (id >= 0 && pw_keyring_has(ring, (unsigned int)id)) {
			pw_ctl_error(TK, "%s: key id %ld exists", o->ring, id);
			pw_keyring_free(&ring);
			return 1;
		}
		pw_keyring_free(&ring);
	} else if (errno != ENOENT) {
		pw_ctl_error_errno(TK, "%s", o->ring);
		return 1;
	}
	if (id < 0)
		id = max + 1;
	if (id > 255) {
		pw_ctl_error(TK,
			     "%s: key ids 0..255 are used up: remove "
			     "retired keys, or give --id",
			     o->ring);
		return 1;
	}
	if (RAND_bytes(key, sizeof(key)) != 1) {
		pw_ctl_error(TK, "no random bytes from OpenSSL");
		return 1;
	}
	n = snprintf(line, sizeof(line), "%ld ", id);
	for (i = 0; i < 32; i++) {
		line[n++] = hex[key[i] >> 4];
		line[n++] = hex[key[i] & 15];
	}
	line[n++] = '\n';
	OPENSSL_cleanse(key, sizeof(key));
	fd = open(o->ring,
		  O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
		pw_ctl_error_errno(TK, "%s", o->ring);
		OPENSSL_cleanse(line, sizeof(line));
		if (fd >= 0)
			close(fd);
		return 1;
	}
	OPENSSL_cleanse(line, sizeof(line));
	close(fd);
	printf("%s: key %ld added; new tokens use it once the "
	       "organisation's token_key_id says %ld\n",
	       o->ring, id, id);
	return 0;
}

static int
tk_mint(const struct tk_opts *o, const char *address)
{
	struct pw_keyring *ring;
	const char *err;
	char *addr = NULL, *tok = NULL, id[17];
	long kid;
	int status = 0;

	if (o->org == NULL) {
		pw_ctl_error(TK, "mint: --org ORG is required");
		return EX_USAGE;
	}
	if (pw_addr_normalise(address, strlen(address), &addr, &err) < 0) {
		pw_ctl_error(TK, "%s: %s", address, err);
		return 1;
	}
	if ((ring = tk_load(o->ring)) == NULL) {
		free(addr);
		return 1;
	}
	kid = o->id >= 0 ? o->id : pw_keyring_latest(ring);
	if (pw_token_mint(ring, (unsigned int)kid, o->org,
			  o->list ? o->list : "", addr, time(NULL), &tok, id,
			  &err) < 0) {
		pw_ctl_error(TK, "mint: %s", err);
		status = 1;
	} else {
		printf("%s\n", tok);
	}
	free(tok);
	free(addr);
	pw_keyring_free(&ring);
	return status;
}

static int
tk_verify(const struct tk_opts *o, const char *token)
{
	struct pw_keyring *ring;
	struct pw_token tok;
	enum pw_token_status st;
	char b[21];

	if ((ring = tk_load(o->ring)) == NULL)
		return 1;
	st = pw_token_verify(ring, token, strlen(token), time(NULL),
			     o->lifetime * 86400L, o->org, &tok);
	printf("status: %s\n", pw_token_status_str(st));
	if (tok.org != NULL)
		printf("id: %s\nkey: %u\nissued: %s\norganisation: %s\n"
		       "list: %s\nrecipient: %s\n",
		       tok.id, tok.kid, pw_date_format(tok.issued, b), tok.org,
		       tok.list[0] ? tok.list : "(all)", tok.rcpt);
	pw_token_clear(&tok);
	pw_keyring_free(&ring);
	return st == PW_TOKEN_OK ? 0 : 1;
}

static const struct option tk_longopts[] = {
    {"ring", required_argument, NULL, 'k'},
    {"org", required_argument, NULL, 'o'},
    {"list", required_argument, NULL, 'l'},
    {"id", required_argument, NULL, 'i'},
    {"lifetime", required_argument, NULL, 'L'},
    {NULL, 0, NULL, 0},
};

int
pw_ctl_token(struct pw_ctl *ctl, int argc, char **argv)
{
	struct tk_opts o = {NULL, NULL, NULL, -1, 0};
	const char *sub, *e;
	char *end;
	int ch;

	(void)ctl;
	if (argc < 2) {
		pw_ctl_error(TK, "expected newkey, mint or verify");
		return EX_USAGE;
	}
	sub = argv[1];
	/* 0, not 1: glibc then re-reads the optstring, so that options and
	   operands may be mixed (ctl.c parsed its own with "+") */
	optind = 0;
	opterr = 0;
	argc--;
	argv++;
	while ((ch = getopt_long(argc, argv, ":k:o:l:i:L:", tk_longopts,
				 NULL)) != -1) {
		switch (ch) {
		case 'k':
			o.ring = optarg;
			break;
		case 'o':
			o.org = optarg;
			break;
		case 'l':
			o.list = optarg;
			break;
		case 'i':
		case 'L':
			errno = 0;
			if (ch == 'i')
				o.id = strtol(optarg, &end, 10);
			else
				o.lifetime = strtol(optarg, &end, 10);
			if (*end != '\0' || end == optarg || errno != 0 ||
			    (ch == 'i' && (o.id < 0 || o.id > 255)) ||
			    (ch == 'L' && o.lifetime < 0)) {
				pw_ctl_error(TK, "--%s: bad number \"%s\"",
					     ch == 'i' ? "id" : "lifetime",
					     optarg);
				return EX_USAGE;
			}
			break;
		default:
			pw_ctl_opt_error(TK, ch, argv);
			return EX_USAGE;
		}
	}
	if (o.ring == NULL) {
		pw_ctl_error(TK, "--ring FILE is required");
		return EX_USAGE;
	}
	if (pw_token_lifetime_check(o.lifetime * 86400L, &e) < 0) {
		pw_ctl_error(TK, "--lifetime: %s", e);
		return EX_USAGE;
	}
	if (strcmp(sub, "newkey") == 0 && optind == argc)
		return tk_newkey(&o);
	if (strcmp(sub, "mint") == 0 && optind == argc - 1)
		return tk_mint(&o, argv[optind]);
	if (strcmp(sub, "verify") == 0 && optind == argc - 1)
		return tk_verify(&o, argv[optind]);
	pw_ctl_error(TK, "usage: token newkey|mint ADDRESS|verify TOKEN "
			 "--ring FILE ...");
	return EX_USAGE;
}
