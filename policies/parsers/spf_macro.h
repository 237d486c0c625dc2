/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * spf_macro - RFC 7208 section 7 macro expansion, for the exp= explanation
 * only: libspf2 1.2.10 (Debian 12) mangles that expansion (spaces become
 * '%', macros after the first stay unexpanded), while its own evaluation
 * of mechanisms is right and stays in charge of the result.
 */
#ifndef PW_SPF_MACRO_H
#define PW_SPF_MACRO_H

#include <stdbool.h>
#include <sys/socket.h>
#include <time.h>

struct pw_arena;

struct pw_spf_macro_ctx {
	const char	*sender;	/* s: local-part@domain (not NULL) */
	const char	*domain;	/* d: the domain being checked */
	const struct sockaddr_storage *ip;	/* i, c, v */
	const char	*helo;		/* h (NULL: "unknown") */
	const char	*receiver;	/* r (NULL: "unknown") */
	const char	*ptr;		/* p: the validated PTR name (NULL:
					   "unknown", RFC 7208 7.3) */
	time_t		 now;		/* t */
};

/* Expand macro-string s (a domain-spec, or with explanation an explanation
   string, where c, r and t are allowed too).  NULL on a syntax error. */
char	*pw_spf_macro_expand(struct pw_arena *, const char *s,
	    const struct pw_spf_macro_ctx *, bool explanation);

#endif
