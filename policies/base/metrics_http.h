/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * metrics_http - serve GET /metrics (base/metrics.h) over HTTP with
 * libmicrohttpd, for postwarden and postwarden-unsubd.
 *
 * One listener thread of its own; every other path is 404 and every
 * other method 405.  Meant for loopback or a monitoring network: there
 * is no authentication.
 */
#ifndef PW_METRICS_HTTP_H
#define PW_METRICS_HTTP_H

/* Bind spec ("127.0.0.1:9830") and start serving; turns counting on.
   Returns 0, or -1 with *error_r (malloc'd). */
int	pw_metrics_http_start(const char *spec, char **error_r);

#endif
