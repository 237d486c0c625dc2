/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * micro-consent - the consent store's hot path, no milter: load N consent
 * events into a fresh SQLite store (WAL), then time pw_store_consent_check
 * for random recipients (90% on record, 10% unknown) from T threads, and
 * the per-message writes (audit row, suppression) and token mint/verify.
 * Not built by make; run by hand from a configured build directory:
 *
 *   gcc -O2 -I. -I../policies -o /tmp/micro-consent ../bench/micro-consent.c \
 *       policies/libpolicies.a $(pkg-config --libs sqlite3 libcrypto libidn2) \
 *       -lpthread
 *   /tmp/micro-consent [N=1000000] [LOOKUPS=200000] [THREADS=4] [DIR=/tmp]
 *
 * Prints load time and rate, lookup latency p50/p90/p99/p99.9 (one
 * thread, then T threads), lookups per second, audit appends and
 * suppressions per second (synchronous=FULL: one fsync each), and token
 * mint and verify times.
 *
 * MICRO_CONSENT_DB=PATH uses an existing store already holding N events of
 * the same pattern (bench/bench-consent.sh loads them with one SQL
 * transaction): no load, no writes (they would add suppressions to it),
 * and the file is kept.  MICRO_CONSENT_SPEC=SPEC does the same with any
 * store, e.g. a postgresql:// URI (bench/bench-consent.sh PG=1).
 */
#include "autoconf.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compliance/consent_state.h"
#include "store/store.h"
#include "compliance/token.h"
#include "base/util.h"

static long n_events = 1000000, n_lookups = 200000;
static int n_threads = 4;
static struct pw_store *store;

static double
now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static void
report(const char *what, double *lat, long n, double wall_us)
{
	qsort(lat, (size_t)n, sizeof(*lat), cmp_double);
	printf("%-28s p50 %7.1f us  p90 %7.1f  p99 %7.1f  p99.9 %7.1f  "
	       "%9.0f/s\n",
	       what, lat[n / 2], lat[n * 90 / 100], lat[n * 99 / 100],
	       lat[n * 999 / 1000], n / (wall_us / 1e6));
}

struct worker {
	unsigned int seed;
	long n;
	double *lat;
	long errors, hits;
};

static void *
lookup_worker(void *arg)
{
	struct worker *w = arg;
	struct pw_consent_result r;
	struct pw_consent_events ev;
	char addr[64];
	time_t now = time(NULL);
	long i, k;
	double t0;
	int rc;

	for (i = 0; i < w->n; i++) {
		k = rand_r(&w->seed) % (n_events + n_events / 9);
		snprintf(addr, sizeof(addr), "user%ld@example%ld.com", k,
			 k % 1000);
		t0 = now_us();
		rc = pw_store_consent_check(store, "acme", addr, "news", now,
					    &r, &ev);
		w->lat[i] = now_us() - t0;
		if (rc < 0)
			w->errors++;
		w->hits += rc == 1;
		pw_consent_events_free(&ev);
	}
	return NULL;
}

static void
lookups(int threads)
{
	struct worker *w = pw_calloc((size_t)threads, sizeof(*w));
	pthread_t *th = pw_calloc((size_t)threads, sizeof(*th));
	double *all = pw_calloc((size_t)n_lookups, sizeof(*all)), t0, wall;
	long per = n_lookups / threads, errors = 0, hits = 0;
	char label[64];
	int t;

	t0 = now_us();
	for (t = 0; t < threads; t++) {
		w[t].seed = (unsigned int)(t + 1) * 7919;
		w[t].n = per;
		w[t].lat = all + t * per;
		pthread_create(&th[t], NULL, lookup_worker, &w[t]);
	}
	for (t = 0; t < threads; t++) {
		pthread_join(th[t], NULL);
		errors += w[t].errors;
		hits += w[t].hits;
	}
	wall = now_us() - t0;
	snprintf(label, sizeof(label), "consent_check x%d threads", threads);
	report(label, all, per * threads, wall);
	printf("%-28s %ld of %ld had consent, %ld errors\n", "", hits,
	       per * threads, errors);
	free(all);
	free(th);
	free(w);
}

static void
load(void)
{
	enum { CHUNK = 10000 };
	struct pw_consent_record *r = pw_calloc(CHUNK, sizeof(*r));
	char(*addr)[64] = pw_calloc(CHUNK, sizeof(*addr));
	time_t base = time(NULL) - 86400L * 300;
	long i = 0, j;
	double t0 = now_us();

	while (i < n_events) {
		for (j = 0; j < CHUNK && i < n_events; j++, i++) {
			snprintf(addr[j], sizeof(addr[j]),
				 "user%ld@example%ld.com", i, i % 1000);
			r[j].org = "acme";
			r[j].address = addr[j];
			r[j].list = i % 3 ? NULL : "news";
			r[j].type = i % 4 == 0	 ? PW_CONSENT_EXPRESS
				    : i % 4 == 1 ? PW_CONSENT_IMPLIED_PURCHASE
				    : i % 4 == 2 ? PW_CONSENT_IMPLIED_INQUIRY
						 : PW_CONSENT_IMPLIED_CONTRACT;
			r[j].obtained_at = base + (i % 600) * 3600;
			r[j].expires_at = PW_NOTIME;
			r[j].relationship_date = PW_NOTIME;
			r[j].source = "bench";
			r[j].proof = "generated";
		}
		if (pw_store_consent_add(store, r, (size_t)j) < 0) {
			fprintf(stderr, "load: %s\n", pw_store_strerror());
			exit(1);
		}
	}
	printf("%-28s %ld events in %.1f s (%.0f/s)\n", "load", n_events,
	       (now_us() - t0) / 1e6, n_events / ((now_us() - t0) / 1e6));
	free(r);
	free(addr);
}

static void
writes(void)
{
	enum { N = 500 };
	double lat[N], t0, wall;
	struct pw_audit_row row;
	struct pw_suppression sup;
	char rcpt[64];
	int i;

	t0 = now_us();
	for (i = 0; i < N; i++) {
		memset(&row, 0, sizeof(row));
		snprintf(rcpt, sizeof(rcpt), "user%d@example%d.com", i,
			 i % 1000);
		row.time = time(NULL);
		row.queue_id = "4BENCH";
		row.message_id = "<bench@example.com>";
		row.org = "acme";
		row.recipient = rcpt;
		row.class = "commercial";
		row.class_source = "organisation";
		row.consent = "express";
		row.basis_id = i;
		row.basis_type = "express";
		row.action = "delivered";
		lat[i] = now_us();
		if (pw_store_audit_append(store, &row) < 0)
			fprintf(stderr, "audit: %s\n", pw_store_strerror());
		lat[i] = now_us() - lat[i];
	}
	wall = now_us() - t0;
	report("audit_append", lat, N, wall);
	t0 = now_us();
	for (i = 0; i < N; i++) {
		memset(&sup, 0, sizeof(sup));
		snprintf(rcpt, sizeof(rcpt), "user%d@example%d.com", i,
			 i % 1000);
		sup.org = "acme";
		sup.address = rcpt;
		sup.reason = "one_click_post";
		sup.requested_at = time(NULL);
		lat[i] = now_us();
		if (pw_store_suppression_add(store, &sup) < 0)
			fprintf(stderr, "suppression: %s\n",
				pw_store_strerror());
		lat[i] = now_us() - lat[i];
	}
	wall = now_us() - t0;
	report("suppression_add", lat, N, wall);
}

static void
tokens(void)
{
	enum { N = 100000 };
	static const unsigned char key[32] = {1, 2, 3};
	struct pw_keyring *ring = pw_keyring_new();
	struct pw_token tok;
	const char *err;
	char *t = NULL;
	double t0;
	int i;

	pw_keyring_add(ring, 1, key, sizeof(key), &err);
	t0 = now_us();
	for (i = 0; i < N; i++) {
		free(t);
		pw_token_mint(ring, 1, "acme", "news",
			      "someone.long@subdomain.example.com", time(NULL),
			      &t, NULL, &err);
	}
	printf("%-28s %.2f us each (%zu characters)\n", "token_mint",
	       (now_us() - t0) / N, strlen(t));
	t0 = now_us();
	for (i = 0; i < N; i++) {
		pw_token_verify(ring, t, strlen(t), time(NULL), 0, "acme",
				&tok);
		pw_token_clear(&tok);
	}
	printf("%-28s %.2f us each\n", "token_verify", (now_us() - t0) / N);
	free(t);
	pw_keyring_free(&ring);
}

int
main(int argc, char **argv)
{
	struct pw_store_opts o = PW_STORE_OPTS_DEFAULT;
	const char *dir = argc > 4 ? argv[4] : "/tmp";
	const char *db = getenv("MICRO_CONSENT_DB");
	const char *given = getenv("MICRO_CONSENT_SPEC");
	char path[256], *spec, *err = NULL;

	if (argc > 1)
		n_events = atol(argv[1]);
	if (argc > 2)
		n_lookups = atol(argv[2]);
	if (argc > 3)
		n_threads = atoi(argv[3]);
	if (n_events < 1 || n_lookups < 1000 || n_threads < 1)
		return 2;
	snprintf(path, sizeof(path), "%s/micro-consent.%ld.db", dir,
		 (long)getpid());
	if (given != NULL && *given) {
		spec = pw_strdup(given);
		db = given; /* an existing store: lookups only */
	} else {
		spec = pw_asprintf("sqlite:%s", db != NULL && *db ? db : path);
	}
	if (pw_store_open(spec, &o, &store, &err) < 0) {
		fprintf(stderr, "%s\n", err);
		return 1;
	}
	if (db != NULL && *db) {
		lookups(1);
		lookups(n_threads);
		tokens();
		pw_store_close(&store);
		free(spec);
		return 0;
	}
	load();
	lookups(1);
	lookups(n_threads);
	writes();
	tokens();
	pw_store_close(&store);
	unlink(path);
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-wal");
	unlink(path);
	path[strlen(path) - 4] = '\0';
	snprintf(path + strlen(path), sizeof(path) - strlen(path), "-shm");
	unlink(path);
	free(spec);
	return 0;
}
