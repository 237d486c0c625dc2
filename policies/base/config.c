/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * config - the postwarden.conf parser, settings tables and snapshots.
 *
 * Format (Postfix main.cf): "name = value"; a line starting with '#' is a
 * comment; a line starting with white space continues the previous value.
 * There are no end-of-line comments (as in Postfix, "x = y # z" makes
 * "y # z" the value).  Unknown keys, repeated keys and bad values are
 * errors that name FILE:LINE; every error is reported, not just the first.
 */
#include "autoconf.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/config.h"
#include "base/log.h"
#include "base/util.h"

const char *const pw_mode_names[] = {"off", "warn", "enforce", NULL};
const char *const pw_on_error_names[] = {"tempfail", "accept", NULL};
static const char *const log_names[] = {"syslog", "stderr", NULL};

/* Guards every snapshot's refcount and the current pointer. */
static pthread_mutex_t ref_lock = PTHREAD_MUTEX_INITIALIZER;
static struct pw_config *current;

#define CORE(n, d, f, m) PW_SET_STR(n, d, f, struct pw_core, m)

static const struct pw_setting core_settings[] = {
    CORE("milter_socket", "inet:8891@127.0.0.1", 0, milter_socket),
    PW_SET_OCTAL("milter_socket_mode", "0660", 0, 0777, struct pw_core,
	milter_socket_mode),
    CORE("internal_hosts", "127.0.0.0/8, ::1", 0, internal_hosts),
    CORE("originating_daemons", NULL, 0, originating_daemons),
    CORE("authserv_id", NULL, 0, authserv_id),
    CORE("dns_nameservers", NULL, 0, dns_nameservers),
    PW_SET_TIME("dns_timeout", "5s", 1, 60, struct pw_core, dns_timeout),
    PW_SET_INT("dns_max_queries", "50", 5, 1000, struct pw_core,
	dns_max_queries),
    PW_SET_BOOL("verify_outbound", "no", struct pw_core, verify_outbound),
    CORE("user", NULL, 0, user),
    CORE("pid_file", NULL, 0, pid_file),
    PW_SET_ENUM("log", "syslog", log_names, struct pw_core, log),
    CORE("log_facility", "mail", 0, log_facility),
    CORE("store", "sqlite:" PW_STATEDIR "/postwarden.db", 0, store),
    CORE("store_password_file", NULL, 0, store_password_file),
    CORE("temp_dir", "/tmp", 0, temp_dir),
    PW_SET_ENUM("on_internal_error", "tempfail", pw_on_error_names,
	struct pw_core, on_internal_error),
    PW_SET_SIZE("max_header_bytes", "1m", 1024, 64L << 20, struct pw_core,
	max_header_bytes),
    PW_SET_SIZE("body_memory_limit", "1m", 0, 1L << 30, struct pw_core,
	body_memory_limit),
    PW_SET_INT("milter_backlog", "128", 1, 65535, struct pw_core,
	milter_backlog),
    PW_SET_INT("milter_linger_ms", "100", 0, 10000, struct pw_core,
	milter_linger_ms),
    CORE("metrics_listen", NULL, 0, metrics_listen),
    PW_SET_END,
};

struct pw_config_entry {
	char			*key;
	char			*value;
	int			 line;
	bool			 used;
	struct pw_config_entry	*next;
};

/* One table and where its values go, for the loops below. */
struct owner {
	const char		*name;	/* "core" or the caller's owner */
	const struct pw_setting	*settings;
	void			*base;
};

/* entry_find - the entry for key, or NULL */
static struct pw_config_entry *
entry_find(const struct pw_config *cfg, const char *key)
{
	for (struct pw_config_entry *e = cfg->entries; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	return NULL;
}

/* parse_number - long with an optional unit suffix */
static int
parse_number(const struct pw_setting *s, const char *text, long *val_r,
    const char **error_r)
{
	char *end;
	long v, mul = 1;

	errno = 0;
	v = strtol(text, &end, s->type == PW_T_OCTAL ? 8 : 10);
	if (end == text || errno != 0) {
		*error_r = "not a number";
		return -1;
	}
	if (*end != '\0' && end[1] == '\0') {
		int c = tolower((unsigned char)*end);

		if (s->type == PW_T_TIME)
			mul = c == 's' ? 1 : c == 'm' ? 60 : c == 'h' ? 3600 :
			    c == 'd' ? 86400 : c == 'w' ? 604800 : 0;
		else if (s->type == PW_T_SIZE)
			mul = c == 'k' ? 1024L : c == 'm' ? 1048576L :
			    c == 'g' ? 1073741824L : 0;
		else
			mul = 0;
		if (mul == 0) {
			*error_r = s->type == PW_T_TIME ?
			    "bad time unit (use s, m, h, d or w)" :
			    s->type == PW_T_SIZE ?
			    "bad size unit (use k, m or g)" : "not a number";
			return -1;
		}
	} else if (*end != '\0') {
		*error_r = "trailing garbage after the number";
		return -1;
	}
	if (v > LONG_MAX / mul || v < LONG_MIN / mul) {
		*error_r = "number out of range";
		return -1;
	}
	v *= mul;
	if (v < s->min || v > s->max) {
		*error_r = "value out of range";
		return -1;
	}
	*val_r = v;
	return 0;
}

int
pw_setting_parse(const struct pw_setting *s, const char *text, void *base,
    const char **error_r)
{
	char *at = (char *)base + s->offset;
	long v;

	switch (s->type) {
	case PW_T_STR:
		free(*(char **)at);
		*(char **)at = text != NULL ? pw_strdup(text) : NULL;
		return 0;
	case PW_T_BOOL:
		if (pw_strcaseeq(text, "yes") || pw_strcaseeq(text, "true") ||
		    pw_strcaseeq(text, "on") || strcmp(text, "1") == 0)
			*(bool *)at = true;
		else if (pw_strcaseeq(text, "no") ||
			 pw_strcaseeq(text, "false") ||
			 pw_strcaseeq(text, "off") || strcmp(text, "0") == 0)
			*(bool *)at = false;
		else {
			*error_r = "expected yes or no";
			return -1;
		}
		return 0;
	case PW_T_ENUM:
		for (int i = 0; s->names[i] != NULL; i++)
			if (pw_strcaseeq(text, s->names[i])) {
				*(int *)at = i;
				return 0;
			}
		*error_r = "not one of the allowed values";
		return -1;
	case PW_T_INT:
	case PW_T_TIME:
	case PW_T_SIZE:
	case PW_T_OCTAL:
		if (parse_number(s, text, &v, error_r) < 0)
			return -1;
		*(long *)at = v;
		return 0;
	}
	*error_r = "internal: unknown setting type";
	return -1;
}

/* enum_list - "a | b | c" for error messages */
static char *
enum_list(const struct pw_setting *s)
{
	struct pw_buf b = {0};

	for (int i = 0; s->names[i] != NULL; i++)
		pw_buf_printf(&b, "%s%s", i ? " | " : "", s->names[i]);
	return b.data;
}

/* apply_table - defaults, then the file's values, for one owner */
static int
apply_table(struct pw_config *cfg, const struct owner *o,
    struct pw_buf *errors)
{
	int bad = 0;

	for (const struct pw_setting *s = o->settings; s->name; s++) {
		struct pw_config_entry *e = entry_find(cfg, s->name);
		const char *why = NULL;

		if (s->def != NULL &&
		    pw_setting_parse(s, s->def, o->base, &why) < 0)
			pw_panic("default of %s: %s", s->name, why);
		if (e == NULL) {
			if (s->flags & PW_REQUIRED) {
				pw_buf_printf(errors,
				    "%s: required parameter \"%s\" is not set\n",
				    cfg->path, s->name);
				bad = 1;
			}
			continue;
		}
		e->used = true;
		if (pw_setting_parse(s, e->value, o->base, &why) < 0) {
			char *alts = s->type == PW_T_ENUM ? enum_list(s) : NULL;

			if (alts != NULL)
				pw_buf_printf(errors, "%s:%d: %s = %s: %s "
				    "(%s)\n", cfg->path, e->line, s->name,
				    e->value, why, alts);
			else
				pw_buf_printf(errors, "%s:%d: %s = %s: %s\n",
				    cfg->path, e->line, s->name, e->value,
				    why);
			free(alts);
			bad = 1;
		}
	}
	return bad ? -1 : 0;
}

/* free_table - free the strings a table put into its struct */
static void
free_table(const struct pw_setting *settings, void *base)
{
	if (base == NULL)
		return;
	for (const struct pw_setting *s = settings; s->name; s++)
		if (s->type == PW_T_STR) {
			free(*(char **)((char *)base + s->offset));
			*(char **)((char *)base + s->offset) = NULL;
		}
}

/* read_file - split FILE into entries; syntax errors go to errors */
static int
read_file(struct pw_config *cfg, struct pw_buf *errors)
{
	FILE *fp = fopen(cfg->path, "r");
	char *line = NULL;
	size_t cap = 0;
	int lineno = 0, bad = 0;
	struct pw_config_entry *last = NULL, **tail = &cfg->entries;

	if (fp == NULL) {
		pw_buf_printf(errors, "%s: cannot open: %s\n", cfg->path,
		    strerror(errno));
		return -1;
	}
	while (getline(&line, &cap, fp) != -1) {
		char *p = line, *eq, *key, *val;

		lineno++;
		line[strcspn(line, "\r\n")] = '\0';
		if (*p == '#')
			continue;
		if (*p == ' ' || *p == '\t') {
			p = pw_trim(p);
			if (*p == '\0' || *p == '#')
				continue;
			if (last == NULL) {
				pw_buf_printf(errors, "%s:%d: continuation "
				    "line without a parameter\n",
				    cfg->path, lineno);
				bad = 1;
				continue;
			}
			val = pw_asprintf("%s %s", last->value, p);
			free(last->value);
			last->value = val;
			continue;
		}
		p = pw_trim(p);
		if (*p == '\0')
			continue;
		if ((eq = strchr(p, '=')) == NULL) {
			pw_buf_printf(errors, "%s:%d: expected \"name = "
			    "value\"\n", cfg->path, lineno);
			bad = 1;
			last = NULL;
			continue;
		}
		*eq = '\0';
		key = pw_trim(p);
		val = pw_trim(eq + 1);
		if (*key == '\0' || strspn(key, "abcdefghijklmnopqrstuvwxyz"
		    "0123456789_") != strlen(key)) {
			pw_buf_printf(errors, "%s:%d: bad parameter name "
			    "\"%s\"\n", cfg->path, lineno, key);
			bad = 1;
			last = NULL;
			continue;
		}
		if ((last = entry_find(cfg, key)) != NULL) {
			pw_buf_printf(errors, "%s:%d: \"%s\" is already set at "
			    "line %d\n", cfg->path, lineno, key, last->line);
			bad = 1;
			last = NULL;
			continue;
		}
		last = pw_calloc(1, sizeof(*last));
		last->key = pw_strdup(key);
		last->value = pw_strdup(val);
		last->line = lineno;
		*tail = last;
		tail = &last->next;
	}
	free(line);
	fclose(fp);
	return bad ? -1 : 0;
}

/* owners - the core and every owner of the snapshot, for the loops */
static struct owner *
owners(struct pw_config *cfg, size_t *n_r)
{
	struct owner *o = pw_calloc(cfg->nowners + 1, sizeof(*o));

	o[0].name = "core";
	o[0].settings = core_settings;
	o[0].base = &cfg->core;
	for (size_t i = 0; i < cfg->nowners; i++) {
		o[i + 1].name = cfg->owners[i].name;
		o[i + 1].settings = cfg->owners[i].settings;
		o[i + 1].base = cfg->settings[i];
	}
	*n_r = cfg->nowners + 1;
	return o;
}

/* check_core - semantic checks of the daemon's own settings */
static int
check_core(struct pw_config *cfg, struct pw_buf *errors)
{
	struct pw_core *c = &cfg->core;
	int bad = 0;
	char host[256];

	cfg->internal = pw_cidr_parse(c->internal_hosts,
	    pw_config_where(cfg, "internal_hosts"), errors);
	if (cfg->internal == NULL)
		bad = 1;
	cfg->originating = pw_split_list(
	    c->originating_daemons ? c->originating_daemons : "", NULL);
	if (strncmp(c->milter_socket, "inet:", 5) != 0 &&
	    strncmp(c->milter_socket, "inet6:", 6) != 0 &&
	    strncmp(c->milter_socket, "unix:", 5) != 0 &&
	    strncmp(c->milter_socket, "local:", 6) != 0) {
		pw_buf_printf(errors, "%s: milter_socket = %s: expected "
		    "inet:PORT@HOST or unix:PATH\n",
		    pw_config_where(cfg, "milter_socket"), c->milter_socket);
		bad = 1;
	}
	if (pw_log_facility(c->log_facility) < 0) {
		pw_buf_printf(errors, "%s: log_facility = %s: unknown syslog "
		    "facility\n", pw_config_where(cfg, "log_facility"),
		    c->log_facility);
		bad = 1;
	}
	if (strncmp(c->store, "sqlite:", 7) != 0 &&
	    strncmp(c->store, "postgresql://", 13) != 0 &&
	    strncmp(c->store, "postgres://", 11) != 0) {
		pw_buf_printf(errors, "%s: store = %s: expected sqlite:PATH "
		    "or postgresql://...\n", pw_config_where(cfg, "store"),
		    c->store);
		bad = 1;
	}
	if (c->authserv_id == NULL) {
		if (gethostname(host, sizeof(host)) != 0)
			strcpy(host, "localhost");
		host[sizeof(host) - 1] = '\0';
		c->authserv_id = pw_strdup(host);
	}
	return bad ? -1 : 0;
}

struct pw_config *
pw_config_load(const char *path, const struct pw_config_owner *own,
    size_t nown, unsigned int flags, struct pw_buf *errors)
{
	struct pw_config *cfg = pw_calloc(1, sizeof(*cfg));
	struct owner *o;
	bool *owner_bad;
	size_t no;
	int bad = 0;

	cfg->path = pw_strdup(path);
	cfg->refcount = 1;
	cfg->owners = own;
	cfg->nowners = nown;
	cfg->settings = pw_calloc(nown + 1, sizeof(void *));
	cfg->conf = pw_calloc(nown + 1, sizeof(void *));
	for (size_t i = 0; i < nown; i++)
		cfg->settings[i] = pw_calloc(1, own[i].settings_size + 1);
	if (read_file(cfg, errors) < 0)
		bad = 1;
	/* Every problem is reported, not just the first: an owner's init()
	   runs whenever the core and its own keys parsed, so that a typo in
	   one key does not hide a bad KeyTable line. */
	o = owners(cfg, &no);
	owner_bad = pw_calloc(no, sizeof(*owner_bad));
	for (size_t i = 0; i < no; i++)
		if (o[i].settings != NULL && apply_table(cfg, &o[i], errors)) {
			owner_bad[i] = true;
			bad = 1;
		}
	free(o);
	for (struct pw_config_entry *e = cfg->entries; e; e = e->next)
		if (!e->used && !(flags & PW_CONFIG_PARTIAL)) {
			pw_buf_printf(errors, "%s:%d: unknown parameter "
			    "\"%s\"\n", cfg->path, e->line, e->key);
			bad = 1;
		}
	if (!owner_bad[0] && check_core(cfg, errors) < 0)
		owner_bad[0] = true;
	if (owner_bad[0])
		bad = 1;
	for (size_t i = 0; !owner_bad[0] && i < nown; i++) {
		char *err = NULL;

		if (owner_bad[i + 1]) {
			/* a bad key of an owner the later ones depend on
			   (the services): they would find no conf */
			if (own[i].needed)
				break;
			continue;
		}
		if (own[i].init != NULL && own[i].init(cfg, cfg->settings[i],
		    &cfg->conf[i], &err) < 0) {
			pw_buf_printf(errors, "%s\n", err ? err :
			    "init failed");
			if (own[i].needed && cfg->conf[i] == NULL)
				owner_bad[0] = true;	/* stop here */
			free(err);
			bad = 1;
		}
	}
	free(owner_bad);
	if (bad) {
		pw_config_release(&cfg);
		return NULL;
	}
	return cfg;
}

void
pw_config_release(struct pw_config **cfgp)
{
	struct pw_config *cfg = *cfgp;
	struct pw_config_entry *e, *ne;
	struct owner *o;
	size_t no;
	int left;

	if (cfg == NULL)
		return;
	*cfgp = NULL;
	pthread_mutex_lock(&ref_lock);
	left = --cfg->refcount;
	pthread_mutex_unlock(&ref_lock);
	if (left > 0)
		return;
	for (size_t i = cfg->nowners; i-- > 0;)
		if (cfg->conf[i] != NULL && cfg->owners[i].deinit)
			cfg->owners[i].deinit(cfg->conf[i]);
	o = owners(cfg, &no);
	for (size_t i = 0; i < no; i++)
		if (o[i].settings != NULL)
			free_table(o[i].settings, o[i].base);
	free(o);
	for (size_t i = 0; i < cfg->nowners; i++)
		free(cfg->settings[i]);
	free(cfg->settings);
	free(cfg->conf);
	for (e = cfg->entries; e != NULL; e = ne) {
		ne = e->next;
		free(e->key);
		free(e->value);
		free(e);
	}
	pw_cidr_free(&cfg->internal);
	pw_strv_free(&cfg->originating);
	free(cfg->path);
	free(cfg);
}

const char *
pw_config_str(const struct pw_config *cfg, const char *key)
{
	struct owner *o;
	const char *v = NULL;
	size_t no;

	o = owners((struct pw_config *)cfg, &no);
	for (size_t i = 0; i < no && v == NULL; i++) {
		if (o[i].settings == NULL || o[i].base == NULL)
			continue;
		for (const struct pw_setting *st = o[i].settings; st->name;
		     st++)
			if (st->type == PW_T_STR && strcmp(st->name, key) == 0) {
				v = *(char *const *)((const char *)o[i].base +
				    st->offset);
				break;
			}
	}
	free(o);
	return v;
}

/* owner_index - the position of the named owner, or -1 */
static ssize_t
owner_index(const struct pw_config *cfg, const char *owner)
{
	for (size_t i = 0; i < cfg->nowners; i++)
		if (strcmp(cfg->owners[i].name, owner) == 0)
			return (ssize_t)i;
	return -1;
}

void *
pw_config_settings(const struct pw_config *cfg, const char *owner)
{
	ssize_t i = owner_index(cfg, owner);

	return i < 0 ? NULL : cfg->settings[i];
}

void *
pw_config_conf(const struct pw_config *cfg, const char *owner)
{
	ssize_t i = owner_index(cfg, owner);

	return i < 0 ? NULL : cfg->conf[i];
}

const char *
pw_config_value(const struct pw_config *cfg, const char *key)
{
	const struct pw_config_entry *e = entry_find(cfg, key);

	return e != NULL ? e->value : NULL;
}

uid_t
pw_config_user_uid(const struct pw_config *cfg)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (cfg->core.user == NULL || *cfg->core.user == '\0' ||
	    getpwnam_r(cfg->core.user, &pw, buf, sizeof(buf), &res) != 0 ||
	    res == NULL)
		return (uid_t)-1;
	return pw.pw_uid;
}

const char *
pw_config_where(const struct pw_config *cfg, const char *key)
{
	static __thread char buf[4096];
	const struct pw_config_entry *e = entry_find(cfg, key);

	if (e == NULL)
		snprintf(buf, sizeof(buf), "%s", cfg->path);
	else
		snprintf(buf, sizeof(buf), "%s:%d", cfg->path, e->line);
	return buf;
}

/* value_text - a setting's current value as text */
static char *
value_text(const struct pw_setting *s, const void *base)
{
	const char *at = (const char *)base + s->offset;

	switch (s->type) {
	case PW_T_STR:
		return pw_strdup(*(char *const *)at ? *(char *const *)at : "");
	case PW_T_BOOL:
		return pw_strdup(*(const bool *)at ? "yes" : "no");
	case PW_T_ENUM:
		return pw_strdup(s->names[*(const int *)at]);
	case PW_T_OCTAL:
		return pw_asprintf("%04lo", *(const long *)at);
	default:
		return pw_asprintf("%ld", *(const long *)at);
	}
}

void
pw_config_print(const struct pw_config *cfg, FILE *fp, bool all)
{
	struct owner *o;
	size_t no;

	o = owners((struct pw_config *)cfg, &no);
	for (size_t i = 0; i < no; i++) {
		if (o[i].settings == NULL)
			continue;
		for (const struct pw_setting *s = o[i].settings; s->name;
		     s++) {
			const struct pw_config_entry *e =
			    entry_find(cfg, s->name);
			char *v;

			if (e == NULL && !all)
				continue;
			if (s->flags & PW_SECRET) {
				fprintf(fp, "%s = (secret)\n", s->name);
				continue;
			}
			v = e != NULL ? pw_strdup(e->value) :
					value_text(s, o[i].base);
			fprintf(fp, "%s = %s\n", s->name, v);
			free(v);
		}
	}
	free(o);
}


struct pw_config *
pw_config_current(void)
{
	struct pw_config *cfg;

	pthread_mutex_lock(&ref_lock);
	cfg = current;
	if (cfg != NULL)
		cfg->refcount++;
	pthread_mutex_unlock(&ref_lock);
	return cfg;
}

void
pw_config_set_current(struct pw_config *cfg)
{
	struct pw_config *old;

	pthread_mutex_lock(&ref_lock);
	old = current;
	current = cfg;
	pthread_mutex_unlock(&ref_lock);
	pw_config_release(&old);
}
