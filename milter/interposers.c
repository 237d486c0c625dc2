/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * interposers - startup proof that each override still applies (see
 * interposers.h).
 */
#include "autoconf.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "base/log.h"
#include "base/metrics.h"
#include "base/util.h"
#include "interposers.h"
#include "keys/keycache.h"
#include "keys/pubkeycache.h"
#include "milterio.h"
#include "quickack.h"

#if __ELF_NATIVE_CLASS == 64
#define IP_R_SYM(i)	ELF64_R_SYM(i)
#else
#define IP_R_SYM(i)	ELF32_R_SYM(i)
#endif

/* the counters right after the startup probes, which move them */
static unsigned long ip_base[4];

struct ip_query {
	const char	*lib;
	const char	*sym;
	const void	*ours;
	int		 found;		/* the library is loaded */
	int		 result;
};

/* ip_ptr - a d_ptr of the dynamic section as an address (glibc relocates
   most of them in place; some ports leave them as offsets) */
static uintptr_t
ip_ptr(uintptr_t base, ElfW(Addr) p)
{
	return p < base ? base + p : (uintptr_t)p;
}

/* ip_relocs - look at one relocation table for references to q->sym */
static void
ip_relocs(struct ip_query *q, uintptr_t base, uintptr_t lo, uintptr_t hi,
    const ElfW(Sym) *symtab, const char *strtab, uintptr_t rel, size_t size,
    int rela)
{
	size_t ent = rela ? sizeof(ElfW(Rela)) : sizeof(ElfW(Rel));

	for (size_t off = 0; rel != 0 && off + ent <= size; off += ent) {
		const ElfW(Rel) *r = (const ElfW(Rel) *)(rel + off);
		size_t si = IP_R_SYM(r->r_info);
		const ElfW(Sym) *s = &symtab[si];
		uintptr_t v;

		if (si == 0 || s->st_shndx != SHN_UNDEF ||
		    strcmp(strtab + s->st_name, q->sym) != 0)
			continue;
		/* The slot holds where the reference is bound now. */
		v = *(const uintptr_t *)(base + r->r_offset);
		if (v == (uintptr_t)q->ours) {
			q->result = 1;
		} else if (v >= lo && v < hi) {
			/* lazy binding, not resolved yet: the global lookup
			   decides, as it will for the library */
			q->result = dlsym(RTLD_DEFAULT, q->sym) == q->ours ?
			    1 : -1;
		} else {
			q->result = -1;
			return;
		}
	}
}

/* ip_find - dl_iterate_phdr callback: the library's dynamic relocations */
static int
ip_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct ip_query *q = arg;
	const ElfW(Dyn) *dyn = NULL;
	const ElfW(Sym) *symtab = NULL;
	const char *strtab = NULL;
	uintptr_t base = info->dlpi_addr, lo = UINTPTR_MAX, hi = 0;
	uintptr_t jmprel = 0, rel = 0, rela = 0;
	size_t pltsz = 0, relsz = 0, relasz = 0;
	int pltrela = 1;

	(void)size;
	if (info->dlpi_name == NULL || strstr(info->dlpi_name, q->lib) == NULL)
		return 0;
	q->found = 1;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_DYNAMIC)
			dyn = (const ElfW(Dyn) *)(base + ph->p_vaddr);
		if (ph->p_type == PT_LOAD) {
			if (base + ph->p_vaddr < lo)
				lo = base + ph->p_vaddr;
			if (base + ph->p_vaddr + ph->p_memsz > hi)
				hi = base + ph->p_vaddr + ph->p_memsz;
		}
	}
	for (; dyn != NULL && dyn->d_tag != DT_NULL; dyn++) {
		switch (dyn->d_tag) {
		case DT_SYMTAB:
			symtab = (const ElfW(Sym) *)ip_ptr(base,
			    dyn->d_un.d_ptr);
			break;
		case DT_STRTAB:
			strtab = (const char *)ip_ptr(base, dyn->d_un.d_ptr);
			break;
		case DT_JMPREL:
			jmprel = ip_ptr(base, dyn->d_un.d_ptr);
			break;
		case DT_PLTRELSZ:
			pltsz = dyn->d_un.d_val;
			break;
		case DT_PLTREL:
			pltrela = dyn->d_un.d_val == DT_RELA;
			break;
		case DT_RELA:
			rela = ip_ptr(base, dyn->d_un.d_ptr);
			break;
		case DT_RELASZ:
			relasz = dyn->d_un.d_val;
			break;
		case DT_REL:
			rel = ip_ptr(base, dyn->d_un.d_ptr);
			break;
		case DT_RELSZ:
			relsz = dyn->d_un.d_val;
			break;
		}
	}
	if (symtab == NULL || strtab == NULL)
		return 1;
	/* Calls go through the PLT (JMPREL); a function whose address is
	   taken goes through a GLOB_DAT slot (RELA/REL). */
	ip_relocs(q, base, lo, hi, symtab, strtab, jmprel, pltsz, pltrela);
	if (q->result >= 0)
		ip_relocs(q, base, lo, hi, symtab, strtab, rela, relasz, 1);
	if (q->result >= 0)
		ip_relocs(q, base, lo, hi, symtab, strtab, rel, relsz, 0);
	return 1;
}

int
pw_interposed(const char *lib, const char *sym, const void *ours)
{
	struct ip_query q = {lib, sym, ours, 0, 0};

	dl_iterate_phdr(ip_find, &q);
	return q.found ? q.result : -2;
}

/* ip_opendkim - libopendkim still calls SYM, and reaches OURS */
static int
ip_opendkim(const char *sym, const void *ours, char **why_r)
{
	switch (pw_interposed("/libopendkim.so", sym, ours)) {
	case 1:
		return 0;
	case 0:
		*why_r = pw_asprintf("libopendkim no longer calls %s()", sym);
		break;
	case -1:
		*why_r = pw_asprintf("libopendkim's %s() is bound to another "
		    "definition", sym);
		break;
	default:
		*why_r = pw_strdup("libopendkim is not loaded");
		break;
	}
	return -1;
}

static int
ip_keycache(char **why_r)
{
	if (pw_keycache_probe(why_r) < 0)
		return -1;
	return ip_opendkim("PEM_read_bio_PrivateKey",
	    (const void *)PEM_read_bio_PrivateKey, why_r);
}

static int
ip_pubkeycache(char **why_r)
{
	if (pw_pubkeycache_probe(why_r) < 0)
		return -1;
	return ip_opendkim("d2i_PUBKEY_bio", (const void *)d2i_PUBKEY_bio,
	    why_r);
}

int
pw_interposers_check(int inet, int to_stderr)
{
	static const struct {
		const char	*name;
		int		(*probe)(char **);
		const char	*cost;
		int		 inet_only;
	} ip[] = {
	    {"milterio", pw_milterio_probe,
		"libmilter reads each command in several system calls", 0},
	    {"keycache", ip_keycache,
		"every signature parses its private key again", 0},
	    {"pubkeycache", ip_pubkeycache,
		"every verified signature decodes its public key again", 0},
	    {"quickack", pw_quickack_probe,
		"inet milter sockets wait for delayed ACKs", 1},
	};
	static struct pw_metric m_active = PW_GAUGE(
	    "postwarden_interposer_active", "1 when the interposer applies "
	    "(milter/interposers.h), 0 when it does not", "name");
	struct pw_buf line = {0}, off = {0};
	int bad = 0;

	pw_buf_puts(&line, "interposers:");
	for (size_t i = 0; i < sizeof(ip) / sizeof(ip[0]); i++) {
		char *why = NULL;

		if (ip[i].inet_only && !inet)
			continue;
		if (ip[i].probe(&why) == 0) {
			pw_buf_printf(&line, " %s", ip[i].name);
			pw_metric_set(&m_active, 1, PW_LV(ip[i].name));
			continue;
		}
		pw_metric_set(&m_active, 0, PW_LV(ip[i].name));
		bad++;
		pw_buf_printf(&off, " %s", ip[i].name);
		if (to_stderr)
			fprintf(stderr, "warning: interposer %s is not "
			    "active: %s (%s)\n", ip[i].name, why, ip[i].cost);
		else
			pw_syslog(LOG_WARNING, "interposer %s is not active: "
			    "%s (%s)", ip[i].name, why, ip[i].cost);
		free(why);
	}
	ip_base[0] = pw_keycache_hits();
	ip_base[1] = pw_keycache_misses();
	ip_base[2] = pw_pubkeycache_hits();
	ip_base[3] = pw_pubkeycache_misses();
	if (off.data != NULL)
		pw_buf_printf(&line, "; NOT active:%s", off.data);
	if (!inet)
		pw_buf_puts(&line, " (quickack: not needed on a unix socket)");
	if (to_stderr)
		fprintf(stderr, "%s\n", line.data);
	else
		pw_syslog(bad ? LOG_WARNING : LOG_INFO, "%s", line.data);
	pw_buf_free(&line);
	pw_buf_free(&off);
	return bad;
}

void
pw_interposers_report(void)
{
	/* hits: answered from the cache; decodes: passed on to OpenSSL */
	pw_syslog(LOG_INFO, "interposers: keycache %lu hits %lu decodes, "
	    "pubkeycache %lu hits %lu decodes",
	    pw_keycache_hits() - ip_base[0], pw_keycache_misses() - ip_base[1],
	    pw_pubkeycache_hits() - ip_base[2],
	    pw_pubkeycache_misses() - ip_base[3]);
}
