/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * test_hooks - a compliance-phase policy that adds a configured header at
 * end of message, so tests can prove that the signer covers headers other
 * policies add.  Built only with ./configure --enable-test-hooks.
 */
#include "autoconf.h"

#include <stdlib.h>
#include <string.h>

#include "base/config.h"
#include "policy.h"

struct th_settings {
	char	*add_header;
};

struct th_conf {
	char	*name;
	char	*value;
};

static const struct pw_setting th_settings_tab[] = {
    PW_SET_STR("test_add_header", NULL, 0, struct th_settings, add_header),
    PW_SET_END,
};

static void
th_deinit(void *vconf)
{
	struct th_conf *c = vconf;

	if (c == NULL)
		return;
	free(c->name);
	free(c->value);
	free(c);
}

static int
th_init(const struct pw_config *cfg, const void *vs, void **conf_r,
    char **error_r)
{
	const struct th_settings *s = vs;
	const char *colon;
	struct th_conf *c;

	if (s->add_header == NULL)
		return 0;
	if ((colon = strchr(s->add_header, ':')) == NULL ||
	    colon == s->add_header) {
		*error_r = pw_asprintf("%s: test_add_header: expected "
		    "\"Name: value\"", pw_config_where(cfg, "test_add_header"));
		return -1;
	}
	c = pw_calloc(1, sizeof(*c));
	c->name = pw_strndup(s->add_header, (size_t)(colon - s->add_header));
	c->value = pw_strdup(colon + 1);
	*conf_r = c;
	return 0;
}

static enum pw_verdict
th_eom(struct pw_call *call)
{
	const struct th_conf *c = call->conf;

	pw_edit_add(call->msg, c->name, c->value);
	return PW_DUNNO;
}

const struct pw_policy pol_test_hooks = {
    .name = "test_hooks",
    .phase = PW_PHASE_COMPLY,
    .needs = PW_NEED_HEADERS,
    .dirs = PW_DIR_IN | PW_DIR_OUT,
    .settings = th_settings_tab,
    .settings_size = sizeof(struct th_settings),
    .init = th_init,
    .deinit = th_deinit,
    .eom = th_eom,
};
