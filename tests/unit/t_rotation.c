/* SPDX-License-Identifier: BSD-2-Clause */
/* t_rotation - the rotation state file and which keys sign per phase
   (keys/rotation.h), without DNS: the DNS side is t_rotation.sh. */
#include "unit.h"

#include <time.h>

#include "base/util.h"
#include "keys/rotation.h"

/* mark_loaded - stand-ins for the keys load_keys would read: the phases
   only need the new key's identity, domain and selector */
static void
mark_loaded(struct pw_rotations *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		rs->v[i].key.domain = pw_strdup(rs->v[i].domain);
		rs->v[i].key.selector = pw_strdup(rs->v[i].new_sel);
		rs->v[i].loaded = true;
	}
}

static size_t
sign_with(struct pw_rotations *rs, const struct pw_dkim_key *k,
    const char **sels, size_t max)
{
	const struct pw_dkim_key *in[1] = {k}, *out[4];
	size_t n = pw_rotations_apply(rs, NULL, in, 1, out, 4);

	for (size_t i = 0; i < n && i < max; i++)
		sels[i] = out[i]->selector;
	return n;
}

static void
test_phases(void **state)
{
	long now = (long)time(NULL);
	char *text = pw_asprintf(
	    "# comment\n\n"
	    "a.test s1 s2 /k/s2.private pending %ld\n"
	    "b.test s1 s2 /k/b2.private overlap %ld\n"
	    "c.test s1 s2 /k/c2.private overlap %ld\n"
	    "d.test s1 s2 /k/d2.private done %ld\n"
	    "d.test s2 s3 /k/d3.private overlap %ld\n",
	    now, now - 3600, now - 10 * 86400, now - 86400, now);
	char *path = t_tmpfile("rot1", text, 0644);
	struct pw_buf errs = {0};
	struct pw_rotations *rs = pw_rotations_load(path, false, false, &errs);
	struct pw_dkim_key ka = {.domain = "a.test", .selector = "s1"};
	struct pw_dkim_key kb = {.domain = "b.test", .selector = "s1"};
	struct pw_dkim_key kc = {.domain = "c.test", .selector = "s1"};
	struct pw_dkim_key kd = {.domain = "d.test", .selector = "s1"};
	struct pw_dkim_key kx = {.domain = "x.test", .selector = "s1"};
	const char *s[4];
	char line[256];
	FILE *fp;

	(void)state;
	assert_non_null(rs);
	assert_int_equal(rs->n, 5);
	rs->overlap = 7 * 86400;
	rs->interval = 300;
	mark_loaded(rs);
	/* pending: the old key only (no resolver: never moves on) */
	assert_int_equal(sign_with(rs, &ka, s, 4), 1);
	assert_string_equal(s[0], "s1");
	/* overlap, 1 hour into 7 days: both */
	assert_int_equal(sign_with(rs, &kb, s, 4), 2);
	assert_string_equal(s[0], "s1");
	assert_string_equal(s[1], "s2");
	/* overlap over: done, written to the file; the new key only */
	assert_int_equal(sign_with(rs, &kc, s, 4), 1);
	assert_string_equal(s[0], "s2");
	assert_int_equal(atomic_load(&rs->v[2].phase), PW_ROT_DONE);
	fp = fopen(path, "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL &&
	    strncmp(line, "c.test", 6) != 0)
		;
	fclose(fp);
	assert_non_null(strstr(line, "c.test s1 s2 /k/c2.private done "));
	/* done, then the new key in its own overlap: s2 and s3 */
	assert_int_equal(sign_with(rs, &kd, s, 4), 2);
	assert_string_equal(s[0], "s2");
	assert_string_equal(s[1], "s3");
	/* no rotation: as selected */
	assert_int_equal(sign_with(rs, &kx, s, 4), 1);
	assert_string_equal(s[0], "s1");
	/* the other lines survived the rewrite */
	pw_rotations_free(&rs);
	rs = pw_rotations_load(path, false, false, &errs);
	assert_non_null(rs);
	assert_int_equal(rs->n, 5);
	assert_int_equal(atomic_load(&rs->v[0].phase), PW_ROT_PENDING);
	pw_rotations_free(&rs);
	pw_buf_free(&errs);
	free(text);
	free(path);
}

static void
test_errors(void **state)
{
	static const struct {
		const char	*line;
		const char	*error;
	} bad[] = {
	    {"a.test s1 s2 /k/x pending\n", "expected DOMAIN OLD_SELECTOR"},
	    {"a.test s1 s2 /k/x later 0\n", "phase must be pending"},
	    {"a.test s1 s2 /k/x done -5\n", "SINCE must be a Unix time"},
	    {"a.test s1 s2 /k/x done 12x\n", "SINCE must be a Unix time"},
	    {"a.test s1 s2 k/x done 1\n", "KEY_PATH must be absolute"},
	    {"a.test s1 s1 /k/x done 1\n", "the same"},
	};
	struct pw_rotations *rs;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct pw_buf errs = {0};
		char *path = t_tmpfile("rot2", bad[i].line, 0644);

		rs = pw_rotations_load(path, false, false, &errs);
		assert_null(rs);
		assert_non_null(errs.data);
		if (strstr(errs.data, ":1: ") == NULL ||
		    strstr(errs.data, bad[i].error) == NULL)
			fail_msg("case %zu: %s", i, errs.data);
		pw_buf_free(&errs);
		free(path);
	}
	/* a missing file: no rotation */
	{
		struct pw_buf errs = {0};

		rs = pw_rotations_load("/nonexistent/rotation", false, false,
		    &errs);
		assert_non_null(rs);
		assert_int_equal(rs->n, 0);
		pw_rotations_free(&rs);
	}
}

static void
test_append(void **state)
{
	char *path = t_tmpfile("rot3", "", 0644), *err = NULL;
	struct pw_buf errs = {0};
	struct pw_rotations *rs;

	(void)state;
	unlink(path);
	assert_int_equal(pw_rotation_append(path, "a.test", "s1", "s2",
	    "/k/s2.private", 1000, (uid_t)-1, &err), 0);
	assert_int_equal(pw_rotation_append(path, "b.test", "x", "y",
	    "/k/y.private", 2000, (uid_t)-1, &err), 0);
	rs = pw_rotations_load(path, false, false, &errs);
	assert_non_null(rs);
	assert_int_equal(rs->n, 2);
	assert_string_equal(rs->v[1].new_sel, "y");
	assert_int_equal(atomic_load(&rs->v[1].since), 2000);
	assert_int_equal(atomic_load(&rs->v[0].phase), PW_ROT_PENDING);
	assert_ptr_equal(pw_rotation_find(rs, "A.TEST", "s1"), &rs->v[0]);
	assert_null(pw_rotation_find(rs, "a.test", "s2"));
	pw_rotations_free(&rs);
	free(path);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_phases),
	    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_append),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
