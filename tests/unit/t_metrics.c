/* SPDX-License-Identifier: BSD-2-Clause */
/* t_metrics - the metrics registry and its text exposition. */
#include "unit.h"

#include <pthread.h>
#include <string.h>

#include "base/metrics.h"
#include "base/util.h"

static struct pw_metric c_msgs = PW_COUNTER("t_messages_total",
    "Test \"messages\"\nsecond line \\ end", "direction", "action");
static struct pw_metric c_plain = PW_COUNTER("t_plain_total", "plain",
    NULL);
static struct pw_metric g_up = PW_GAUGE("t_up", "gauge", "name");
static struct pw_metric h_lat = PW_HISTOGRAM("t_latency_seconds",
    "latency", "op");
static struct pw_metric c_many = PW_COUNTER("t_many_total", "many", "d");
static struct pw_metric c_threads = PW_COUNTER("t_threads_total", "threads",
    "k");

static char *
render(void)
{
	struct pw_buf b = {0};

	pw_metrics_render(&b);
	return b.data ? b.data : pw_strdup("");
}

static void
test_off(void **state)
{
	char *text;

	(void)state;
	pw_metrics_enable(false);
	pw_metric_inc(&c_msgs, PW_LV("inbound", "accept"));
	text = render();
	/* Off: nothing counted, nothing registered. */
	assert_null(strstr(text, "t_messages_total"));
	free(text);
	pw_metrics_enable(true);
}

static void
test_counter(void **state)
{
	char *text;

	(void)state;
	pw_metric_inc(&c_msgs, PW_LV("inbound", "accept"));
	pw_metric_add(&c_msgs, 4, PW_LV("inbound", "accept"));
	pw_metric_inc(&c_msgs, PW_LV("outbound", "re\"ject\\\n"));
	pw_metric_register(&c_plain);
	text = render();
	assert_non_null(strstr(text, "# HELP t_messages_total Test "
	    "\"messages\"\\nsecond line \\\\ end\n"));
	assert_non_null(strstr(text, "# TYPE t_messages_total counter\n"));
	assert_non_null(strstr(text,
	    "t_messages_total{direction=\"inbound\",action=\"accept\"} 5\n"));
	assert_non_null(strstr(text, "t_messages_total{direction=\"outbound\","
	    "action=\"re\\\"ject\\\\\\n\"} 1\n"));
	/* Registered before it moved: shown as 0. */
	assert_non_null(strstr(text, "t_plain_total 0\n"));
	free(text);
}

static void
test_gauge(void **state)
{
	char *text;

	(void)state;
	pw_metric_set(&g_up, 1, PW_LV("a"));
	pw_metric_set(&g_up, -3, PW_LV("b"));
	pw_metric_set(&g_up, 0, PW_LV("a"));
	text = render();
	assert_non_null(strstr(text, "# TYPE t_up gauge\n"));
	assert_non_null(strstr(text, "t_up{name=\"a\"} 0\n"));
	assert_non_null(strstr(text, "t_up{name=\"b\"} -3\n"));
	free(text);
}

static void
test_histogram(void **state)
{
	char *text;

	(void)state;
	pw_metric_observe_ns(&h_lat, 300000, PW_LV("x"));	/* 0.3 ms */
	pw_metric_observe_ns(&h_lat, 2000000, PW_LV("x"));	/* 2 ms */
	pw_metric_observe_ns(&h_lat, 20000000000ULL, PW_LV("x"));	/* 20s */
	text = render();
	assert_non_null(strstr(text, "# TYPE t_latency_seconds histogram\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_bucket{op=\"x\",le=\"0.0005\"} 1\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_bucket{op=\"x\",le=\"0.001\"} 1\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_bucket{op=\"x\",le=\"0.0025\"} 2\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_bucket{op=\"x\",le=\"10\"} 2\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_bucket{op=\"x\",le=\"+Inf\"} 3\n"));
	assert_non_null(strstr(text,
	    "t_latency_seconds_sum{op=\"x\"} 20.002300000\n"));
	assert_non_null(strstr(text, "t_latency_seconds_count{op=\"x\"} 3\n"));
	free(text);
}

static void
test_cap(void **state)
{
	char v[32], *text;

	(void)state;
	for (int i = 0; i < PW_METRIC_MAXSERIES + 50; i++) {
		snprintf(v, sizeof(v), "d%d", i);
		pw_metric_inc(&c_many, PW_LV(v));
	}
	text = render();
	assert_non_null(strstr(text, "t_many_total{d=\"d0\"} 1\n"));
	assert_null(strstr(text, "t_many_total{d=\"d1000\"}"));
	assert_non_null(strstr(text, "t_many_total{d=\"other\"} 50\n"));
	free(text);
}

static void *
counting(void *arg)
{
	char k[8];

	for (int i = 0; i < 20000; i++) {
		snprintf(k, sizeof(k), "k%d", i % 7);
		pw_metric_inc(&c_threads, PW_LV(k));
	}
	(void)arg;
	return NULL;
}

static void
test_threads(void **state)
{
	pthread_t t[4];
	char *text, want[64];

	(void)state;
	for (int i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, counting, NULL),
		    0);
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	text = render();
	/* 20000 = 2857 * 7 + 1: k0 gets 2858, the others 2857, times 4. */
	for (int i = 0; i < 7; i++) {
		snprintf(want, sizeof(want), "t_threads_total{k=\"k%d\"} %d\n",
		    i, 4 * (i == 0 ? 2858 : 2857));
		if (strstr(text, want) == NULL)
		{
			const char *at = strstr(text, "t_threads_total");

			fail_msg("missing %s; have: %.400s", want,
			    at ? at : "(no t_threads_total)");
		}
		/* exactly one series per value (no duplicate from a race) */
		snprintf(want, sizeof(want), "t_threads_total{k=\"k%d\"}", i);
		assert_null(strstr(strstr(text, want) + 1, want));
	}
	free(text);
}

static void
test_listen_parse(void **state)
{
	static const struct {
		const char	*spec;
		const char	*host;
		unsigned short	 port;
	} good[] = {
	    {"127.0.0.1:9830", "127.0.0.1", 9830},
	    {"[::1]:1", "::1", 1},
	    {"0.0.0.0:65535", "0.0.0.0", 65535},
	};
	static const char *const bad[] = {
	    "127.0.0.1", "127.0.0.1:", "127.0.0.1:0", "127.0.0.1:65536",
	    "localhost:9830", "[::1]9830", "::1:9830x", ":9830", "[::1:9830",
	};
	const char *why;
	unsigned short port;
	char *host;

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		assert_int_equal(pw_metrics_listen_parse(good[i].spec, &host,
		    &port, &why), 0);
		assert_string_equal(host, good[i].host);
		assert_int_equal(port, good[i].port);
		free(host);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (pw_metrics_listen_parse(bad[i], &host, &port, &why) == 0)
			fail_msg("accepted %s", bad[i]);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off),
	    cmocka_unit_test(test_counter),
	    cmocka_unit_test(test_gauge),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_threads),
	    cmocka_unit_test(test_listen_parse),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
