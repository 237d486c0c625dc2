/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl - postwarden-ctl: global options and the subcommand dispatcher.
 *
 * Usage: postwarden-ctl [-c CONFIG] COMMAND [ARGS].  The subcommands sit
 * in one table (ctl_cmds[]) and each lives in its own tools/ctl_<cmd>.c,
 * so later subcommands (consent, audit, dns-check, ...) are added without
 * touching the others.  Exit status follows <sysexits.h>: EX_USAGE (64)
 * for a bad command line, 0 or 1 for the subcommand's own result.
 */
#include "autoconf.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/config.h"
#include "base/util.h"
#include "ctl.h"
#include "snapshot.h"
#include "store/store.h"

#ifndef PW_SYSCONFDIR
#define PW_SYSCONFDIR "/etc/postwarden"
#endif
#define CTL_DEFAULT_CONFIG PW_SYSCONFDIR "/postwarden.conf"

struct ctl_cmd {
	const char	*name;
	pw_ctl_fn	 run;
	const char	*synopsis;	/* arguments after the name */
	const char	*summary;	/* one line for "help" */
};

static int ctl_help(struct pw_ctl *, int, char **);

static const struct ctl_cmd ctl_cmds[] = {
    {"help", ctl_help, "[COMMAND]", "show this help, or one command's usage"},
    {"keygen", pw_ctl_keygen,
	"--domain D --selector S [--type rsa|ed25519] [--bits N]\n"
	"\t\t[--dir DIR] [--owner USER]",
	"create a DKIM signing key; print its DNS TXT record and KeyTable "
	"line"},
    {"dns-check", pw_ctl_dnscheck,
	"DOMAIN [--selector S] [--nameserver IP[@PORT]] [--key-table SPEC]",
	"check a domain's SPF, DMARC and DKIM records (and our keys)"},
    {"key", pw_ctl_key,
	"rotate --domain D [--type rsa|ed25519] [--bits N] [--selector NEW]\n"
	"\t\t    [--from OLD]\n"
	"\t\tstatus",
	"DKIM key rotation without an outage: make the next key, show "
	"each key's phase"},
    {"consent", pw_ctl_consent,
	"import --org ORG FILE.csv|-\n"
	"\t\tadd ADDRESS --org ORG --type TYPE [--list L] [--obtained D]\n"
	"\t\t    [--expires D] [--relationship D] [--source S] [--proof P]\n"
	"\t\twithdraw ADDRESS --org ORG [--list L] [--reason R]\n"
	"\t\tshow ADDRESS --org ORG [--list L] [--at D]\n"
	"\t\texport --org ORG [ADDRESS]\n"
	"\t\tproof ADDRESS --org ORG [--format text|json]\n"
	"\t\t(each also takes --store SPEC)",
	"import, add, withdraw, show, export or prove consent records"},
    {"suppression", pw_ctl_suppression, "list --org ORG [--store SPEC]",
	"list an organisation's suppressions (CSV)"},
    {"token", pw_ctl_token,
	"newkey --ring FILE [--id N]\n"
	"\t\tmint --ring FILE --org ORG [--list L] [--id N] ADDRESS\n"
	"\t\tverify --ring FILE [--org ORG] [--lifetime DAYS] TOKEN",
	"unsubscribe-token key ring: add a key; mint or check a token"},
    {"audit", pw_ctl_audit,
	"verify [--expect-head HEX]\n"
	"\t\treport --org ORG [--since T] [--until T] [--format csv|json|html]\n"
	"\t\t(each also takes --store SPEC)",
	"check the audit hash chain; one line per (message, recipient)"},
    {"unsubscribe", pw_ctl_unsubscribe,
	"report --org ORG [--format csv|json] [--store SPEC]",
	"each withdrawal, its delay, and any message sent after it"},
    {"store", pw_ctl_store,
	"init [SPEC]\n"
	"\t\tcopy SRC DST",
	"create or migrate a store's schema; copy a store into an empty one"},
    {"complaints", pw_ctl_complaints,
	"import [--store SPEC] FILE...\n"
	"\t\treport --org ORG [--store SPEC]",
	"record ARF complaints (RFC 5965) as suppressions; daily rate"},
    {"delivery", pw_ctl_delivery,
	"report --org ORG [--since T] [--until T] [--format csv|json]\n"
	"\t\t[--store SPEC]",
	"per day: sent by class, refused, bounces, complaints, "
	"unsubscribes, rates"},
    {"quota", pw_ctl_quota,
	"show --org ORG [--format text|json] [--store SPEC]",
	"an organisation's use of its sending quotas (hour, day, month), "
	"fleet-wide"},
    {"dmarc", pw_ctl_dmarc,
	"report --dry-run DIR [--store SPEC] [--from D --to D]\n"
	"\t\t[--org-name NAME] [--email ADDR] [--max-reports N]",
	"RFC 9990 aggregate reports from the stored DMARC rows (last UTC "
	"day)"},
};

#define CTL_NCMDS (sizeof(ctl_cmds) / sizeof(ctl_cmds[0]))

/* ctl_find - look up a subcommand by exact name */
static const struct ctl_cmd *
ctl_find(const char *name)
{
	for (size_t i = 0; i < CTL_NCMDS; i++)
		if (strcmp(ctl_cmds[i].name, name) == 0)
			return &ctl_cmds[i];
	return NULL;
}

/* ctl_print_usage - the full usage text */
static void
ctl_print_usage(FILE *fp)
{
	fprintf(fp, "usage: postwarden-ctl [-c CONFIG] COMMAND [ARGS]\n"
		    "\n"
		    "  -c CONFIG  configuration file (default %s)\n"
		    "\n"
		    "commands:\n",
	    CTL_DEFAULT_CONFIG);
	for (size_t i = 0; i < CTL_NCMDS; i++)
		fprintf(fp, "  %-8s %s\n", ctl_cmds[i].name,
		    ctl_cmds[i].summary);
	fprintf(fp, "\n'postwarden-ctl help COMMAND' shows a command's "
		    "arguments; see postwarden-ctl(8).\n");
}

/* ctl_help - "help" and "help COMMAND" */
static int
ctl_help(struct pw_ctl *ctl, int argc, char **argv)
{
	const struct ctl_cmd *cmd;

	(void)ctl;
	if (argc < 2) {
		ctl_print_usage(stdout);
		return 0;
	}
	if (argc > 2) {
		pw_ctl_error("help", "give at most one command name");
		return EX_USAGE;
	}
	if ((cmd = ctl_find(argv[1])) == NULL) {
		pw_ctl_error("help", "unknown command \"%s\"", argv[1]);
		ctl_print_usage(stderr);
		return EX_USAGE;
	}
	printf("usage: postwarden-ctl [-c CONFIG] %s %s\n  %s\n", cmd->name,
	    cmd->synopsis, cmd->summary);
	return 0;
}

/* ctl_verror - one error line on stderr */
static void
ctl_verror(const char *cmd, const char *fmt, va_list ap, int errnum)
{
	fputs("postwarden-ctl: ", stderr);
	if (cmd != NULL)
		fprintf(stderr, "%s: ", cmd);
	vfprintf(stderr, fmt, ap);
	if (errnum != 0)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
pw_ctl_error(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	ctl_verror(cmd, fmt, ap, 0);
	va_end(ap);
}

void
pw_ctl_error_errno(const char *cmd, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	ctl_verror(cmd, fmt, ap, saved);
	va_end(ap);
}

struct pw_config *
pw_ctl_config(struct pw_ctl *ctl)
{
	struct pw_buf errors = {0};

	if (ctl->cfg != NULL)
		return ctl->cfg;
	/* The shared services (store, organisations, key ring); the other
	   keys of the file are the daemons' (postwarden -n checks them). */
	ctl->cfg = pw_config_load(ctl->config_path, &pw_services_owner, 1,
	    PW_CONFIG_PARTIAL, &errors);
	if (ctl->cfg == NULL) {
		/* Already "FILE:LINE: message" lines, one per problem. */
		if (errors.len > 0)
			fwrite(errors.data, 1, errors.len, stderr);
		if (errors.len == 0 || errors.data[errors.len - 1] != '\n')
			fputc('\n', stderr);
	}
	pw_buf_free(&errors);
	return ctl->cfg;
}

struct pw_store *
pw_ctl_open_store(struct pw_ctl *ctl, const char *spec, const char *cmd,
    bool readonly)
{
	struct pw_store_opts so = PW_STORE_OPTS_DEFAULT;
	struct pw_config *cfg;
	struct pw_store *s = NULL;
	char *err = NULL;

	if (spec == NULL) {
		if ((cfg = pw_ctl_config(ctl)) == NULL)
			return NULL;
		spec = cfg->core.store;
		so.password_file = cfg->core.store_password_file;
	}
	if (spec == NULL || *spec == '\0') {
		pw_ctl_error(cmd, "no store: give --store SPEC or set \"store\"");
		return NULL;
	}
	if (readonly) {
		so.create = false;
		so.readonly = true;
	}
	so.busy_timeout_ms = 10000;
	if (pw_store_open(spec, &so, &s, &err) < 0) {
		pw_ctl_error(cmd, "%s", err ? err : "cannot open the store");
		free(err);
		return NULL;
	}
	return s;
}

void
pw_ctl_opt_error(const char *cmd, int ch, char *const *argv)
{
	const char *arg = optind > 0 ? argv[optind - 1] : "?";

	if (ch == ':')
		pw_ctl_error(cmd, "option \"%s\" needs a value", arg);
	else
		pw_ctl_error(cmd, "bad option \"%s\"", arg);
}

bool
pw_ctl_name_ok(const char *s, bool empty_ok)
{
	size_t len = strlen(s);

	if (len == 0)
		return empty_ok;
	return len <= 64 &&
	    strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		"0123456789._-") == len;
}

int
main(int argc, char **argv)
{
	struct pw_ctl ctl = {CTL_DEFAULT_CONFIG, false, NULL};
	const struct ctl_cmd *cmd;
	int ch, status;

	/* "+": stop at the command name; its options are its own. */
	opterr = 0;
	while ((ch = getopt(argc, argv, "+:c:h")) != -1) {
		switch (ch) {
		case 'c':
			ctl.config_path = optarg;
			ctl.config_given = true;
			break;
		case 'h':
			ctl_print_usage(stdout);
			return 0;
		case ':':
			pw_ctl_error(NULL, "option -%c needs a value", optopt);
			ctl_print_usage(stderr);
			return EX_USAGE;
		default:
			pw_ctl_error(NULL, "unknown option -%c", optopt);
			ctl_print_usage(stderr);
			return EX_USAGE;
		}
	}
	if (optind >= argc) {
		pw_ctl_error(NULL, "no command given");
		ctl_print_usage(stderr);
		return EX_USAGE;
	}
	if ((cmd = ctl_find(argv[optind])) == NULL) {
		pw_ctl_error(NULL, "unknown command \"%s\"", argv[optind]);
		ctl_print_usage(stderr);
		return EX_USAGE;
	}
	argc -= optind;
	argv += optind;
	optind = 1;
	status = cmd->run(&ctl, argc, argv);
	if (ctl.cfg != NULL)
		pw_config_release(&ctl.cfg);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		pw_ctl_error(NULL, "error writing standard output");
		return status != 0 ? status : 1;
	}
	return status;
}
