/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics_http - GET /metrics over libmicrohttpd (base/metrics.c
 * renders, this file only serves).
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#include "base/metrics.h"
#include "base/metrics_http.h"
#include "base/util.h"

static struct MHD_Daemon *daemon_mhd;

static enum MHD_Result
reply(struct MHD_Connection *conn, unsigned int status, const char *type,
    char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result rc;

	r = MHD_create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	MHD_add_response_header(r, "Content-Type", type);
	rc = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return rc;
}

static enum MHD_Result
metrics_access(void *cls, struct MHD_Connection *conn, const char *url,
    const char *method, const char *version, const char *upload,
    size_t *upload_len, void **state)
{
	struct pw_buf b = {0};

	(void)cls;
	(void)version;
	(void)upload;
	(void)upload_len;
	(void)state;
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
		return reply(conn, 405, "text/plain", pw_strdup("405\n"), 4);
	if (strcmp(url, "/metrics") != 0)
		return reply(conn, 404, "text/plain", pw_strdup("404\n"), 4);
	pw_metrics_render(&b);
	if (b.data == NULL)
		b.data = pw_strdup("");
	return reply(conn, 200, "text/plain; version=0.0.4; charset=utf-8",
	    b.data, b.len);
}

int
pw_metrics_http_start(const char *spec, char **error_r)
{
	struct sockaddr_storage ss;
	unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
	const char *why;
	unsigned short port;
	char *host;

	if (pw_metrics_listen_parse(spec, &host, &port, &why) < 0) {
		*error_r = pw_asprintf("metrics_listen = %s: %s", spec, why);
		return -1;
	}
	memset(&ss, 0, sizeof(ss));
	if (inet_pton(AF_INET, host, &((struct sockaddr_in *)&ss)->sin_addr)
	    == 1) {
		ss.ss_family = AF_INET;
		((struct sockaddr_in *)&ss)->sin_port = htons(port);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		(void)inet_pton(AF_INET6, host, &s6->sin6_addr);
		ss.ss_family = AF_INET6;
		s6->sin6_port = htons(port);
		flags |= MHD_USE_IPv6;
	}
	free(host);
	pw_metrics_enable(true);
	errno = 0;
	daemon_mhd = MHD_start_daemon(flags, port, NULL, NULL, metrics_access,
	    NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
	    MHD_OPTION_CONNECTION_LIMIT, 16U, MHD_OPTION_CONNECTION_TIMEOUT,
	    10U, MHD_OPTION_END);
	if (daemon_mhd == NULL) {
		pw_metrics_enable(false);
		*error_r = pw_asprintf("metrics_listen = %s: cannot listen%s%s",
		    spec, errno ? ": " : "", errno ? strerror(errno) : "");
		return -1;
	}
	return 0;
}
