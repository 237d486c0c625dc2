/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * t_unsubd_body - the one-click POST body: libmicrohttpd's post processor
 * compared with our own parser (tools/unsubd_http.c) on the same RFC 8058
 * bodies, and what postwarden-unsubd uses (tools/unsubd_body.c: the
 * library, ours where this test shows the library differs).
 *
 * Each request goes to a real libmicrohttpd daemon without a listening
 * socket, over a socketpair (MHD_add_connection), so the post processor
 * sees the Content-Type exactly as sent.  For each case the test asserts
 * three answers: ours and pw_unsubd_body() must give what RFC 8058 wants
 * ("want"); the library alone gives "lib", fed whole and in 1- and 7-byte
 * pieces.  A case whose lib differs from want is one that pw_unsubd_body()
 * must hand to our parser; if a newer library changes its answer, this
 * test fails and the fallback can go.
 */
#include "unit.h"

#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "base/util.h"
#include "unsubd_body.h"
#include "unsubd_http.h"

#define UE "application/x-www-form-urlencoded"
#define MP "multipart/form-data; boundary=XyZ"
#define OC PW_UNSUBD_ONECLICK
#define ALL PW_UNSUBD_SCOPE_ALL
#define NOCT ((const char *)1) /* no Content-Type header at all */
#define MP_OC                                                              \
	"--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"" \
	"\r\n\r\nOne-Click\r\n"

struct bcase {
	const char *ct;	  /* NOCT: none sent */
	const char *body; /* NULL: built by the test (huge bodies) */
	int want;	  /* RFC 8058: flags, or -1 (400) */
	int lib;	  /* libmicrohttpd 0.9.75's post processor alone */
	int huge;	  /* body NULL: which huge body */
	int lenient;	  /* pw_unsubd_body() gives lib, not want */
};
#define B(ct, body, want, lib) {ct, body, want, lib, 0, 0}
#define HUGE_B(ct, want, lib, which) {ct, NULL, want, lib, which, 0}
#define LENIENT(ct, body, want, lib) {ct, body, want, lib, 0, 1}

static const struct bcase cases[] = {
    /* RFC 8058 §3.1 exactly, and the usual variants */
    B(UE, "List-Unsubscribe=One-Click", OC, OC),
    B(UE "; charset=UTF-8", "List-Unsubscribe=One-Click", OC, OC),
    B(UE ";charset=utf-8", "List-Unsubscribe=One-Click", OC, OC),
    B("Application/X-WWW-Form-Urlencoded", "List-Unsubscribe=One-Click", OC,
     OC),
    B(UE, "List-Unsubscribe=One%2DClick", OC, OC),
    B(UE, "List%2dUnsubscribe=One-Click", OC, OC),
    B(UE, "%4C%69st-Unsubscribe=One-Click", OC, OC),
    /* the library: a name without '=' makes the whole body malformed */
    B(UE, "a=b&List-Unsubscribe=One-Click&c", OC, -1),
    B(UE, "a=b&List-Unsubscribe=One-Click&c=d", OC, OC),
    B(UE, "List-Unsubscribe=One-Click&scope=all", OC | ALL, OC | ALL),
    B(UE, "scope=all", ALL, ALL),
    /* repeated keys: any one-click field is enough */
    B(UE, "List-Unsubscribe=x&List-Unsubscribe=One-Click", OC, OC),
    B(UE, "List-Unsubscribe=One-Click&List-Unsubscribe=x", OC, OC),
    B(UE, "List-Unsubscribe=One-Click&List-Unsubscribe=One-Click", OC, OC),
    /* no Content-Type: RFC 8058 senders set one, but a receiver that
       does not still means the urlencoded body it sends */
    B(NOCT, "List-Unsubscribe=One-Click", OC, -1),
    B("", "List-Unsubscribe=One-Click", OC, -1),
    /* a line end after the body (curl --data-binary @file) */
    B(UE, "List-Unsubscribe=One-Click\r\n", OC, OC),
    B(UE, "List-Unsubscribe=One-Click\n", OC, OC),
    /* near misses: valid bodies, no one-click field */
    B(UE, "", 0, 0),
    B(UE, "List-Unsubscribe=one-click", 0, 0),
    B(UE, "list-unsubscribe=One-Click", 0, 0),
    B(UE, "LIST-UNSUBSCRIBE=ONE-CLICK", 0, 0),
    B(UE, "List-Unsubscribe=One-Click+", 0, 0),
    B(UE, "List-Unsubscribe=One+Click", 0, 0),
    B(UE, "List+Unsubscribe=One-Click", 0, 0),
    B(UE, "List-Unsubscribe=One-Click%20", 0, 0),
    B(UE, "List-Unsubscribe=One-Clicks", 0, 0),
    B(UE, "List-Unsubscribe", 0, -1),
    B(UE, "List-Unsubscribe=", 0, 0),
    B(UE, "=One-Click", 0, -1),
    B(UE, "List-Unsubscribe=One-Click%", 0, -1),
    B(UE, "List-Unsubscribe=One-Click%4", 0, -1),
    B(UE, "List-Unsubscribe=One-Click%zz", 0, 0),
    B(UE, "&&&", 0, 0),
    B(UE, "List-Unsubscribe=One-Click;", 0, 0),
    /* unsupported types */
    B("text/plain", "List-Unsubscribe=One-Click", -1, -1),
    B("application/json", "{\"List-Unsubscribe\":\"One-Click\"}", -1, -1),
    /* the library: any type that starts like the urlencoded one */
    B("application/x-www-form-urlencodedX", "List-Unsubscribe=One-Click", -1,
     OC),
    /* multipart/form-data (RFC 7578), as curl -F sends it */
    B(MP, MP_OC "--XyZ--\r\n", OC, OC),
    B("multipart/form-data; boundary=\"XyZ\"", MP_OC "--XyZ--", OC, OC),
    B("multipart/form-data; charset=utf-8; boundary=XyZ", MP_OC "--XyZ--\r\n",
     OC, OC),
    B("Multipart/Form-Data; boundary=XyZ", MP_OC "--XyZ--\r\n", OC, OC),
    /* what the library misses: an upper-case parameter name (RFC 2045
       §5.1: case-insensitive), an unquoted name (RFC 2183 allows a
       token), a preamble and transport padding (RFC 2046 §5.1.1), bare LF
       line ends; it reads a lower-case header name */
    B("multipart/form-data; BOUNDARY=XyZ", MP_OC "--XyZ--\r\n", OC, -1),
    B(MP,
     "--XyZ\r\ncontent-disposition: form-data; name=\"List-Unsubscribe\""
     "\r\nContent-Type: text/plain\r\n\r\nOne-Click\r\n--XyZ--\r\n",
     OC, OC),
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=List-Unsubscribe\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     OC, 0),
    B(MP, "preamble\r\n" MP_OC "--XyZ--\r\nepilogue", OC, -1),
    B(MP,
     "--XyZ \t\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\""
     "\r\n\r\nOne-Click\r\n--XyZ--\r\n",
     OC, -1),
    B(MP,
     "--XyZ\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\n\n"
     "One-Click\n--XyZ--\n",
     OC, -1),
    /* two parts, scope=all; repeated parts */
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"scope\"\r\n\r\nall\r\n"
     MP_OC "--XyZ--\r\n",
     OC | ALL, OC | ALL),
    B(MP, MP_OC MP_OC "--XyZ--\r\n", OC, OC),
    /* a boundary look-alike inside content is not a delimiter */
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n--XyZa\r\n"
     MP_OC "--XyZ--\r\n",
     OC, OC),
    /* wrong value, wrong name, a file, no disposition */
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click \r\n--XyZ--\r\n",
     0, 0),
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe2\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     0, 0),
    /* the library takes a part that is not form-data; unsubd lets that
       stand (the token authorises, the field says "one click") */
    LENIENT(MP,
     "--XyZ\r\nContent-Disposition: attachment; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click\r\n--XyZ--\r\n",
     0, OC),
    B(MP, "--XyZ\r\n\r\nOne-Click\r\n--XyZ--\r\n", 0, 0),
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "One-Click\r\n--XyZ--\r\n",
     0, -1),
    /* malformed multipart, truncated multipart */
    B("multipart/form-data", "--XyZ\r\n\r\n--XyZ--", -1, -1),
    B("multipart/form-data; boundary=", "--\r\n\r\n----", -1, -1),
    B("multipart/form-data; boundary=\"XyZ", "--XyZ--", -1, 0),
    B(MP, "", -1, 0),
    B(MP, "List-Unsubscribe=One-Click", -1, 0),
    B(MP, MP_OC, -1, -1),
    B(MP, MP_OC "--XyZ", -1, -1),
    B(MP,
     "--XyZ\r\nContent-Disposition: form-data; name=\"List-Unsubscribe\"\r\n"
     "\r\nOne-Click",
     -1, -1),
    B(MP, "--XyZ\r\nContent-Disposition: form-da", -1, -1),
    B(MP, "--XyZ", -1, -1),
    B(MP, "--XyZ--", 0, 0),
    /* huge bodies (built below: unsubd_max_body may be up to 1 MB) */
    HUGE_B(UE, OC, OC, 1), /* a 200 kB field, then the one-click field */
    HUGE_B(UE, 0, 0, 2),   /* the one-click name, a 200 kB value */
    HUGE_B(MP, OC, OC, 3), /* a 200 kB part, then the one-click part */
};

#define HUGE 200000

/* the body of case i, malloc'd */
static char *
body_of(size_t i, size_t *len)
{
	const struct bcase *c = &cases[i];
	struct pw_buf b = {0};
	size_t k;

	if (c->body != NULL) {
		pw_buf_puts(&b, c->body);
	} else if (c->huge == 1) {
		pw_buf_puts(&b, "pad=");
		for (k = 0; k < HUGE; k++)
			pw_buf_puts(&b, k % 3 ? "a" : "%41");
		pw_buf_puts(&b, "&List-Unsubscribe=One-Click");
	} else if (c->huge == 2) {
		pw_buf_puts(&b, "List-Unsubscribe=One-Click");
		for (k = 0; k < HUGE; k++)
			pw_buf_puts(&b, "x");
	} else {
		pw_buf_puts(&b, "--XyZ\r\nContent-Disposition: form-data; "
				"name=\"pad\"\r\n\r\n");
		for (k = 0; k < HUGE; k++)
			pw_buf_puts(&b, k % 77 ? "-" : "\r\n");
		pw_buf_puts(&b, "\r\n" MP_OC "--XyZ--\r\n");
	}
	*len = b.len;
	pw_buf_add(&b, "", 1);
	return b.data;
}

/* What the handler found for the request in flight. */
static struct {
	int ours, lib, lib1, lib7, used;
} got;

struct upload {
	struct pw_buf body;
};

static enum MHD_Result
access_cb(void *cls, struct MHD_Connection *conn, const char *url,
	  const char *method, const char *version, const char *upload,
	  size_t *upload_size, void **con_cls)
{
	struct upload *up = *con_cls;
	struct MHD_Response *r;
	enum MHD_Result ret;
	const char *ct;
	const unsigned char *b;

	(void)cls;
	(void)url;
	(void)method;
	(void)version;
	if (up == NULL) {
		*con_cls = calloc(1, sizeof(*up));
		return MHD_YES;
	}
	if (*upload_size > 0) {
		pw_buf_add(&up->body, upload, *upload_size);
		*upload_size = 0;
		return MHD_YES;
	}
	b = (const unsigned char *)(up->body.data ? up->body.data : "");
	ct = MHD_lookup_connection_value(conn, MHD_HEADER_KIND,
					 MHD_HTTP_HEADER_CONTENT_TYPE);
	got.ours = pw_unsubd_body_parse(ct, b, up->body.len);
	got.lib = pw_unsubd_body_mhd(conn, b, up->body.len, 0);
	got.lib1 = pw_unsubd_body_mhd(conn, b, up->body.len, 1);
	got.lib7 = pw_unsubd_body_mhd(conn, b, up->body.len, 7);
	got.used = pw_unsubd_body(conn, b, up->body.len);
	r = MHD_create_response_from_buffer(2, (void *)"ok",
					    MHD_RESPMEM_PERSISTENT);
	ret = MHD_queue_response(conn, MHD_HTTP_OK, r);
	MHD_destroy_response(r);
	return ret;
}

static void
completed_cb(void *cls, struct MHD_Connection *conn, void **con_cls,
	     enum MHD_RequestTerminationCode toe)
{
	struct upload *up = *con_cls;

	(void)cls;
	(void)conn;
	(void)toe;
	if (up != NULL) {
		pw_buf_free(&up->body);
		free(up);
		*con_cls = NULL;
	}
}

/* post - send case i to the daemon over a socketpair, wait for the
   answer; 0 when it came. */
static int
post(struct MHD_Daemon *d, size_t i)
{
	struct sockaddr_in sin = {.sin_family = AF_INET};
	struct pw_buf req = {0};
	char head[512], ans[256];
	size_t len, off;
	ssize_t n;
	char *body;
	int sv[2];

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (MHD_add_connection(d, sv[0], (struct sockaddr *)&sin,
			       sizeof(sin)) != MHD_YES) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	body = body_of(i, &len);
	snprintf(head, sizeof(head),
		 "POST /u/x HTTP/1.1\r\nHost: unsub.test\r\n%s%s%s"
		 "Content-Length: %zu\r\nConnection: close\r\n\r\n",
		 cases[i].ct == NOCT ? "" : "Content-Type: ",
		 cases[i].ct == NOCT ? "" : cases[i].ct,
		 cases[i].ct == NOCT ? "" : "\r\n", len);
	pw_buf_puts(&req, head);
	pw_buf_add(&req, body, len);
	free(body);
	memset(&got, 0x7f, sizeof(got)); /* nothing yet */
	for (off = 0; off < req.len; off += (size_t)n)
		if ((n = write(sv[1], req.data + off, req.len - off)) <= 0)
			break;
	pw_buf_free(&req);
	while ((n = read(sv[1], ans, sizeof(ans))) > 0 ||
	       (n < 0 && errno == EINTR))
		;
	close(sv[1]);
	return 0;
}

static void
t_compare(void **state)
{
	struct MHD_Daemon *d;
	unsigned int bad = 0, differ = 0;
	size_t i;
	const char *ct;

	(void)state;
	d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
				 MHD_USE_NO_LISTEN_SOCKET | MHD_USE_ITC,
			     0, NULL, NULL, access_cb, NULL,
			     MHD_OPTION_NOTIFY_COMPLETED, completed_cb, NULL,
			     MHD_OPTION_CONNECTION_MEMORY_LIMIT,
			     (size_t)64 * 1024, MHD_OPTION_END);
	assert_non_null(d);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct bcase *c = &cases[i];

		ct = c->ct == NOCT ? "(none)" : c->ct;
		assert_int_equal(post(d, i), 0);
		if (got.ours != c->want ||
		    got.used != (c->lenient ? c->lib : c->want) ||
		    got.lib != c->lib || got.lib1 != c->lib ||
		    got.lib7 != c->lib) {
			print_message("case %zu [%s] %.60s: want %d ours %d "
				      "used %d; lib %d (expected %d), in "
				      "1-byte pieces %d, 7-byte %d\n",
				      i, ct, c->body ? c->body : "(huge)",
				      c->want, got.ours, got.used, got.lib,
				      c->lib, got.lib1, got.lib7);
			bad++;
		}
		/* a different answer to the client: 200 or 400 */
		if ((c->lib > 0 && (c->lib & OC)) !=
		    (c->want > 0 && (c->want & OC)))
			differ++;
	}
	MHD_stop_daemon(d);
	print_message("%zu bodies, the library alone differs from RFC 8058 "
		      "on %u\n", sizeof(cases) / sizeof(cases[0]), differ);
	assert_int_equal(bad, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(t_compare),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
