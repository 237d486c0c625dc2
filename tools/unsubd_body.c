/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_body - the one-click POST body through libmicrohttpd's post
 * processor (unsubd_body.h).
 *
 * RFC 8058 §3.1 gives the field exactly: name "List-Unsubscribe", value
 * "One-Click", as application/x-www-form-urlencoded or multipart/form-data.
 * The library decodes both; we only compare the decoded names and values.
 * Where tests/unit/t_unsubd_body.c shows the library answering otherwise
 * than RFC 8058 wants, pw_unsubd_body() says why it asks unsubd_http.c.
 */
#include "autoconf.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <microhttpd.h>

#include "unsubd_body.h"
#include "unsubd_http.h"

#define ONECLICK_NAME "List-Unsubscribe"
#define ONECLICK_VALUE "One-Click"
#define SCOPE_NAME "scope"
#define SCOPE_VALUE "all"
/* The post processor's buffer for one name or a piece of a value (the
   library's minimum is 256); the names we want are short. */
#define PP_BUFFER 1024

/* One decoded field at a time: the library hands a value over in pieces
   (off > 0 continues the field, off == 0 starts the next one). */
struct pp_state {
	int	flags;
	int	want;		/* PW_UNSUBD_* of the field being read, or 0 */
	char	val[sizeof(ONECLICK_VALUE)];
	size_t	vlen;
	bool	over;		/* longer than any value we want */
};

static void
field_end(struct pp_state *st)
{
	if (st->want == PW_UNSUBD_ONECLICK && !st->over &&
	    st->vlen == sizeof(ONECLICK_VALUE) - 1 &&
	    memcmp(st->val, ONECLICK_VALUE, st->vlen) == 0)
		st->flags |= PW_UNSUBD_ONECLICK;
	else if (st->want == PW_UNSUBD_SCOPE_ALL && !st->over &&
		 st->vlen == sizeof(SCOPE_VALUE) - 1 &&
		 memcmp(st->val, SCOPE_VALUE, st->vlen) == 0)
		st->flags |= PW_UNSUBD_SCOPE_ALL;
	st->want = 0;
	st->vlen = 0;
	st->over = false;
}

static enum MHD_Result
pp_field(void *cls, enum MHD_ValueKind kind, const char *key,
	 const char *filename, const char *content_type,
	 const char *transfer_encoding, const char *data, uint64_t off,
	 size_t size)
{
	struct pp_state *st = cls;

	(void)kind;
	(void)filename;
	(void)content_type;
	(void)transfer_encoding;
	if (off == 0) {
		field_end(st);
		st->want = key == NULL ? 0 :
		    strcmp(key, ONECLICK_NAME) == 0 ? PW_UNSUBD_ONECLICK :
		    strcmp(key, SCOPE_NAME) == 0 ? PW_UNSUBD_SCOPE_ALL : 0;
	}
	if (st->want == 0 || st->over || size == 0)
		return MHD_YES;
	if (st->vlen + size > sizeof(st->val) - 1) {
		st->over = true;
		return MHD_YES;
	}
	memcpy(st->val + st->vlen, data, size);
	st->vlen += size;
	return MHD_YES;
}

int
pw_unsubd_body_mhd(struct MHD_Connection *conn, const unsigned char *body,
		   size_t len, size_t chunk)
{
	struct pp_state st = {0};
	struct MHD_PostProcessor *pp;
	size_t pos, n;
	bool ok = true;

	/* NULL: no Content-Type, one the library does not parse, or a
	   multipart type without a boundary. */
	if ((pp = MHD_create_post_processor(conn, PP_BUFFER, pp_field, &st)) ==
	    NULL)
		return -1;
	if (chunk == 0)
		chunk = len;
	for (pos = 0; ok && pos < len; pos += n) {
		n = len - pos < chunk ? len - pos : chunk;
		ok = MHD_post_process(pp, (const char *)body + pos, n) ==
		     MHD_YES;
	}
	/* MHD_NO: the body ended inside a field or a part, or was not in
	   the encoding its type names. */
	if (MHD_destroy_post_processor(pp) != MHD_YES)
		ok = false;
	field_end(&st);
	return ok ? st.flags : -1;
}

int
pw_unsubd_body(struct MHD_Connection *conn, const unsigned char *body,
	       size_t len)
{
	const char *ct;
	int type, r;

	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	/* Ours, where tests/unit/t_unsubd_body.c shows libmicrohttpd 0.9.75
	   answering otherwise than RFC 8058 (and RFC 2045/2046/7578 under
	   it) wants; every other body is the library's alone:
	   - the type: the library takes any Content-Type that merely starts
	     with "application/x-www-form-urlencoded" (".../x-www-form-
	     urlencodedX"), so our header parser names the type first;
	   - no Content-Type (or an empty one): the library refuses the body;
	     a receiver that omits it still sends the urlencoded field;
	   - urlencoded: the library rejects the whole body for a name without
	     '=' ("a=b&List-Unsubscribe=One-Click&c"), which the form
	     encoding allows (WHATWG URL §5.1);
	   - multipart: the library misses the field with an upper-case
	     parameter name ("BOUNDARY=", RFC 2045 §5.1 makes names
	     case-insensitive), an unquoted name parameter (RFC 2183 allows
	     a token), a preamble or transport padding (RFC 2046 §5.1.1),
	     and bare LF line ends;
	   so a multipart body in which it finds no one-click field is read
	   again by ours.  Where the library is more lenient than ours (it
	   takes a part whose disposition is "attachment", not "form-data") its
	   answer stands: the token in the path is what authorises. */
	switch ((type = pw_unsubd_body_type(ct))) {
	case PW_UNSUBD_TYPE_NONE:
		return pw_unsubd_body_parse(ct, body, len);
	case PW_UNSUBD_TYPE_URLENCODED:
	case PW_UNSUBD_TYPE_MULTIPART:
		break;
	default:
		return -1;
	}
	r = pw_unsubd_body_mhd(conn, body, len, 0);
	if (type == PW_UNSUBD_TYPE_URLENCODED && r < 0)
		return pw_unsubd_body_parse(ct, body, len);
	if (type == PW_UNSUBD_TYPE_MULTIPART &&
	    (r < 0 || !(r & PW_UNSUBD_ONECLICK)))
		return pw_unsubd_body_parse(ct, body, len);
	return r;
}
