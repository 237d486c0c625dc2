/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * fuzz_dmarc_record - libFuzzer harness for the DMARC record parser
 * (pw_dmarc_record_parse, policies/dmarc_record.c), which reads TXT
 * records anyone can publish.
 *
 *   tests/fuzz/build.sh --run 60 dmarc_record
 *
 * Besides "never crash, never read past the length" (the input is copied
 * into a buffer of exactly its size, no NUL), it checks what the caller
 * relies on: the values stay in range, spans point into the input, the
 * same input parses the same way twice, and appending a term
 * (";zz=1") changes nothing but the count of unknown tags.
 */
#include "autoconf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parsers/dmarc_record.h"

int LLVMFuzzerTestOneInput(const uint8_t *, size_t);

#define ALL_BAD	0x03ffu

static void
check(const char *buf, size_t size, const struct pw_dmarc_record *r)
{
	if (r->p > PW_DMARC_P_REJECT || r->sp > PW_DMARC_P_REJECT ||
	    r->np > PW_DMARC_P_REJECT || r->pct < 0 || r->pct > 100 ||
	    (r->psd != 'y' && r->psd != 'n' && r->psd != 'u') ||
	    (r->bad & ~ALL_BAD) != 0)
		abort();
	if (r->rua.s != NULL && (r->rua.s < buf ||
	    r->rua.s + r->rua.len > buf + size))
		abort();
	if (r->ruf.s != NULL && (r->ruf.s < buf ||
	    r->ruf.s + r->ruf.len > buf + size))
		abort();
	if (r->rua_valid > 0 && (r->rua.s == NULL ||
	    (r->bad & PW_DMARC_BAD_RUA) != 0))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char tail[] = ";zz=1";
	struct pw_dmarc_record a, b, c;
	char *buf, *longer;
	int rc;

	if ((buf = malloc(size ? size : 1)) == NULL)
		return 0;
	memcpy(buf, data, size);
	rc = pw_dmarc_record_parse(buf, size, &a);
	if (rc != 0 && rc != -1)
		abort();
	if (pw_dmarc_record_parse(buf, size, &b) != rc ||
	    memcmp(&a, &b, sizeof(a)) != 0)
		abort();
	if (rc == 0)
		check(buf, size, &a);

	if ((longer = malloc(size + sizeof(tail) - 1)) != NULL) {
		memcpy(longer, data, size);
		memcpy(longer + size, tail, sizeof(tail) - 1);
		if (pw_dmarc_record_parse(longer, size + sizeof(tail) - 1, &c)
		    != rc)
			abort();
		if (rc == 0 && (c.p != a.p || c.sp != a.sp || c.np != a.np ||
		    c.pct != a.pct || c.bad != a.bad || c.psd != a.psd ||
		    c.testing != a.testing || c.adkim_strict !=
		    a.adkim_strict || c.aspf_strict != a.aspf_strict ||
		    c.rua_valid != a.rua_valid || c.ruf_valid != a.ruf_valid ||
		    c.dups != a.dups || c.unknown != a.unknown + 1))
			abort();
		free(longer);
	}
	free(buf);
	return 0;
}
