/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * auth_results - the Authentication-Results header of inbound mail
 * (RFC 8601), last of the VERIFY phase.
 *
 * At end of message: every incoming Authentication-Results header that
 * claims our authserv-id is removed (RFC 8601 section 5: a forged one
 * would be trusted downstream), deleting from the last one backwards so
 * that the remaining occurrence numbers do not shift (CVE-2022-48521);
 * then ours, composed from msg->auth, is inserted at index 0, above the
 * MTA's Received header (RFC 8601 section 4, OpenDKIM PR #346).  The
 * deletions are recorded before the insertion: the glue applies edits in
 * order, and an A-R inserted first would shift the occurrence numbers.
 */
#include "autoconf.h"

#include <stdlib.h>

#include "base/config.h"
#include "base/log.h"
#include "parsers/auth.h"
#include "parsers/authres.h"
#include "policy.h"

struct ar_settings {
	bool	 add;
	bool	 remove_forged;
};

static const struct pw_setting ar_settings_tab[] = {
    PW_SET_BOOL("auth_results_header", "yes", struct ar_settings, add),
    PW_SET_BOOL("auth_results_remove_forged", "yes", struct ar_settings,
	remove_forged),
    PW_SET_END,
};

struct ar_conf {
	struct ar_settings	 s;
	char			*authserv_id;
};

static void
ar_deinit(void *vc)
{
	struct ar_conf *c = vc;

	if (c == NULL)
		return;
	free(c->authserv_id);
	free(c);
}

static int
ar_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct ar_settings *s = vs;
	struct ar_conf *c;

	if (!s->add && !s->remove_forged)
		return 0;
	if (cfg->core.authserv_id == NULL || *cfg->core.authserv_id == '\0') {
		*error_r = pw_asprintf("%s: authserv_id is empty",
		    pw_config_where(cfg, "authserv_id"));
		return -1;
	}
	c = pw_calloc(1, sizeof(*c));
	c->s = *s;
	c->authserv_id = pw_strdup(cfg->core.authserv_id);
	*conf_r = c;
	return 0;
}

/* remove_forged - delete ours-claiming A-R headers, last one first */
static void
remove_forged(struct pw_msg *m, const char *id)
{
	int nth = (int)pw_msg_hdr_count(m, PW_AUTHRES_HEADER);
	unsigned int removed = 0;

	for (size_t i = m->hdrs.n; i-- > 0 && nth > 0;) {
		const struct pw_hdr *h = &m->hdrs.v[i];

		if (!pw_strcaseeq(h->name, PW_AUTHRES_HEADER))
			continue;
		if (pw_authres_claims(h->value, id)) {
			pw_edit_delete(m, PW_AUTHRES_HEADER, nth);
			removed++;
		}
		nth--;
	}
	if (removed > 0)
		pw_info(m, "auth_results: removed %u %s header(s) claiming "
		    "authserv-id %s", removed, PW_AUTHRES_HEADER, id);
}

static enum pw_verdict
ar_eom(struct pw_call *call)
{
	struct pw_msg *m = call->msg;
	const struct ar_conf *c = call->conf;

	if (c->s.remove_forged)
		remove_forged(m, c->authserv_id);
	if (c->s.add)
		pw_edit_insert(m, 0, PW_AUTHRES_HEADER,
		    pw_authres_compose(m->arena, c->authserv_id, &m->auth));
	return PW_DUNNO;
}

const struct pw_policy pol_auth_results = {
    .name = "auth_results",
    .phase = PW_PHASE_VERIFY,
    .needs = PW_NEED_HEADERS,
    .dirs = PW_DIR_IN,
    .settings = ar_settings_tab,
    .settings_size = sizeof(struct ar_settings),
    .init = ar_init,
    .deinit = ar_deinit,
    .eom = ar_eom,
};
