/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_dmarc_send - an RFC 9990 aggregate report as a mail message (GMime)
 * and its submission to the local MTA: the sendmail command or SMTP to a
 * local port (dmarc_report_transport).
 */
#ifndef PW_CTL_DMARC_SEND_H
#define PW_CTL_DMARC_SEND_H

#include <stddef.h>
#include <time.h>

struct pw_dmarc_mail {
	const char	*from;		/* dmarc_report_from */
	const char	*org;		/* org_name */
	const char	*rcpt;		/* the rua address (mailto: removed) */
	const char	*domain;	/* the policy domain */
	const char	*report_id;
	const char	*filename;	/* receiver!domain!begin!end!id.xml.gz */
	time_t		 begin, end;	/* end excluded */
	unsigned long	 messages, records;
	unsigned	 part, parts;	/* 1 of 1 unless split */
	const void	*gz;		/* the gzipped XML */
	size_t		 gz_len;
};

/* The message, LF line ends (malloc'd, *len_r bytes); NULL on error. */
char	*pw_dmarc_mail_build(const struct pw_dmarc_mail *, size_t *len_r);

/* Submit msg from -> rcpt through transport ("sendmail:/PATH [ARGS]" or
   "smtp:HOST:PORT").  0 sent (accepted by the MTA), -1 not, with
   *detail_r (malloc'd): the MTA's reply or the command's exit status. */
int	pw_dmarc_mail_send(const char *transport, const char *from,
	    const char *rcpt, const char *msg, size_t len, char **detail_r);

#endif
