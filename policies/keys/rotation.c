/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * rotation - DKIM key rotation phases (rotation.h).
 */
#include "autoconf.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/log.h"
#include "base/util.h"
#include "dns/dns.h"
#include "keys/dkim_record.h"
#include "keys/rotation.h"

#define ROT_MAX_LINE	4096
#define ROT_CHAIN_MAX	8	/* done rotations followed per key */

static const char *const phase_names[] = {"pending", "overlap", "done"};

const char *
pw_rot_phase_name(int phase)
{
	return phase >= 0 && phase <= PW_ROT_DONE ? phase_names[phase] : "?";
}

time_t
pw_rotation_now(void)
{
	return pw_clock_now();
}

/* parse_line - one state line into r; 0, 1 (blank/comment) or -1 */
static int
parse_line(char *line, struct pw_rotation *r, const char **why_r)
{
	char *f[7], *save = NULL, *end;
	int n = 0, ph;
	long long since;

	for (char *t = strtok_r(line, " \t\r\n", &save); t != NULL && n < 7;
	     t = strtok_r(NULL, " \t\r\n", &save))
		f[n++] = t;
	if (n == 0 || f[0][0] == '#')
		return 1;
	if (n != 6) {
		*why_r = "expected DOMAIN OLD_SELECTOR NEW_SELECTOR KEY_PATH "
		    "PHASE SINCE";
		return -1;
	}
	for (ph = 0; ph <= PW_ROT_DONE; ph++)
		if (strcmp(f[4], phase_names[ph]) == 0)
			break;
	if (ph > PW_ROT_DONE) {
		*why_r = "phase must be pending, overlap or done";
		return -1;
	}
	errno = 0;
	since = strtoll(f[5], &end, 10);
	if (*end != '\0' || errno != 0 || since < 0) {
		*why_r = "SINCE must be a Unix time";
		return -1;
	}
	if (f[3][0] != '/') {
		*why_r = "KEY_PATH must be absolute";
		return -1;
	}
	if (strcmp(f[1], f[2]) == 0) {
		*why_r = "the old and the new selector are the same";
		return -1;
	}
	r->domain = pw_lowercase(pw_strdup(f[0]));
	r->old_sel = pw_strdup(f[1]);
	r->new_sel = pw_strdup(f[2]);
	r->path = pw_strdup(f[3]);
	atomic_init(&r->phase, ph);
	atomic_init(&r->since, (int64_t)since);
	return 0;
}

static void
rotation_clear(struct pw_rotation *r)
{
	if (r->loaded)
		pw_dkim_key_clear(&r->key);
	free(r->domain);
	free(r->old_sel);
	free(r->new_sel);
	free(r->path);
}

struct pw_rotations *
pw_rotations_load(const char *path, bool load_keys, bool allow_unsafe,
    struct pw_buf *errors)
{
	struct pw_rotations *rs = pw_calloc(1, sizeof(*rs));
	char line[ROT_MAX_LINE];
	size_t bad = 0;
	FILE *fp;
	int ln = 0;

	rs->path = pw_strdup(path);
	pthread_mutex_init(&rs->lock, NULL);
	if ((fp = fopen(path, "r")) == NULL) {
		if (errno == ENOENT)
			return rs;
		pw_buf_printf(errors, "%s: cannot read: %s\n", path,
		    strerror(errno));
		pw_rotations_free(&rs);
		return NULL;
	}
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct pw_rotation r;
		const char *why = NULL;
		int rc;

		ln++;
		memset(&r, 0, sizeof(r));
		if ((rc = parse_line(line, &r, &why)) == 1)
			continue;
		if (rc < 0) {
			pw_buf_printf(errors, "%s:%d: %s\n", path, ln, why);
			bad++;
			continue;
		}
		r.line = ln;
		if (load_keys) {
			char *where = pw_asprintf("%s:%d", path, ln);

			if (pw_dkim_key_read(&r.key, r.path, where,
			    allow_unsafe, errors) < 0) {
				free(where);
				rotation_clear(&r);
				bad++;
				continue;
			}
			r.key.name = pw_asprintf("rotation:%s", r.new_sel);
			r.key.domain = pw_strdup(r.domain);
			r.key.selector = pw_strdup(r.new_sel);
			r.key.where = where;
			r.loaded = true;
		}
		rs->v = pw_realloc(rs->v, (rs->n + 1) * sizeof(*rs->v));
		memcpy(&rs->v[rs->n++], &r, sizeof(r));
	}
	fclose(fp);
	if (bad > 0) {
		pw_rotations_free(&rs);
		return NULL;
	}
	return rs;
}

void
pw_rotations_free(struct pw_rotations **rsp)
{
	struct pw_rotations *rs = *rsp;

	if (rs == NULL)
		return;
	for (size_t i = 0; i < rs->n; i++)
		rotation_clear(&rs->v[i]);
	free(rs->v);
	free(rs->path);
	pthread_mutex_destroy(&rs->lock);
	free(rs);
	*rsp = NULL;
}

struct pw_rotation *
pw_rotation_find(struct pw_rotations *rs, const char *domain,
    const char *selector)
{
	for (size_t i = 0; rs != NULL && i < rs->n; i++)
		if (pw_strcaseeq(rs->v[i].domain, domain) &&
		    strcmp(rs->v[i].old_sel, selector) == 0)
			return &rs->v[i];
	return NULL;
}

/* lock_file - PATH.lock, held exclusively; -1 with *error_r */
static int
lock_file(const char *path, uid_t uid, char **error_r)
{
	char *lp = pw_asprintf("%s.lock", path);
	int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd >= 0 && uid != (uid_t)-1 && fchown(fd, uid, (gid_t)-1) < 0)
		(void)0;	/* the daemon's own file already */
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		*error_r = pw_asprintf("%s: %s", lp, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(lp);
		return -1;
	}
	free(lp);
	return fd;
}

/*
 * rewrite - the file with line (domain, old, new) set to phase/since (or
 * with add appended): read, change, write a temporary file, rename.
 */
static int
rewrite(const char *path, const char *domain, const char *old_sel,
    const char *new_sel, int phase, int64_t since, const char *add,
    uid_t uid, char **error_r)
{
	struct pw_buf out = {0};
	char line[ROT_MAX_LINE], *tmp;
	struct stat st;
	FILE *fp;
	int lfd, fd, rc = -1;

	if ((lfd = lock_file(path, uid, error_r)) < 0)
		return -1;
	if ((fp = fopen(path, "r")) != NULL) {
		while (fgets(line, sizeof(line), fp) != NULL) {
			struct pw_rotation r;
			char copy[ROT_MAX_LINE];
			const char *why;

			memset(&r, 0, sizeof(r));
			memcpy(copy, line, sizeof(copy));
			if (add == NULL && parse_line(copy, &r, &why) == 0 &&
			    pw_strcaseeq(r.domain, domain) &&
			    strcmp(r.old_sel, old_sel) == 0 &&
			    strcmp(r.new_sel, new_sel) == 0)
				pw_buf_printf(&out, "%s %s %s %s %s %lld\n",
				    r.domain, r.old_sel, r.new_sel, r.path,
				    phase_names[phase], (long long)since);
			else
				pw_buf_puts(&out, line);
			rotation_clear(&r);
		}
		if (fstat(fileno(fp), &st) == 0 && uid == (uid_t)-1)
			uid = st.st_uid;
		fclose(fp);
	} else if (errno != ENOENT) {
		*error_r = pw_asprintf("%s: %s", path, strerror(errno));
		goto out;
	} else {
		pw_buf_puts(&out, "# postwarden DKIM key rotations "
		    "(postwarden-ctl key rotate; rotation.h):\n"
		    "# DOMAIN OLD_SELECTOR NEW_SELECTOR NEW_KEY_PATH PHASE "
		    "SINCE\n");
	}
	if (add != NULL)
		pw_buf_puts(&out, add);
	tmp = pw_asprintf("%s.tmp", path);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) <
	    0 || (out.len > 0 && write(fd, out.data, out.len) !=
	    (ssize_t)out.len) || (uid != (uid_t)-1 &&
	    fchown(fd, uid, (gid_t)-1) < 0 && geteuid() == 0) ||
	    fsync(fd) < 0 || close(fd) < 0 || rename(tmp, path) < 0) {
		*error_r = pw_asprintf("%s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
	} else
		rc = 0;
	free(tmp);
out:
	pw_buf_free(&out);
	close(lfd);
	return rc;
}

int
pw_rotation_store(struct pw_rotations *rs, struct pw_rotation *r, int phase,
    int64_t since, char **error_r)
{
	if (rewrite(rs->path, r->domain, r->old_sel, r->new_sel, phase, since,
	    NULL, (uid_t)-1, error_r) < 0)
		return -1;
	atomic_store(&r->since, since);
	atomic_store(&r->phase, phase);
	return 0;
}

int
pw_rotation_append(const char *path, const char *domain, const char *old_sel,
    const char *new_sel, const char *key_path, int64_t now, uid_t uid,
    char **error_r)
{
	char *add = pw_asprintf("%s %s %s %s pending %lld\n", domain, old_sel,
	    new_sel, key_path, (long long)now);
	int rc = rewrite(path, domain, old_sel, new_sel, 0, 0, add, uid,
	    error_r);

	free(add);
	return rc;
}

/* when - "YYYY-MM-DD HH:MM:SS UTC" */
static const char *
when(time_t t, char *buf, size_t len)
{
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M:%S UTC", &tm);
	return buf;
}

/* advance - move r on if its time or its DNS record says so */
static void
advance(struct pw_rotations *rs, struct pw_rotation *r, struct pw_dns *dns,
    time_t now)
{
	int phase = atomic_load(&r->phase);
	int64_t since = atomic_load(&r->since);
	enum pw_dkim_published pub;
	char buf[40], *err = NULL;
	const char *why;

	if (phase == PW_ROT_DONE || (phase == PW_ROT_OVERLAP &&
	    now < since + rs->overlap) || (phase == PW_ROT_PENDING &&
	    (dns == NULL || now - r->checked < rs->interval)))
		return;
	/* One thread moves it on; the others sign as the phase is now. */
	if (pthread_mutex_trylock(&rs->lock) != 0)
		return;
	phase = atomic_load(&r->phase);
	if (phase == PW_ROT_OVERLAP && now >= since + rs->overlap) {
		if (pw_rotation_store(rs, r, PW_ROT_DONE, now, &err) < 0)
			pw_warn(NULL, "dkim rotation %s: %s", r->domain, err);
		else
			pw_info(NULL, "dkim rotation %s: selector %s no longer "
			    "signs, %s does; the DNS record %s._domainkey.%s "
			    "may be removed after %s", r->domain, r->old_sel,
			    r->new_sel, r->old_sel, r->domain,
			    when(now + rs->overlap, buf, sizeof(buf)));
	} else if (phase == PW_ROT_PENDING && now - r->checked >=
	    rs->interval) {
		r->checked = now;
		pub = pw_dkim_published(dns, NULL, r->domain, r->new_sel,
		    r->key.pkey, &why);
		if (pub == PW_DKIM_PUB_MATCH) {
			if (pw_rotation_store(rs, r, PW_ROT_OVERLAP, now,
			    &err) < 0)
				pw_warn(NULL, "dkim rotation %s: %s",
				    r->domain, err);
			else
				pw_info(NULL, "dkim rotation %s: the record of "
				    "%s matches the new key: signing with %s "
				    "and %s until %s", r->domain, r->new_sel,
				    r->old_sel, r->new_sel, when(now +
				    rs->overlap, buf, sizeof(buf)));
		} else if (pub == PW_DKIM_PUB_MISMATCH) {
			pw_warn(NULL, "dkim rotation %s: %s._domainkey.%s: %s: "
			    "still signing with %s only", r->domain,
			    r->new_sel, r->domain, why, r->old_sel);
		} else {
			pw_info(NULL, "dkim rotation %s: %s._domainkey.%s: %s: "
			    "still signing with %s only", r->domain,
			    r->new_sel, r->domain, why, r->old_sel);
		}
	}
	free(err);
	pthread_mutex_unlock(&rs->lock);
}

/* add_key - append k to out unless it is there already */
static void
add_key(const struct pw_dkim_key **out, size_t *n, size_t max,
    const struct pw_dkim_key *k)
{
	for (size_t i = 0; i < *n; i++)
		if (out[i] == k)
			return;
	if (*n < max)
		out[(*n)++] = k;
}

size_t
pw_rotations_apply(struct pw_rotations *rs, struct pw_dns *dns,
    const struct pw_dkim_key *const *in, size_t n,
    const struct pw_dkim_key **out, size_t max)
{
	time_t now = 0;
	size_t k = 0;

	for (size_t i = 0; i < n; i++) {
		const struct pw_dkim_key *key = in[i];
		int depth = 0;

		for (;;) {
			struct pw_rotation *r = rs == NULL ? NULL :
			    pw_rotation_find(rs, key->domain, key->selector);
			int phase;

			if (r == NULL || !r->loaded || depth++ >= ROT_CHAIN_MAX) {
				add_key(out, &k, max, key);
				break;
			}
			if (now == 0)
				now = pw_rotation_now();
			advance(rs, r, dns, now);
			phase = atomic_load(&r->phase);
			if (phase == PW_ROT_PENDING) {
				add_key(out, &k, max, key);
				break;
			}
			if (phase == PW_ROT_OVERLAP) {
				add_key(out, &k, max, key);
				add_key(out, &k, max, &r->key);
				break;
			}
			key = &r->key;	/* done: the new one, maybe rotated */
		}
	}
	return k;
}
