/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quickack - re-arm TCP_QUICKACK after libmilter's writes (see quickack.h).
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "base/log.h"
#include "quickack.h"

typedef ssize_t (*writev_fn)(int, const struct iovec *, int);

static bool qa_enabled;		/* set once before any thread starts */
static pthread_once_t qa_once = PTHREAD_ONCE_INIT;
static writev_fn qa_real;

/* qa_resolve - the C library's writev */
static void
qa_resolve(void)
{
	qa_real = (writev_fn)dlsym(RTLD_NEXT, "writev");
	if (qa_real == NULL)
		pw_panic("quickack: cannot find writev: %s", dlerror());
}

void
pw_quickack_enable(void)
{
	qa_enabled = true;
}

ssize_t
writev(int fd, const struct iovec *iov, int iovcnt)
{
	ssize_t n;

	pthread_once(&qa_once, qa_resolve);
	n = qa_real(fd, iov, iovcnt);
	if (qa_enabled && n > 0) {
		int one = 1;

		/* Fails harmlessly (ENOTSOCK, EOPNOTSUPP) on anything that is
		   not a TCP socket. */
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one,
		    sizeof(one));
	}
	return n;
}
