/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * unsubd_conf - the settings of postwarden-unsubd, the one-click
 * unsubscribe endpoint (RFC 8058), declared in postwarden.conf.
 *
 * The endpoint shares postwarden.conf with the milter (one "store", one
 * "user", one organisations file).  Its keys are declared here by
 * pw_unsubd_owner, which both programs pass to pw_config_load(): the
 * milter so that "postwarden -n" checks them too (init() only checks the
 * values), the endpoint to read the filled struct below.  The token key
 * ring is the snapshot's "unsubscribe_keys" (snapshot.h): tokens are
 * minted and verified under the same keys.
 */
#ifndef PW_UNSUBD_CONF_H
#define PW_UNSUBD_CONF_H

#include "base/config.h"

struct pw_unsubd_settings {
	char	*listen_address;	/* numeric IPv4 or IPv6 */
	long	 listen_port;
	char	*base_path;		/* "/u": URLs are BASE/TOKEN */
	char	*tls_cert;		/* PEM; both or neither */
	char	*tls_key;
	long	 token_lifetime;	/* seconds; 0: while the key exists */
	long	 max_body;		/* bytes; larger bodies get 413 */
	long	 rate_limit;		/* requests per minute per client; 0 off */
	char	*proxy_hosts;		/* trusted X-Forwarded-For senders */
	long	 max_connections;
	long	 threads;
	long	 timeout;		/* seconds per connection */
	long	 client_connections;	/* at once per client address; 0 off */
	long	 request_deadline;	/* seconds for a whole request */
	char	*pid_file;
	char	*metrics_listen;	/* "127.0.0.1:9831"; NULL: off */
};

extern const struct pw_config_owner pw_unsubd_owner;

#endif
