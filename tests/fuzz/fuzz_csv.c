/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_csv - libFuzzer harness for the CSV reader of "postwarden-ctl
 * consent import" (tools/ctl_csv.c).
 *
 *   PW_BUILD_DIR=$PWD/build sh tests/fuzz/build.sh --run 60 csv
 *
 * Besides "never crash, never read past the input", it checks:
 *   - the FILE and memory sources give the same records and errors
 *     (import reads a FILE; this harness mostly the memory buffer);
 *   - every record read, written back with pw_csv_field, reads back as
 *     the same fields: the writer ("consent export") and the reader agree.
 * The field limit is lowered to 256 so that inputs of libFuzzer's size
 * reach the "field too long" path.
 */
/* fuzz-sources: tools/ctl_csv.c */
#include "autoconf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/ctl_csv.h"

#define FUZZ_MAX_FIELD 256

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

/* roundtrip - write fields f[0..n-1], read them back: same record */
static void
roundtrip(char **f, size_t n)
{
	struct pw_csv c;
	const char *why = NULL;
	char *out = NULL;
	size_t outlen = 0, i;
	FILE *fp;
	int line, rc;

	if ((fp = open_memstream(&out, &outlen)) == NULL)
		abort();
	for (i = 0; i < n; i++)
		pw_csv_field(fp, f[i], i + 1 == n);
	if (fclose(fp) != 0)
		abort();
	pw_csv_init_mem(&c, out, outlen);
	c.max_field = FUZZ_MAX_FIELD;
	rc = pw_csv_next(&c, &line, &why);
	if (rc != 1 || c.n != n)
		abort();
	for (i = 0; i < n; i++)
		if (strcmp(c.f[i], f[i]) != 0)
			abort();
	if (pw_csv_next(&c, &line, &why) != 0)	/* nothing left over */
		abort();
	pw_csv_free(&c);
	free(out);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pw_csv m, f;
	const char *why_m, *why_f;
	FILE *fp = NULL;
	int rc_m, rc_f, line_m, line_f, records = 0;
	size_t i;

	pw_csv_init_mem(&m, data, size);
	m.max_field = FUZZ_MAX_FIELD;
	/* fmemopen of 0 bytes is refused by older C libraries */
	if (size > 0 && (fp = fmemopen((void *)data, size, "r")) == NULL)
		abort();
	pw_csv_init_file(&f, fp);
	f.max_field = FUZZ_MAX_FIELD;
	for (;;) {
		why_m = why_f = NULL;
		rc_m = pw_csv_next(&m, &line_m, &why_m);
		rc_f = fp != NULL ? pw_csv_next(&f, &line_f, &why_f) : rc_m;
		if (fp != NULL && (rc_m != rc_f || line_m != line_f ||
		    why_m != why_f || m.n != f.n))
			abort();
		for (i = 0; fp != NULL && i < m.n; i++)
			if (strcmp(m.f[i], f.f[i]) != 0)
				abort();
		if (rc_m == 0)
			break;
		if (rc_m < 0 && why_m == NULL)
			abort();
		if (rc_m > 0) {
			/* never a blank record, never a NUL inside */
			if (m.n == 0 || (m.n == 1 && m.f[0][0] == '\0'))
				abort();
			roundtrip(m.f, m.n);
		}
		/* every call consumes input: at most one record per byte */
		if (++records > (int)size + 1)
			abort();
	}
	pw_csv_free(&m);
	pw_csv_free(&f);
	if (fp != NULL)
		fclose(fp);
	return 0;
}
