/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * cidr - lists of IPv4/IPv6 networks ("10.0.0.0/8, ::1, file:/path").
 *
 * Immutable after parsing; safe to share between threads.
 */
#ifndef PW_CIDR_H
#define PW_CIDR_H

#include <stdbool.h>
#include <sys/socket.h>

struct pw_buf;
struct pw_cidr_list;

/* Parse a list of networks and addresses separated by commas or white
   space; an item "file:PATH" reads one network per line ('#' comments).
   On error returns NULL and appends "WHERE: message" lines to *errors,
   where WHERE is the given location or PATH:LINE for file items. */
struct pw_cidr_list *pw_cidr_parse(const char *text, const char *where,
			  struct pw_buf *errors);
void	pw_cidr_free(struct pw_cidr_list **);

/* Does the list contain this address?  sa is AF_INET or AF_INET6; an
   IPv4-mapped IPv6 address matches IPv4 networks. */
bool	pw_cidr_match(const struct pw_cidr_list *, const struct sockaddr *);
/* The same for a textual address; false if it does not parse. */
bool	pw_cidr_match_str(const struct pw_cidr_list *, const char *addr);

size_t	pw_cidr_count(const struct pw_cidr_list *);

#endif
