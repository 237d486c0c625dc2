/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_body - the one-click POST body (RFC 8058 §3.1) as
 * postwarden-unsubd reads it: libmicrohttpd's post processor, with our
 * own parser (unsubd_http.c) only for the cases
 * tests/unit/t_unsubd_body.c shows the library does not cover.
 *
 * Stateless; safe from any thread.
 */
#ifndef PW_UNSUBD_BODY_H
#define PW_UNSUBD_BODY_H

#include <stddef.h>

struct MHD_Connection;

/* The body of the POST on conn, len bytes, read whole (unsubd reads at
   most unsubd_max_body first).  The Content-Type is the connection's.
   Returns the PW_UNSUBD_* flags (unsubd_http.h) found, 0 for a valid body
   without them, or -1 for an unsupported type or a malformed body. */
int	pw_unsubd_body(struct MHD_Connection *conn, const unsigned char *body,
	    size_t len);

/* The library alone, the body fed in pieces of chunk bytes (0: whole): what
   the post processor makes of it, with no fallback.  For the comparing
   test. */
int	pw_unsubd_body_mhd(struct MHD_Connection *conn,
	    const unsigned char *body, size_t len, size_t chunk);

#endif
