/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * ctl_csv - RFC 4180 CSV for postwarden-ctl: one reader (consent import)
 * and one field writer (every CSV the tool prints).
 *
 * The reader takes its bytes from a FILE or from a memory buffer, the
 * same code either way, so tests/fuzz/fuzz_csv.c drives exactly what
 * "consent import" runs.  It knows nothing of columns: a record is a
 * list of strings.  Single-threaded, one reader per input.
 */
#ifndef PW_CTL_CSV_H
#define PW_CTL_CSV_H

#include <stdbool.h>
#include <stdio.h>

/* The longest field the reader accepts (a proof reference, not a file). */
#define PW_CSV_MAX_FIELD (64 * 1024)

struct pw_csv {
	/* the input: fp, or mem/memlen when fp is NULL */
	FILE		*fp;
	const char	*mem;
	size_t		 memlen, mempos;
	int		 back;		/* one pushed-back byte, or -2 */
	size_t		 max_field;	/* PW_CSV_MAX_FIELD unless changed */
	int		 line;		/* physical line being read */
	char		**f;		/* fields of the last record */
	size_t		 n, cap;
};

/* Start reading fp, or len bytes at mem (not copied: keep them until
   pw_csv_free). */
void	pw_csv_init_file(struct pw_csv *, FILE *);
void	pw_csv_init_mem(struct pw_csv *, const void *mem, size_t len);

/*
 * pw_csv_next - read one record into c->f[0 .. c->n - 1]: 1; 0 at the
 * end of the input; -1 on a syntax error (*why_r, static text; the rest
 * of that line is skipped, and the next call goes on after it).
 * *line_r is the line the record starts on.  Blank lines are skipped
 * (so a record of one empty field is never returned).  A field never
 * holds a NUL byte; its trailing CR is dropped unless it was quoted.
 */
int	pw_csv_next(struct pw_csv *, int *line_r, const char **why_r);

/* The fields of the last record, and everything, freed (not the FILE). */
void	pw_csv_clear(struct pw_csv *);
void	pw_csv_free(struct pw_csv *);

/* pw_csv_field - write v (NULL: empty) as one field, quoted when RFC 4180
   needs it, then "," or, for the last field, "\n". */
void	pw_csv_field(FILE *, const char *v, bool last);

#endif
