/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_dmarc_send - an aggregate report as mail, and its submission.
 *
 * The message, by RFC 7489 section 7.2.1.1 and the same text in
 * draft-ietf-dmarc-aggregate-reporting (the drafts that became RFC 9990;
 * no copy of RFC 9990 itself was on this machine): a MIME message whose
 * one part is the gzipped XML, media type application/gzip, file name
 *   receiver "!" policy-domain "!" begin "!" end "!" unique-id ".xml.gz"
 * and a Subject of the form
 *   Report Domain: <policy domain> Submitter: <receiver> Report-ID: <id>
 * (the draft keeps the RFC 7489 form).  A human-readable text/plain part
 * comes first (both allow it).  We add Auto-Submitted: auto-generated
 * (RFC 3834) so that nobody answers it.  The Report-ID of a report is the
 * same at every attempt, so a receiver can drop a duplicate.
 *
 * Submission: "sendmail:/usr/sbin/sendmail [ARGS]" runs the command with
 * ARGS, "-i -f FROM -- RCPT" and the message on its input; exit status 0
 * is "sent".  "smtp:HOST:PORT" speaks SMTP (EHLO, MAIL, RCPT, DATA) to the
 * local MTA; only a 250 after the final dot is "sent".  Both leave the
 * queueing and the delivery (TLS, retries) to the MTA.  Note: Postfix's
 * sendmail runs the setgid postdrop, which systemd's NoNewPrivileges=yes
 * forbids (see conf/postwarden-dmarc-report.service).
 */
#include "autoconf.h"

#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <gmime/gmime.h>

#include "base/util.h"
#include "ctl_dmarc_send.h"
#include "dmarc_report_conf.h"

#define SMTP_TIMEOUT_MS	60000

static char *
ymd(time_t t)
{
	struct tm tm;
	char buf[40];

	gmtime_r(&t, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
	return pw_strdup(buf);
}

char *
pw_dmarc_mail_build(const struct pw_dmarc_mail *m, size_t *len_r)
{
	GMimeMessage *msg;
	GMimeMultipart *mp;
	GMimeTextPart *text;
	GMimePart *att;
	GMimeStream *in, *out;
	GMimeDataWrapper *dw;
	GDateTime *now;
	GByteArray *ba;
	const char *at = strrchr(m->from, '@');
	const char *submitter = at != NULL ? at + 1 : m->from;
	char *subject, *body, *mid, *b, *e, *res = NULL;

	g_mime_init();
	msg = g_mime_message_new(TRUE);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_FROM, m->org,
	    m->from);
	g_mime_message_add_mailbox(msg, GMIME_ADDRESS_TYPE_TO, NULL, m->rcpt);
	subject = pw_asprintf("Report Domain: %s Submitter: %s Report-ID: <%s>",
	    m->domain, submitter, m->report_id);
	g_mime_message_set_subject(msg, subject, NULL);
	now = g_date_time_new_now_utc();
	g_mime_message_set_date(msg, now);
	g_date_time_unref(now);
	mid = g_mime_utils_generate_message_id(submitter);
	g_mime_message_set_message_id(msg, mid);
	g_free(mid);
	g_mime_object_set_header(GMIME_OBJECT(msg), "Auto-Submitted",
	    "auto-generated", NULL);

	mp = g_mime_multipart_new_with_subtype("mixed");
	b = ymd(m->begin);
	e = ymd(m->end);
	body = pw_asprintf("This is a DMARC aggregate report (RFC 9990) from "
	    "%s.\n\nReport domain: %s\nReport-ID:     %s\nPeriod:        "
	    "%s to %s\nMessages:      %lu in %lu records\n%s\nThe report "
	    "is the attached gzipped XML file.\n", m->org, m->domain,
	    m->report_id, b, e, m->messages, m->records,
	    m->parts > 1 ? "(one of several parts: the records of this "
	    "period did not fit in one report)\n" : "");
	free(b);
	free(e);
	text = g_mime_text_part_new_with_subtype("plain");
	g_mime_text_part_set_text(text, body);
	free(body);
	g_mime_multipart_add(mp, GMIME_OBJECT(text));
	g_object_unref(text);

	att = g_mime_part_new_with_type("application", "gzip");
	in = g_mime_stream_mem_new_with_buffer(m->gz, m->gz_len);
	dw = g_mime_data_wrapper_new_with_stream(in,
	    GMIME_CONTENT_ENCODING_DEFAULT);
	g_mime_part_set_content(att, dw);
	g_object_unref(dw);
	g_object_unref(in);
	g_mime_part_set_content_encoding(att, GMIME_CONTENT_ENCODING_BASE64);
	g_mime_part_set_filename(att, m->filename);
	g_mime_multipart_add(mp, GMIME_OBJECT(att));
	g_object_unref(att);
	g_mime_message_set_mime_part(msg, GMIME_OBJECT(mp));
	g_object_unref(mp);

	out = g_mime_stream_mem_new();
	if (g_mime_object_write_to_stream(GMIME_OBJECT(msg), NULL, out) >= 0) {
		ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(out));
		res = pw_malloc(ba->len + 1);
		memcpy(res, ba->data, ba->len);
		res[ba->len] = '\0';
		*len_r = ba->len;
	}
	g_object_unref(out);
	g_object_unref(msg);
	free(subject);
	return res;
}

/* ---- sendmail ------------------------------------------------------------ */

static int
send_sendmail(const char *cmd, const char *from, const char *rcpt,
    const char *msg, size_t len, char **detail_r)
{
	char *copy = pw_strdup(cmd), *argv[40], *tok, *save = NULL;
	int p[2], status, n = 0;
	size_t off = 0;
	ssize_t w;
	pid_t pid;
	void (*old)(int);

	for (tok = strtok_r(copy, " \t", &save); tok != NULL && n < 32;
	    tok = strtok_r(NULL, " \t", &save))
		argv[n++] = tok;
	argv[n++] = (char *)"-i";
	argv[n++] = (char *)"-f";
	argv[n++] = (char *)from;
	argv[n++] = (char *)"--";
	argv[n++] = (char *)rcpt;
	argv[n] = NULL;
	if (pipe(p) < 0) {
		*detail_r = pw_asprintf("pipe: %s", strerror(errno));
		free(copy);
		return -1;
	}
	if ((pid = fork()) < 0) {
		*detail_r = pw_asprintf("fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		free(copy);
		return -1;
	}
	if (pid == 0) {
		dup2(p[0], 0);
		close(p[0]);
		close(p[1]);
		execv(argv[0], argv);
		/* only async-signal-safe calls here: the job has a second
		   thread (the reporter forks, the walk may hold a lock) */
		{
			static const char e[] = "postwarden-ctl: dmarc report: "
			    "cannot run the sendmail command\n";

			(void)!write(2, e, sizeof(e) - 1);
		}
		_exit(127);
	}
	close(p[0]);
	old = signal(SIGPIPE, SIG_IGN);
	while (off < len && (w = write(p[1], msg + off, len - off)) != 0) {
		if (w < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		off += (size_t)w;
	}
	close(p[1]);
	signal(SIGPIPE, old);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(copy);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && off == len) {
		*detail_r = pw_strdup("sendmail: exit 0");
		return 0;
	}
	*detail_r = WIFEXITED(status) ?
	    pw_asprintf("%s: exit %d", cmd, WEXITSTATUS(status)) :
	    pw_asprintf("%s: killed by signal %d", cmd, WTERMSIG(status));
	return -1;
}

/* ---- SMTP ------------------------------------------------------------------ */

struct smtp {
	int	 fd;
	char	 buf[4096];
	size_t	 len;
	char	 last[512];	/* the last reply line, for the record */
};

static int
smtp_write(struct smtp *s, const char *p, size_t len)
{
	struct pollfd pfd = { s->fd, POLLOUT, 0 };
	ssize_t w;

	while (len > 0) {
		if (poll(&pfd, 1, SMTP_TIMEOUT_MS) != 1)
			return -1;
		if ((w = send(s->fd, p, len, MSG_NOSIGNAL)) < 0) {
			if (errno == EINTR || errno == EAGAIN)
				continue;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* smtp_reply - read one (multi-line) reply: its code, or -1 */
static int
smtp_reply(struct smtp *s)
{
	struct pollfd pfd = { s->fd, POLLIN, 0 };
	char *nl;
	ssize_t r;

	for (;;) {
		while ((nl = memchr(s->buf, '\n', s->len)) != NULL) {
			size_t n = (size_t)(nl - s->buf) + 1;
			int code;
			bool more;

			snprintf(s->last, sizeof(s->last), "%.*s",
			    (int)(n > 1 && nl[-1] == '\r' ? n - 2 : n - 1),
			    s->buf);
			code = n >= 4 ? atoi(s->buf) : -1;
			more = n >= 4 && s->buf[3] == '-';
			memmove(s->buf, s->buf + n, s->len - n);
			s->len -= n;
			if (!more)
				return code >= 200 && code < 600 ? code : -1;
		}
		if (s->len == sizeof(s->buf))
			return -1;
		if (poll(&pfd, 1, SMTP_TIMEOUT_MS) != 1)
			return -1;
		r = recv(s->fd, s->buf + s->len, sizeof(s->buf) - s->len, 0);
		if (r <= 0)
			return -1;
		s->len += (size_t)r;
	}
}

/* smtp_cmd - send a b c CRLF, read the reply: 0 if its class is want */
static int
smtp_cmd(struct smtp *s, int want, const char *a, const char *b,
    const char *c)
{
	char line[1024];
	int n = snprintf(line, sizeof(line), "%s%s%s\r\n", a, b, c);

	if (n < 0 || (size_t)n >= sizeof(line) || smtp_write(s, line,
	    (size_t)n) < 0)
		return -1;
	return smtp_reply(s) / 100 == want ? 0 : -1;
}

static int
send_smtp(const char *transport, const char *from, const char *rcpt,
    const char *msg, size_t len, char **detail_r)
{
	struct addrinfo hints, *ai = NULL, *a;
	struct smtp s;
	struct pw_buf data = {0};
	char host[256], portstr[8], *h = NULL;
	const char *p, *step = "connect";
	int port, rc = -1;

	memset(&s, 0, sizeof(s));
	s.fd = -1;
	if (pw_dmarc_report_smtp_addr(transport, &h, &port) < 0) {
		*detail_r = pw_asprintf("bad transport %s", transport);
		return -1;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV;
	snprintf(portstr, sizeof(portstr), "%d", port);
	if (getaddrinfo(h, portstr, &hints, &ai) != 0)
		goto out;
	for (a = ai; a != NULL; a = a->ai_next) {
		if ((s.fd = socket(a->ai_family, a->ai_socktype, 0)) < 0)
			continue;
		if (connect(s.fd, a->ai_addr, a->ai_addrlen) == 0)
			break;
		close(s.fd);
		s.fd = -1;
	}
	if (s.fd < 0) {
		snprintf(s.last, sizeof(s.last), "%s", strerror(errno));
		goto out;
	}
	step = "greeting";
	if (smtp_reply(&s) / 100 != 2)
		goto out;
	if (gethostname(host, sizeof(host)) < 0)
		strcpy(host, "localhost");
	host[sizeof(host) - 1] = '\0';
	step = "EHLO";
	if (smtp_cmd(&s, 2, "EHLO ", host, "") < 0)
		goto out;
	step = "MAIL FROM";
	if (smtp_cmd(&s, 2, "MAIL FROM:<", from, ">") < 0)
		goto out;
	step = "RCPT TO";
	if (smtp_cmd(&s, 2, "RCPT TO:<", rcpt, ">") < 0)
		goto out;
	step = "DATA";
	if (smtp_cmd(&s, 3, "DATA", "", "") < 0)
		goto out;
	/* CRLF line ends and dot-stuffing (RFC 5321 section 4.5.2) */
	for (p = msg; p < msg + len;) {
		const char *nl = memchr(p, '\n', (size_t)(msg + len - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(msg + len -
		    p);

		if (n > 0 && p[n - 1] == '\r')
			n--;
		if (*p == '.')
			pw_buf_add(&data, ".", 1);
		pw_buf_add(&data, p, n);
		pw_buf_add(&data, "\r\n", 2);
		p = nl != NULL ? nl + 1 : msg + len;
	}
	pw_buf_add(&data, ".\r\n", 3);
	step = "end of data";
	if (smtp_write(&s, data.data, data.len) < 0 || smtp_reply(&s) / 100 !=
	    2)
		goto out;
	rc = 0;
	(void)smtp_cmd(&s, 2, "QUIT", "", "");
out:
	*detail_r = rc == 0 ? pw_strdup(s.last) :
	    pw_asprintf("%s:%d: %s: %s", h, port, step,
	    *s.last ? s.last : "no answer");
	if (s.fd >= 0)
		close(s.fd);
	if (ai != NULL)
		freeaddrinfo(ai);
	pw_buf_free(&data);
	free(h);
	return rc;
}

int
pw_dmarc_mail_send(const char *transport, const char *from, const char *rcpt,
    const char *msg, size_t len, char **detail_r)
{
	*detail_r = NULL;
	if (strncmp(transport, "sendmail:", 9) == 0)
		return send_sendmail(transport + 9, from, rcpt, msg, len,
		    detail_r);
	return send_smtp(transport, from, rcpt, msg, len, detail_r);
}
