/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * mlfi - libmilter callbacks.  The only code (with main.c) that includes
 * libmilter: policies see a struct pw_msg and return verdicts.
 *
 * One connection is one libmilter thread.  Each connection pins the
 * config snapshot current when it opened (a reload affects new
 * connections only).  Policies run in registry (phase) order at every
 * stage; the first terminal verdict stops the stage.  Header edits are
 * applied here at end of message, deletions last-first so that indexes do
 * not shift (CVE-2022-48521), insertions at the index the policy asked.
 */
#include "autoconf.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <libmilter/mfapi.h>

#include "base/config.h"
#include "base/log.h"
#include "base/metrics.h"
#include "mlfi.h"
#include "msg.h"
#include "parsers/authres.h"
#include "policy.h"

struct pw_conn {
	struct pw_config	*cfg;
	struct pw_client	 client;
	struct pw_msg		*msg;
	bool			 leadspc;	/* SMFIP_HDR_LEADSPC agreed */
	bool			 skip_ok;	/* SMFIP_SKIP agreed */
	bool			 rcpts;		/* RCPT events come */
	unsigned long		 nr;		/* SMFIP_NR_* agreed */
};

enum stage { ST_MAIL, ST_RCPT, ST_HEADER, ST_EOH, ST_BODY, ST_EOM };

static void summary(struct pw_conn *, const char *);
static sfsistat eom_reply(SMFICTX *, struct pw_conn *, enum pw_verdict);

static pthread_mutex_t active_lock = PTHREAD_MUTEX_INITIALIZER;
static int active_conns;
static int stopping;		/* under active_lock */

void
pw_mlfi_stop(void)
{
	pthread_mutex_lock(&active_lock);
	stopping = 1;
	pthread_mutex_unlock(&active_lock);
}

/* is_stopping - has a graceful stop begun? */
static bool
is_stopping(void)
{
	bool s;

	pthread_mutex_lock(&active_lock);
	s = stopping != 0;
	pthread_mutex_unlock(&active_lock);
	return s;
}

int
pw_mlfi_active(void)
{
	int n;

	pthread_mutex_lock(&active_lock);
	n = active_conns;
	pthread_mutex_unlock(&active_lock);
	return n;
}

/* policy_dirs - the directions policy i runs for in this snapshot */
static unsigned int
policy_dirs(const struct pw_config *cfg, size_t i)
{
	const struct pw_policy *p = pw_policies[i];

	if (pw_policy_conf(cfg, i) == NULL)
		return 0;
	/* Outbound mail is not verified unless asked for. */
	if (p->phase == PW_PHASE_VERIFY && cfg->core.verify_outbound)
		return p->dirs | PW_DIR_OUT;
	return p->dirs;
}

struct proto_needs {
	unsigned int	 needs;		/* union of the enabled policies' */
	bool		 mail_reply;	/* some .mail may decide */
	bool		 idle;		/* a direction no policy runs for */
};

/* proto_needs - what the enabled policies of a snapshot need */
static struct proto_needs
proto_needs(const struct pw_config *cfg)
{
	struct proto_needs n = {0, false, false};
	unsigned int dirs = 0;

	for (size_t i = 0; i < pw_npolicies; i++) {
		const struct pw_policy *p = pw_policies[i];

		if (pw_policy_conf(cfg, i) == NULL)
			continue;
		n.needs |= p->needs;
		dirs |= policy_dirs(cfg, i);
		if (p->mail != NULL && (p->mail_decides == NULL ||
		    p->mail_decides(pw_policy_conf(cfg, i))))
			n.mail_reply = true;
	}
	n.idle = dirs != (PW_DIR_IN | PW_DIR_OUT);
	return n;
}

static sfsistat
mlfi_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1,
    unsigned long f2, unsigned long f3, unsigned long *pf0,
    unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	struct pw_conn *c;
	struct proto_needs pn;
	unsigned long want, nr;

	/* Stopping: the MTA applies milter_default_action (tempfail). */
	if (is_stopping())
		return SMFIS_REJECT;
	c = pw_calloc(1, sizeof(*c));
	c->cfg = pw_config_current();
	pn = proto_needs(c->cfg);
	pthread_mutex_lock(&active_lock);
	active_conns++;
	pthread_mutex_unlock(&active_lock);
	smfi_setpriv(ctx, c);

	*pf0 = f0 & (SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		     SMFIF_DELRCPT);
	/* Ask only for what a policy needs, and no replies where we never
	   act on a single step: fewer round trips for the MTA (perf-facts:
	   about 1 ms of Postfix CPU per message goes to the protocol). */
	want = SMFIP_NOUNKNOWN | SMFIP_NODATA;
	if (!(pn.needs & PW_NEED_HELO))
		want |= SMFIP_NOHELO;
	if (!(pn.needs & PW_NEED_RCPTS))
		want |= SMFIP_NORCPT;
	nr = SMFIP_NR_CONN | SMFIP_NR_HELO | SMFIP_NR_HDR | SMFIP_NR_BODY |
	     SMFIP_NR_UNKN | SMFIP_NR_DATA;
	/* A verdict found at MAIL FROM or at end of headers is then kept
	   for the next stage the MTA waits at (RCPT, or end of message).
	   For Postfix's smtpd_milters nothing changes for the client: the
	   header events only start once the whole message is in.  Each
	   saves a round trip per message (about 5% of inbound throughput
	   here).  End of headers keeps its reply while some mail has no
	   policy: accepting that at end of headers spares sending its
	   body. */
	if (!pn.mail_reply)
		nr |= SMFIP_NR_MAIL;
	if (!pn.idle)
		nr |= SMFIP_NR_EOH;
	*pf1 = (want | nr | SMFIP_HDR_LEADSPC | SMFIP_SKIP) & f1;
	*pf2 = 0;
	*pf3 = 0;
	c->leadspc = (*pf1 & SMFIP_HDR_LEADSPC) != 0;
	c->skip_ok = (*pf1 & SMFIP_SKIP) != 0;
	c->rcpts = (*pf1 & SMFIP_NORCPT) == 0;
	c->nr = *pf1 & nr;
	pw_debug(NULL, 1, "negotiated: rcpt %s, helo %s, replies at %s%s"
	    "end of message", c->rcpts ? "yes" : "no",
	    (*pf1 & SMFIP_NOHELO) ? "no" : "yes",
	    (c->nr & SMFIP_NR_MAIL) ? "" : "MAIL, ",
	    (c->nr & SMFIP_NR_EOH) ? "" : "end of headers, ");
	return SMFIS_CONTINUE;
}

/* reply_for - SMFIS code for a stage that produced no reply */
static sfsistat
noreply(const struct pw_conn *c, unsigned long flag)
{
	return (c->nr & flag) ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat
mlfi_connect(SMFICTX *ctx, char *hostname, _SOCK_ADDR *sa)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_client *cl;
	const char *dn;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	cl = &c->client;
	free(cl->hostname);
	cl->hostname = pw_strdup(hostname ? hostname : "unknown");
	cl->has_addr = false;
	cl->addr[0] = '\0';
	cl->port = 0;
	if (sa != NULL && sa->sa_family == AF_INET) {
		memcpy(&cl->sa, sa, sizeof(struct sockaddr_in));
		inet_ntop(AF_INET, &((struct sockaddr_in *)sa)->sin_addr,
		    cl->addr, sizeof(cl->addr));
		cl->port = ntohs(((struct sockaddr_in *)sa)->sin_port);
		cl->has_addr = true;
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(&cl->sa, sa, sizeof(struct sockaddr_in6));
		inet_ntop(AF_INET6, &((struct sockaddr_in6 *)sa)->sin6_addr,
		    cl->addr, sizeof(cl->addr));
		cl->port = ntohs(((struct sockaddr_in6 *)sa)->sin6_port);
		cl->has_addr = true;
	}
	cl->internal = cl->has_addr &&
		       pw_cidr_match(c->cfg->internal, (struct sockaddr *)sa);
	dn = smfi_getsymval(ctx, "{daemon_name}");
	free(cl->daemon_name);
	cl->daemon_name = dn ? pw_strdup(dn) : NULL;
	return noreply(c, SMFIP_NR_CONN);
}

static sfsistat
mlfi_helo(SMFICTX *ctx, char *helo)
{
	struct pw_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	free(c->client.helo);
	c->client.helo = pw_strdup(helo ? helo : "");
	return noreply(c, SMFIP_NR_HELO);
}

/* msg_end - run cleanups and free the message */
static void
msg_end(struct pw_conn *c)
{
	struct pw_msg *m = c->msg;

	if (m == NULL)
		return;
	for (size_t i = 0; i < pw_npolicies; i++) {
		struct pw_call call = {m, pw_policy_conf(c->cfg, i), m->priv[i]};

		if ((m->active & (1U << i)) && pw_policies[i]->cleanup) {
			m->current = pw_policies[i];
			pw_policies[i]->cleanup(&call);
		}
	}
	pw_msg_free(&c->msg);
}

/* direction - outbound (we are the sender) or inbound, and why */
static void
direction(struct pw_conn *c, SMFICTX *ctx)
{
	struct pw_msg *m = c->msg;
	const char *auth = smfi_getsymval(ctx, "{auth_authen}");

	m->dir = PW_DIR_IN;
	m->dir_why = "external";
	if (auth != NULL && *auth != '\0') {
		m->auth_authen = pw_arena_strdup(m->arena, auth);
		m->dir = PW_DIR_OUT;
		m->dir_why = "auth";
	} else if (c->client.has_addr && c->client.port == 0 &&
		   (strcmp(c->client.addr, "127.0.0.1") == 0 ||
		    strcmp(c->client.addr, "::1") == 0)) {
		/* Postfix non_smtpd_milters (the sendmail command, pickup)
		   reports "localhost 127.0.0.1" with port 0: no SMTP client
		   ever has source port 0. */
		m->dir = PW_DIR_OUT;
		m->dir_why = "local";
		/* Postfix cannot refuse a single recipient there ("can't
		   reject recipient in non-smtpd(8) submission") and keeps
		   the message in the maildrop, retried at every pickup
		   run: the policies decide at end of message instead. */
		m->nonsmtp = true;
	} else if (c->client.internal) {
		m->dir = PW_DIR_OUT;
		m->dir_why = "internal";
	} else if (c->client.daemon_name != NULL) {
		for (char **d = c->cfg->originating; *d; d++)
			if (strcmp(*d, c->client.daemon_name) == 0) {
				m->dir = PW_DIR_OUT;
				m->dir_why = "daemon";
			}
	}
}

/* run_stage - every active policy's callback for one stage, in order */
static enum pw_verdict
run_stage(struct pw_conn *c, enum stage st, const void *arg, size_t len)
{
	struct pw_msg *m = c->msg;

	for (size_t i = 0; i < pw_npolicies; i++) {
		const struct pw_policy *p = pw_policies[i];
		struct pw_call call = {m, pw_policy_conf(c->cfg, i), m->priv[i]};
		enum pw_verdict v = PW_DUNNO;

		if (!(m->active & (1U << i)))
			continue;
		m->current = p;
		switch (st) {
		case ST_MAIL:
			v = p->mail ? p->mail(&call) : PW_DUNNO;
			break;
		case ST_RCPT:
			v = p->rcpt ? p->rcpt(&call, arg) : PW_DUNNO;
			break;
		case ST_HEADER:
			v = p->header ? p->header(&call, arg) : PW_DUNNO;
			break;
		case ST_EOH:
			v = p->eoh ? p->eoh(&call) : PW_DUNNO;
			break;
		case ST_BODY:
			v = p->body ? p->body(&call, arg, len) : PW_DUNNO;
			break;
		case ST_EOM:
			v = p->eom ? p->eom(&call) : PW_DUNNO;
			break;
		}
		if ((v = pw_msg_decide(m, v)) != PW_DUNNO)
			return v;
	}
	m->current = NULL;
	return PW_DUNNO;
}

/* decided - has a terminal verdict been kept for the next reply? */
static bool
decided(const struct pw_msg *m)
{
	return m->verdict >= PW_TEMPFAIL;
}

/* act - turn a terminal verdict into the milter reply */
static sfsistat
act(SMFICTX *ctx, const struct pw_reply *r, enum pw_verdict v)
{
	switch (v) {
	case PW_REJECT:
	case PW_TEMPFAIL:
		/* '%' in a reply is read as a format by the MTA: written
		   "%%", as smfi_setreply(3) asks (a URL-escaped SPF
		   explanation, RFC 7208 7.3, has them). */
		if (r->text != NULL && strchr(r->text, '%') == NULL) {
			smfi_setreply(ctx, (char *)r->rcode, (char *)r->xcode,
			    (char *)r->text);
		} else if (r->text != NULL) {
			size_t n = strlen(r->text), o = 0;
			char *t = pw_malloc(2 * n + 1);

			for (size_t i = 0; i < n; i++)
				if ((t[o++] = r->text[i]) == '%')
					t[o++] = '%';
			t[o] = '\0';
			smfi_setreply(ctx, (char *)r->rcode, (char *)r->xcode,
			    t);
			free(t);
		}
		return v == PW_REJECT ? SMFIS_REJECT : SMFIS_TEMPFAIL;
	case PW_DISCARD:
		return SMFIS_DISCARD;
	case PW_ACCEPT:
		return SMFIS_ACCEPT;
	default:
		return SMFIS_CONTINUE;
	}
}

/*
 * reply_or_keep - the reply to a stage that found verdict v, or, when
 * the MTA does not wait at this stage (flag agreed), none: a terminal
 * verdict stays in the message (pw_msg_decide) for the next stage that
 * has a reply.
 */
static sfsistat
reply_or_keep(SMFICTX *ctx, const struct pw_conn *c, unsigned long flag,
    enum pw_verdict v)
{
	if (c->nr & flag)
		return SMFIS_NOREPLY;
	return v == PW_DUNNO ? SMFIS_CONTINUE : act(ctx, &c->msg->reply, v);
}

static sfsistat
mlfi_envfrom(SMFICTX *ctx, char **argv)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m;
	unsigned int needs = 0;
	enum pw_verdict v;

	if (c == NULL)
		return SMFIS_TEMPFAIL;
	msg_end(c);	/* RSET, or the next message of the session */
	m = c->msg = pw_msg_new(c->cfg, &c->client);
	pw_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	m->env_from = pw_msg_strip_angle(m, argv && argv[0] ? argv[0] : "");
	if (is_stopping()) {
		pw_msg_reply(m, "451", "4.3.2", "postwarden is restarting, "
		    "try again later");
		m->verdict = PW_TEMPFAIL;
		return reply_or_keep(ctx, c, SMFIP_NR_MAIL, PW_TEMPFAIL);
	}
	direction(c, ctx);
	for (size_t i = 0; i < pw_npolicies; i++) {
		if (!(policy_dirs(c->cfg, i) & m->dir))
			continue;
		m->active |= 1U << i;
		needs |= pw_policies[i]->needs;
		if (pw_policies[i]->msg_state_size > 0)
			m->priv[i] = pw_arena_alloc(m->arena,
			    pw_policies[i]->msg_state_size);
	}
	if (m->active == 0) {
		/* Nothing to do for this message.  The MTA is told to skip us
		   at end of headers: Postfix assigns the queue ID only after
		   the first valid RCPT, and the summary line must carry it. */
		return noreply(c, SMFIP_NR_MAIL);
	}
	m->needs = needs;
	m->keep_body = (needs & PW_NEED_BODY_BUFFER) != 0;
	v = run_stage(c, ST_MAIL, NULL, 0);
	return reply_or_keep(ctx, c, SMFIP_NR_MAIL, v);
}

static sfsistat
mlfi_envrcpt(SMFICTX *ctx, char **argv)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m = c ? c->msg : NULL;
	enum pw_verdict v, before;
	struct pw_reply saved;
	const char *rcpt;

	if (m == NULL)
		return SMFIS_CONTINUE;
	pw_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	if (decided(m))		/* kept from MAIL FROM (SMFIP_NR_MAIL) */
		return act(ctx, &m->reply, m->verdict);
	rcpt = pw_msg_strip_angle(m, argv && argv[0] ? argv[0] : "");
	before = m->verdict;
	saved = m->reply;
	v = run_stage(c, ST_RCPT, rcpt, 0);
	if (v == PW_REJECT || v == PW_TEMPFAIL) {
		/* Refuses this recipient only; the message goes on. */
		sfsistat r = act(ctx, &m->reply, v);

		pw_info(m, "rcpt=<%s> %s: %s %s %s", rcpt,
		    v == PW_REJECT ? "reject" : "tempfail", m->reply.rcode,
		    m->reply.xcode, m->reply.text);
		m->verdict = before;
		m->reply = saved;
		return r;
	}
	if (v != PW_DUNNO)
		return act(ctx, &m->reply, v);
	pw_msg_add_rcpt(m, rcpt);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_header(SMFICTX *ctx, char *name, char *value)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m = c ? c->msg : NULL;
	bool was_truncated;

	if (m == NULL || decided(m))
		return c ? noreply(c, SMFIP_NR_HDR) : SMFIS_CONTINUE;
	/* Every message, every direction, also past max_header_bytes. */
	pw_msg_seen_hdr(m, name);
	if (m->active == 0)
		return noreply(c, SMFIP_NR_HDR);
	was_truncated = m->hdrs_truncated;
	if (!pw_msg_add_hdr(m, name, value ? value : "")) {
		if (!was_truncated)	/* say it once per message */
			pw_warn(m, "headers exceed max_header_bytes (%ld); the "
			    "rest is not examined", c->cfg->core.max_header_bytes);
		return noreply(c, SMFIP_NR_HDR);
	}
	/* A terminal verdict here is kept and acted on at EOH: with
	   SMFIP_NR_HDR the MTA expects no reply to a header. */
	(void)run_stage(c, ST_HEADER, &m->hdrs.v[m->hdrs.n - 1], 0);
	return noreply(c, SMFIP_NR_HDR);
}

static sfsistat
mlfi_eoh(SMFICTX *ctx)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m = c ? c->msg : NULL;
	enum pw_verdict v;

	if (m == NULL)
		return c ? noreply(c, SMFIP_NR_EOH) : SMFIS_CONTINUE;
	pw_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	if (decided(m))
		return reply_or_keep(ctx, c, SMFIP_NR_EOH, m->verdict);
	/* Our private headers (Postwarden-Class) are instructions to us:
	   recorded for deletion before any policy runs, so the signer sees
	   the headers as they will leave. */
	if (pw_msg_strip_private(m) > 0 && m->active == 0)
		return noreply(c, SMFIP_NR_EOH);	/* edits need EOM */
	if (m->active == 0) {
		summary(c, "accept (no policy applies)");
		msg_end(c);
		return (c->nr & SMFIP_NR_EOH) ? SMFIS_NOREPLY : SMFIS_ACCEPT;
	}
	v = run_stage(c, ST_EOH, NULL, 0);
	return reply_or_keep(ctx, c, SMFIP_NR_EOH, v);
}

static sfsistat
mlfi_body(SMFICTX *ctx, unsigned char *p, size_t len)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m = c ? c->msg : NULL;

	if (m == NULL || decided(m))
		return c ? noreply(c, SMFIP_NR_BODY) : SMFIS_CONTINUE;
	/* No policy (m->needs is 0), or none that reads the body. */
	if (!(m->needs & (PW_NEED_BODY | PW_NEED_BODY_BUFFER))) {
		/* SKIP is a reply: not when the MTA expects none. */
		if (c->skip_ok && !(c->nr & SMFIP_NR_BODY))
			return SMFIS_SKIP;
		return noreply(c, SMFIP_NR_BODY);
	}
	if (m->keep_body)
		pw_msg_add_body(m, p, len);
	(void)run_stage(c, ST_BODY, p, len);
	return noreply(c, SMFIP_NR_BODY);
}

/* crlf_to_lf - header values go to the MTA with bare LF folding */
static char *
crlf_to_lf(const char *v)
{
	char *s = pw_strdup(v), *o = s;

	for (const char *p = v; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*o++ = *p;
	*o = '\0';
	return s;
}

/* apply_edits - hand the recorded edits to the MTA, in order */
static int
apply_edits(SMFICTX *ctx, struct pw_conn *c)
{
	int bad = 0;

	for (const struct pw_edit *e = c->msg->edits; e; e = e->next) {
		char *v = e->value ? crlf_to_lf(e->value) : NULL;
		char *val = v;
		int r = MI_FAILURE;

		/* Edits carry the raw value with its leading space; without
		   SMFIP_HDR_LEADSPC the MTA adds the space itself. */
		if (val != NULL && !c->leadspc && (*val == ' ' || *val == '\t'))
			val++;
		switch (e->op) {
		case PW_EDIT_ADD:
			r = smfi_addheader(ctx, (char *)e->name, val);
			break;
		case PW_EDIT_INSERT:
			r = smfi_insheader(ctx, e->index, (char *)e->name, val);
			break;
		case PW_EDIT_CHANGE:
		case PW_EDIT_DELETE:
			r = smfi_chgheader(ctx, (char *)e->name, e->index, val);
			break;
		}
		if (r != MI_SUCCESS) {
			pw_warn(c->msg, "header edit %s failed", e->name);
			bad = 1;
		}
		free(v);
	}
	for (size_t i = 0; i < c->msg->ndelrcpts; i++) {
		char *a = pw_asprintf("<%s>", c->msg->delrcpts[i]);

		if (smfi_delrcpt(ctx, a) != MI_SUCCESS) {
			pw_warn(c->msg, "cannot remove recipient %s", a);
			bad = 1;
		}
		free(a);
	}
	return bad ? -1 : 0;
}

static struct pw_metric m_messages = PW_COUNTER("postwarden_messages_total",
    "Messages decided at end of message (or found idle at end of "
    "headers), by direction and action", "direction", "action");
static struct pw_metric m_eom = PW_HISTOGRAM(
    "postwarden_eom_duration_seconds", "Time postwarden spent at end of "
    "message (checks, signing, header edits), by direction", "direction");
static struct pw_metric m_spf = PW_COUNTER("postwarden_spf_results_total",
    "SPF results (MAIL FROM identity) of inbound messages", "result");
static struct pw_metric m_dkim = PW_COUNTER(
    "postwarden_dkim_verify_results_total", "DKIM verification results, "
    "one per signature (none: a message without one)", "result");
static struct pw_metric m_dmarc = PW_COUNTER(
    "postwarden_dmarc_results_total", "DMARC results, and what was done "
    "(disposition)", "result", "disposition");

/* count_message - the per-message metrics (base/metrics.h) */
static void
count_message(const struct pw_msg *m, const char *action)
{
	static const char *const disp[] = {"none", "none", "quarantine",
	    "reject"};
	const char *dir = m->dir == PW_DIR_OUT ? "outbound" : "inbound";
	char act[16];
	size_t n = strcspn(action, " ");

	if (!pw_metrics_enabled())
		return;
	snprintf(act, sizeof(act), "%.*s", (int)n, action);
	pw_metric_inc(&m_messages, PW_LV(dir, act));
	if (m->auth.spf.done)
		pw_metric_inc(&m_spf, PW_LV(pw_auth_result_name(
		    m->auth.spf.result)));
	if (m->auth.dkim_done && m->auth.ndkim == 0)
		pw_metric_inc(&m_dkim, PW_LV("none"));
	for (size_t i = 0; m->auth.dkim_done && i < m->auth.ndkim; i++)
		pw_metric_inc(&m_dkim, PW_LV(pw_auth_result_name(
		    m->auth.dkim[i].result)));
	if (m->auth.dmarc.done)
		pw_metric_inc(&m_dmarc, PW_LV(pw_auth_result_name(
		    m->auth.dmarc.result),
		    disp[m->auth.dmarc.disposition & 3]));
}

/* summary - the one line per message */
static void
summary(struct pw_conn *c, const char *action)
{
	struct pw_msg *m = c->msg;

	char rc[32] = "";

	count_message(m, action);

	/* No recipient count when no policy asked the MTA for them. */
	if (c->rcpts)
		snprintf(rc, sizeof(rc), " rcpts=%zu", m->nrcpts);
	pw_info(m, "dir=%s (%s) client=%s from=<%s>%s action=%s%s",
	    m->dir == PW_DIR_OUT ? "out" : "in", m->dir_why,
	    c->client.addr[0] ? c->client.addr : "local", m->env_from, rc,
	    action, m->summary.data ? m->summary.data : "");
}

static sfsistat
mlfi_eom(SMFICTX *ctx)
{
	struct pw_conn *c = smfi_getpriv(ctx);
	struct pw_msg *m = c ? c->msg : NULL;
	struct timespec t0;
	enum pw_verdict v;
	sfsistat r;

	if (m == NULL)
		return SMFIS_CONTINUE;
	t0 = pw_metric_now();
	pw_msg_set_qid(m, smfi_getsymval(ctx, "i"));
	v = m->verdict >= PW_TEMPFAIL ? m->verdict :
					run_stage(c, ST_EOM, NULL, 0);
	r = eom_reply(ctx, c, v);
	pw_metric_since(&m_eom, &t0, PW_LV(m->dir == PW_DIR_OUT ? "outbound" :
	    "inbound"));
	msg_end(c);
	return r;
}

/* eom_reply - apply the verdict and edits; the caller ends the message */
static sfsistat
eom_reply(SMFICTX *ctx, struct pw_conn *c, enum pw_verdict v)
{
	struct pw_msg *m = c->msg;

	if (v == PW_DUNNO || v == PW_ACCEPT) {
		if (m->defer) {
			/* Postfix defer_if_permit: a temporary error left
			   undecided, and nothing rejected. */
			summary(c, "tempfail");
			return act(ctx, &m->defer_reply, PW_TEMPFAIL);
		}
		if (apply_edits(ctx, c) < 0 &&
		    c->cfg->core.on_internal_error == PW_ON_ERROR_TEMPFAIL) {
			summary(c, "tempfail (header edit failed)");
			return SMFIS_TEMPFAIL;
		}
		if (m->verdict == PW_QUARANTINE)
			smfi_quarantine(ctx, (char *)(m->reply.text ?
			    m->reply.text : "postwarden"));
		summary(c, m->verdict == PW_QUARANTINE ? "quarantine" :
							  "accept");
		return SMFIS_ACCEPT;
	}
	summary(c, v == PW_REJECT ? "reject" : v == PW_TEMPFAIL ? "tempfail" :
							       "discard");
	return act(ctx, &m->reply, v);
}

static sfsistat
mlfi_abort(SMFICTX *ctx)
{
	struct pw_conn *c = smfi_getpriv(ctx);

	if (c != NULL)
		msg_end(c);
	return SMFIS_CONTINUE;
}

static sfsistat
mlfi_close(SMFICTX *ctx)
{
	struct pw_conn *c = smfi_getpriv(ctx);

	if (c == NULL)
		return SMFIS_CONTINUE;
	msg_end(c);
	free(c->client.hostname);
	free(c->client.helo);
	free(c->client.daemon_name);
	pw_config_release(&c->cfg);
	free(c);
	smfi_setpriv(ctx, NULL);
	pthread_mutex_lock(&active_lock);
	active_conns--;
	pthread_mutex_unlock(&active_lock);
	return SMFIS_CONTINUE;
}

struct smfiDesc pw_mlfi_desc = {
    .xxfi_name = "postwarden",
    .xxfi_version = SMFI_VERSION,
    .xxfi_flags = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_QUARANTINE |
		  SMFIF_DELRCPT,
    .xxfi_connect = mlfi_connect,
    .xxfi_helo = mlfi_helo,
    .xxfi_envfrom = mlfi_envfrom,
    .xxfi_envrcpt = mlfi_envrcpt,
    .xxfi_header = mlfi_header,
    .xxfi_eoh = mlfi_eoh,
    .xxfi_body = mlfi_body,
    .xxfi_eom = mlfi_eom,
    .xxfi_abort = mlfi_abort,
    .xxfi_close = mlfi_close,
    .xxfi_negotiate = mlfi_negotiate,
};
