/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_conf - the postwarden-unsubd keys of postwarden.conf
 * (unsubd_conf.h): a settings owner whose init() checks the values and
 * leaves its conf NULL.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdlib.h>
#include <string.h>

#include "base/cidr.h"
#include "base/config.h"
#include "base/metrics.h"
#include "base/util.h"
#include "compliance/token.h"
#include "compliance/unsubd_conf.h"

#define S struct pw_unsubd_settings

static const struct pw_setting ud_settings[] = {
    PW_SET_STR("unsubd_listen_address", "127.0.0.1", 0, S, listen_address),
    PW_SET_INT("unsubd_listen_port", "8058", 1, 65535, S, listen_port),
    PW_SET_STR("unsubd_base_path", "/u", 0, S, base_path),
    PW_SET_STR("unsubd_tls_cert", NULL, 0, S, tls_cert),
    PW_SET_STR("unsubd_tls_key", NULL, 0, S, tls_key),
    PW_SET_TIME("unsubd_token_lifetime", "0", 0, 100L * 365 * 86400, S,
		token_lifetime),
    PW_SET_SIZE("unsubd_max_body", "8k", 64, 1L << 20, S, max_body),
    PW_SET_INT("unsubd_rate_limit", "600", 0, 1000000, S, rate_limit),
    PW_SET_STR("unsubd_proxy_hosts", NULL, 0, S, proxy_hosts),
    PW_SET_INT("unsubd_max_connections", "256", 1, 65536, S, max_connections),
    PW_SET_INT("unsubd_threads", "4", 1, 256, S, threads),
    PW_SET_TIME("unsubd_timeout", "10s", 1, 600, S, timeout),
    /* Issue 14: one client must not hold every connection (slow
       requests that never go idle long enough for unsubd_timeout). */
    PW_SET_INT("unsubd_client_connections", "16", 0, 65536, S,
	       client_connections),
    PW_SET_TIME("unsubd_request_deadline", "20s", 1, 3600, S,
		request_deadline),
    PW_SET_STR("unsubd_pid_file", NULL, 0, S, pid_file),
    PW_SET_STR("unsubd_metrics_listen", NULL, 0, S, metrics_listen),
    PW_SET_END,
};

/* path_ok - "/" or "/seg[/seg...]" of URL-safe characters (RFC 3986
   unreserved), no empty segment, no dot segment */
static int
path_ok(const char *p)
{
	const char *seg;
	size_t n;

	if (p[0] != '/')
		return 0;
	if (p[1] == '\0')
		return 1;
	for (seg = p + 1;; seg += n + 1) {
		n = strspn(
		    seg, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
			 "0123456789-._~");
		if (n == 0 || (seg[n] != '/' && seg[n] != '\0') ||
		    (n == 1 && seg[0] == '.') ||
		    (n == 2 && seg[0] == '.' && seg[1] == '.'))
			return 0;
		if (seg[n] == '\0')
			return 1;
	}
}

static int
ud_init(const struct pw_config *cfg, const void *vs, void **conf_r,
	char **error_r)
{
	const S *s = vs;
	struct in6_addr a6;
	struct in_addr a4;
	struct pw_buf errs = {0};
	struct pw_cidr_list *l;
	const char *why;

	*conf_r = NULL;
	if (inet_pton(AF_INET, s->listen_address, &a4) != 1 &&
	    inet_pton(AF_INET6, s->listen_address, &a6) != 1) {
		*error_r =
		    pw_asprintf("%s: unsubd_listen_address = %s: "
				"expected a numeric IPv4 or IPv6 address",
				pw_config_where(cfg, "unsubd_listen_address"),
				s->listen_address);
		return -1;
	}
	if (s->metrics_listen != NULL) {
		unsigned short port;
		char *host;

		if (pw_metrics_listen_parse(s->metrics_listen, &host, &port,
		    &why) < 0) {
			*error_r = pw_asprintf("%s: unsubd_metrics_listen = "
			    "%s: %s", pw_config_where(cfg,
			    "unsubd_metrics_listen"), s->metrics_listen, why);
			return -1;
		}
		free(host);
	}
	if (!path_ok(s->base_path)) {
		*error_r = pw_asprintf(
		    "%s: unsubd_base_path = %s: expected "
		    "\"/\" or /SEGMENT[/SEGMENT...] of A-Z a-z 0-9 - . _ ~",
		    pw_config_where(cfg, "unsubd_base_path"), s->base_path);
		return -1;
	}
	if ((s->tls_cert == NULL) != (s->tls_key == NULL)) {
		*error_r = pw_asprintf(
		    "%s: unsubd_tls_cert and unsubd_tls_key "
		    "go together: set both or neither",
		    pw_config_where(cfg, s->tls_cert ? "unsubd_tls_cert"
						     : "unsubd_tls_key"));
		return -1;
	}
	if (pw_token_lifetime_check(s->token_lifetime, &why) < 0) {
		*error_r = pw_asprintf(
		    "%s: unsubd_token_lifetime: %s",
		    pw_config_where(cfg, "unsubd_token_lifetime"), why);
		return -1;
	}
	if (s->proxy_hosts != NULL) {
		l = pw_cidr_parse(s->proxy_hosts,
				  pw_config_where(cfg, "unsubd_proxy_hosts"),
				  &errs);
		if (l == NULL) {
			if (errs.len > 0 && errs.data[errs.len - 1] == '\n')
				errs.data[--errs.len] = '\0';
			*error_r =
			    errs.data
				? errs.data
				: pw_strdup("unsubd_proxy_hosts: cannot parse");
			return -1;
		}
		pw_cidr_free(&l);
		pw_buf_free(&errs);
	}
	return 0;
}

const struct pw_config_owner pw_unsubd_owner = {
	"unsubd", ud_settings, sizeof(S), ud_init, NULL, false,
};
