/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * milterio - buffered reads and a longer wait for libmilter's sessions
 * (see milterio.h).
 */
#include "autoconf.h"

#define _GNU_SOURCE 1
#include <dlfcn.h>
#include <errno.h>
#include <link.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "interposers.h"
#include "milterio.h"

#define MIO_BUF		16384	/* read-ahead per session */
#define MIO_MAX_FDS	65536	/* sessions above this fd: not buffered */

/*
 * One slot per descriptor number.  A session's slot is used by one
 * thread at a time: libmilter hands a session from thread to thread
 * under its own mutex, and only after our buffer is empty (its readiness
 * poll said no more).  Slots and their buffers are never freed, so the
 * pool thread's poll() may look at any slot at any time.
 */
struct mio_slot {
	atomic_bool	 session;	/* accepted by libmilter, not closed */
	atomic_size_t	 len;		/* bytes buffered */
	size_t		 off;		/* where they start in buf */
	char		*buf;		/* MIO_BUF, allocated on first use */
};

typedef int (*accept_fn)(int, struct sockaddr *, socklen_t *);
typedef ssize_t (*read_fn)(int, void *, size_t);
typedef int (*poll_fn)(struct pollfd *, nfds_t, int);
typedef int (*close_fn)(int);

static struct {				/* set before any session */
	bool		 on;
	int		 linger_ms;
	uintptr_t	 lo, hi;	/* libmilter's code */
	struct mio_slot	*slot;
	size_t		 nslots;
} mio;

static pthread_once_t mio_once = PTHREAD_ONCE_INIT;
static accept_fn real_accept;
static read_fn real_read;
static poll_fn real_poll;
static close_fn real_close;

/* mio_resolve - the C library's functions */
static void
mio_resolve(void)
{
	real_accept = (accept_fn)dlsym(RTLD_NEXT, "accept");
	real_read = (read_fn)dlsym(RTLD_NEXT, "read");
	real_poll = (poll_fn)dlsym(RTLD_NEXT, "poll");
	real_close = (close_fn)dlsym(RTLD_NEXT, "close");
	if (!real_accept || !real_read || !real_poll || !real_close)
		pw_panic("milterio: cannot find the C library's I/O: %s",
		    dlerror());
}

/* mio_find - the executable segment of libmilter */
static int
mio_find(struct dl_phdr_info *info, size_t size, void *arg)
{
	(void)size;
	(void)arg;
	if (info->dlpi_name == NULL ||
	    strstr(info->dlpi_name, "/libmilter.so") == NULL)
		return 0;
	for (int i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];

		if (ph->p_type == PT_LOAD && (ph->p_flags & PF_X)) {
			mio.lo = info->dlpi_addr + ph->p_vaddr;
			mio.hi = mio.lo + ph->p_memsz;
			return 1;
		}
	}
	return 0;
}

/*
 * What libmilter must import for the buffering to be right: the four we
 * define, and no other way to read a session or wait for it -- a recv()
 * or readv() next to our buffered read() would take bytes from behind
 * the ones we hold (reordering the stream), an unhandled wait would block
 * on bytes already in our buffer.  Debian 12's libmilter 8.17.1.9
 * imports read, poll, accept, close, write and writev and none of these
 * (nm -D --undefined-only libmilter.so.1.0.1).
 */
static const char *const mio_must[] = {"accept", "read", "poll", "close"};
static const char *const mio_mustnot[] = {
    "recv", "recvfrom", "recvmsg", "recvmmsg", "readv", "preadv",
    "preadv2", "pread", "pread64", "select", "pselect", "ppoll",
    "epoll_wait", "epoll_pwait", "epoll_pwait2", "accept4", "dup",
    "dup2", "dup3", "fdopen", "__read_chk", "__recv_chk",
    "__recvfrom_chk", "__poll_chk", "__ppoll_chk", "__pread_chk",
    "__pread64_chk",
};

int
pw_milterio_probe(char **why_r)
{
	const void *ours[] = {(const void *)accept, (const void *)read,
	    (const void *)poll, (const void *)close};

	pthread_once(&mio_once, mio_resolve);
	if (mio.lo == 0 && dl_iterate_phdr(mio_find, NULL) == 0) {
		*why_r = pw_strdup("libmilter's code not found (static "
		    "build?)");
		return -1;
	}
	for (size_t i = 0; i < sizeof(mio_must) / sizeof(mio_must[0]); i++)
		switch (pw_interposed("/libmilter.so", mio_must[i], ours[i])) {
		case 1:
			break;
		case 0:
			*why_r = pw_asprintf("libmilter no longer calls %s()",
			    mio_must[i]);
			return -1;
		default:
			*why_r = pw_asprintf("libmilter's %s() is bound to "
			    "another definition", mio_must[i]);
			return -1;
		}
	for (size_t i = 0; i < sizeof(mio_mustnot) / sizeof(mio_mustnot[0]);
	     i++)
		if (pw_interposed("/libmilter.so", mio_mustnot[i], NULL) != 0) {
			*why_r = pw_asprintf("libmilter calls %s(), which "
			    "milterio does not handle", mio_mustnot[i]);
			return -1;
		}
	return 0;
}

int
pw_milterio_enable(int linger_ms)
{
	struct rlimit rl;
	char *why = NULL;

	/* Never buffer unless libmilter reads exactly the way we handle:
	   the probe's warning is logged by pw_interposers_check(). */
	if (pw_milterio_probe(&why) < 0) {
		free(why);
		return -1;
	}
	mio.nslots = MIO_MAX_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < mio.nslots)
		mio.nslots = (size_t)rl.rlim_cur;
	mio.slot = pw_calloc(mio.nslots, sizeof(*mio.slot));
	mio.linger_ms = linger_ms > 1 ? linger_ms : 0;
	mio.on = true;
	return 0;
}

/* from_libmilter - was the caller's call made in libmilter's code? */
static inline bool
from_libmilter(uintptr_t ra)
{
	return ra >= mio.lo && ra < mio.hi;
}

/* session - the slot of a libmilter session socket, or NULL */
static inline struct mio_slot *
session(int fd)
{
	if (!mio.on || fd < 0 || (size_t)fd >= mio.nslots ||
	    !atomic_load_explicit(&mio.slot[fd].session, memory_order_acquire))
		return NULL;
	return &mio.slot[fd];
}

int
accept(int fd, struct sockaddr *sa, socklen_t *salen)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);
	int s;

	pthread_once(&mio_once, mio_resolve);
	s = real_accept(fd, sa, salen);
	if (s >= 0 && mio.on && (size_t)s < mio.nslots && from_libmilter(ra)) {
		struct mio_slot *sl = &mio.slot[s];

		sl->off = 0;
		atomic_store(&sl->len, 0);
		atomic_store_explicit(&sl->session, true, memory_order_release);
	}
	return s;
}

int
close(int fd)
{
	struct mio_slot *sl;

	pthread_once(&mio_once, mio_resolve);
	if ((sl = session(fd)) != NULL) {
		/* Forget the rest: the number may come back from accept(). */
		atomic_store(&sl->session, false);
		atomic_store(&sl->len, 0);
	}
	return real_close(fd);
}

ssize_t
read(int fd, void *dst, size_t n)
{
	struct mio_slot *sl;
	size_t len, k;

	pthread_once(&mio_once, mio_resolve);
	if ((sl = session(fd)) == NULL || n == 0)
		return real_read(fd, dst, n);
	len = atomic_load(&sl->len);
	if (len == 0) {
		ssize_t r;

		if (n >= MIO_BUF)
			return real_read(fd, dst, n);
		if (sl->buf == NULL && (sl->buf = malloc(MIO_BUF)) == NULL)
			return real_read(fd, dst, n);
		if ((r = real_read(fd, sl->buf, MIO_BUF)) <= 0)
			return r;
		sl->off = 0;
		len = (size_t)r;
	}
	k = n < len ? n : len;
	memcpy(dst, sl->buf + sl->off, k);
	sl->off += k;
	atomic_store(&sl->len, len - k);
	return (ssize_t)k;
}

int
poll(struct pollfd *fds, nfds_t nfds, int timeout)
{
	uintptr_t ra = (uintptr_t)__builtin_return_address(0);
	nfds_t buffered = 0;
	int r;

	pthread_once(&mio_once, mio_resolve);
	if (!mio.on)
		return real_poll(fds, nfds, timeout);
	for (nfds_t i = 0; i < nfds; i++) {
		struct mio_slot *sl = session(fds[i].fd);

		if (sl != NULL && (fds[i].events & (POLLIN | POLLRDNORM)) &&
		    atomic_load(&sl->len) > 0)
			buffered++;
	}
	if (buffered == 0) {
		/* libmilter's "is the next command there?" */
		if (mio.linger_ms > 0 && nfds == 1 && timeout == 1 &&
		    fds[0].events == POLLIN && from_libmilter(ra))
			timeout = mio.linger_ms;
		return real_poll(fds, nfds, timeout);
	}
	/* Bytes we already hold are readable now: no waiting.  A single
	   buffered session needs no system call at all. */
	if (nfds == 1) {
		fds[0].revents = fds[0].events & (POLLIN | POLLRDNORM);
		return 1;
	}
	if ((r = real_poll(fds, nfds, 0)) < 0)
		return r;
	r = 0;
	for (nfds_t i = 0; i < nfds; i++) {
		struct mio_slot *sl = session(fds[i].fd);

		if (sl != NULL && (fds[i].events & (POLLIN | POLLRDNORM)) &&
		    atomic_load(&sl->len) > 0)
			fds[i].revents |= fds[i].events & (POLLIN | POLLRDNORM);
		if (fds[i].revents != 0)
			r++;
	}
	return r;
}
