/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * quickack - re-arm TCP_QUICKACK after libmilter's writes (see quickack.h).
 */
#include "autoconf.h"

#include <dlfcn.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdbool.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "interposers.h"
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

int
pw_quickack_probe(char **why_r)
{
	int one = 1, s, r;

	switch (pw_interposed("/libmilter.so", "writev", (const void *)writev)) {
	case 1:
		break;
	case 0:
		*why_r = pw_strdup("libmilter no longer calls writev()");
		return -1;
	case -1:
		*why_r = pw_strdup("libmilter's writev() is bound to another "
		    "definition");
		return -1;
	default:
		*why_r = pw_strdup("libmilter's code not found (static "
		    "build?)");
		return -1;
	}
	/* The option the re-arm sets must exist on this kernel. */
	if ((s = socket(AF_INET, SOCK_STREAM, 0)) < 0) {
		*why_r = pw_asprintf("socket: %s", strerror(errno));
		return -1;
	}
	r = setsockopt(s, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
	if (r < 0)
		*why_r = pw_asprintf("setsockopt TCP_QUICKACK: %s",
		    strerror(errno));
	(void)close(s);
	return r < 0 ? -1 : 0;
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
