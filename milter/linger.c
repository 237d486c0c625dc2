/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * linger - libmilter's "is the next command there?" poll waits longer
 * (see linger.h).
 */
#include "autoconf.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "linger.h"
#include "log.h"

typedef int (*poll_fn)(struct pollfd *, nfds_t, int);

static int lg_ms;			/* set once before any thread starts */
static uintptr_t lg_lo, lg_hi;		/* libmilter's code */
static pthread_once_t lg_once = PTHREAD_ONCE_INIT;
static poll_fn lg_real;

/* lg_resolve - the C library's poll */
static void
lg_resolve(void)
{
	lg_real = (poll_fn)dlsym(RTLD_NEXT, "poll");
	if (lg_real == NULL)
		pw_panic("linger: cannot find poll: %s", dlerror());
}

/* lg_find - the executable segment of libmilter */
static int
lg_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL ||
	    strstr(info->dlpi_name, "/libmilter.so") == NULL)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			lg_lo = info->dlpi_addr + ph->p_vaddr;
			lg_hi = lg_lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

void
pw_linger_enable(int ms)
{
	if (ms <= 1)
		return;
	if (dl_iterate_phdr(lg_find, NULL) == 0 || lg_lo == 0) {
		pw_syslog(LOG_WARNING, "linger: libmilter not found in the "
		    "process; workers hand sessions back after 1 ms");
		return;
	}
	lg_ms = ms;
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	pthread_once(&lg_once, lg_resolve);
	if (lg_ms > 0 && nfds == 1 && timeout == 1 &&
	    fds[0].events == POLLIN) {
		uintptr_t ra = (uintptr_t)__builtin_return_address(0);

		if (ra >= lg_lo && ra < lg_hi)
			timeout = lg_ms;
	}
	return lg_real(fds, nfds, timeout);
}
