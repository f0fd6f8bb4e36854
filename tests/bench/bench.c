/*
 * The benchmark client behind `make bench` (scripts/bench.sh): a C client
 * so the figures measure the plugin, not an interpreter. Sub-commands:
 *
 *   bench gen VMDIR N MATCH      write N instance records (MATCH of them in
 *                                group "bench-match") as the store would
 *   bench ready SOCK TIMEOUT_MS  wait until the plugin answers; print ms
 *   bench handshake SOCK CLIENTS SECONDS   requests/s, keep-alive clients
 *   bench describe SOCK N        DescribeInstances filtered to bench-match:
 *                                p50/p99 (ms) over N sequential calls
 *   bench provision SOCK INFLIGHT TOTAL    Provision RPC p50/p99 (ms)
 *   bench copy SRC DST COW       copy_file; prints MB/s and the method
 *   bench provision-wait SOCK N  N Provisions, then the ms until all N run
 *                                (the backend's own time)
 *   bench group-wait SOCK N ID MAXFAIL   CommitGroup of Size N (group ID,
 *                                Recovery.MaxFailures MAXFAIL, 0: the
 *                                default), then the ms until N members run
 *   bench replace SOCK VMDIR ROUNDS      a Size 2 group; each round powers
 *                                a member off behind the plugin's back (the
 *                                test backend's marker) and times it to the
 *                                replacement's Provision: median and max ms
 *   bench scrape SOCK N          GET /metrics: p50/p99 (ms) over N calls
 *   bench metrics N              in this process, what one RPC's counting
 *                                costs (a clock read, a counter, a histogram
 *                                observation): ns each, 1 thread and 2
 *                                threads on the same cells
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include <errno.h>
#include <stdbool.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/fsutil.h"
#include "util/metrics.h"
#include "store/ids.h"
#include "store/store.h"

static const char *sock_path;

static int
conn(void)
{
	struct sockaddr_un sun;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	(void)strlcpy(sun.sun_path, sock_path, sizeof(sun.sun_path));
	if (fd == -1 ||
	    connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	return fd;
}

/* One request on a kept-alive connection; returns 0 if answered with a
 * JSON-RPC result. */
static int
call(int fd, const char *body, char *resp, size_t resplen)
{
	char req[8192];
	size_t got = 0, need = 0;
	int n = snprintf(req, sizeof(req),
	    "POST / HTTP/1.1\r\nHost: h\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\n\r\n%s",
	    strlen(body), body);
	char *hdr_end;

	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, resp + got, resplen - 1 - got);

		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		hdr_end = strstr(resp, "\r\n\r\n");
		if (hdr_end != NULL) {
			const char *cl = strstr(resp, "Content-Length: ");

			if (cl == NULL)
				return -1;
			need = (size_t)(hdr_end + 4 - resp) +
			    strtoul(cl + 16, NULL, 10);
			if (need >= resplen)
				return -1;
			if (got >= need)
				break;
		}
		if (got >= resplen - 1)
			return -1;
	}
	return strstr(resp, "\"result\"") != NULL ? 0 : -1;
}

static int
cmp_dbl(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double
pct(double *v, size_t n, double p)
{
	size_t k;

	qsort(v, n, sizeof(*v), cmp_dbl);
	k = (size_t)(p / 100.0 * (double)n + 0.5);
	if (k >= n)
		k = n - 1;
	return v[k];
}

static double
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static int
cmd_gen(const char *vmdir, long n, long match)
{
	struct store st;
	struct err err;
	struct idgen g;
	char seq[PATH_BUF];

	if (store_open(&st, vmdir, &err) == -1 ||
	    path_join(seq, sizeof(seq), vmdir, ".idseq") == -1 ||
	    idgen_open(&g, seq, 0, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	for (long i = 0; i < n; i++) {
		struct record r;
		char group[32], bundle[PATH_BUF], marker[PATH_BUF];

		memset(&r, 0, sizeof(r));
		if (idgen_next(&g, r.r_id, sizeof(r.r_id), &err) == -1)
			return 1;
		(void)strlcpy(r.r_backend, "test", sizeof(r.r_backend));
		r.r_state = ST_RUNNING;
		(void)strlcpy(r.r_spec.s_props.p_vmx, "alpine",
		    sizeof(r.r_spec.s_props.p_vmx));
		r.r_spec.s_props.p_memsize_mb = 512;
		r.r_spec.s_props.p_numcpus = 1;
		r.r_spec.s_properties_json = strdup("{\"VMX\":\"alpine\"}");
		r.r_spec.s_init = strdup("echo hello");
		(void)snprintf(group, sizeof(group), "%s",
		    i < match ? "bench-match" : "bench-other");
		(void)tags_set(&r.r_tags, "infrakit.group", group);
		(void)tags_set(&r.r_tags, "infrakit.config.hash",
		    "xi57z7b6jqqxx6ffylec7ouh2xq4gc7l");
		(void)tags_set(&r.r_tags, "tier", i % 2 ? "web" : "db");
		(void)tags_copy(&r.r_spec.s_tags, &r.r_tags);
		r.r_template = strdup("/lib/alpine.vmwarevm/alpine.vmx");
		r.r_created_ms = r.r_updated_ms = wall_ms();
		if (store_write(&st, &r, &err) == -1) {
			fprintf(stderr, "%s\n", err.msg);
			return 1;
		}
		/* The test backend's "powered on" marker. */
		(void)store_bundle_dir(&st, r.r_id, bundle, sizeof(bundle));
		(void)mkdir(bundle, 0700);
		(void)snprintf(marker, sizeof(marker), "%s/running", bundle);
		(void)atomic_write_file(marker, "", 0, 0644, NULL);
		record_free(&r);
	}
	idgen_close(&g);
	store_close(&st);
	return 0;
}

static int
cmd_ready(long timeout)
{
	double t0 = now_ms();
	char resp[65536];

	while (now_ms() - t0 < (double)timeout) {
		int fd = conn();

		if (fd != -1) {
			int ok = call(fd,
			    "{\"jsonrpc\":\"2.0\",\"method\":"
			    "\"Handshake.Implements\",\"params\":{},\"id\":1}",
			    resp, sizeof(resp));

			(void)close(fd);
			if (ok == 0) {
				printf("%.0f\n", now_ms() - t0);
				return 0;
			}
		}
		usleep(2000);
	}
	return 1;
}

static atomic_long hs_count;
static atomic_int hs_stop;

static void *
hs_worker(void *arg)
{
	char resp[65536];
	int fd = conn();

	(void)arg;
	while (fd != -1 && !atomic_load(&hs_stop)) {
		if (call(fd,
			"{\"jsonrpc\":\"2.0\",\"method\":\"Handshake.Implements\","
			"\"params\":{},\"id\":1964822202203200888}",
			resp, sizeof(resp)) != 0)
			break;
		atomic_fetch_add(&hs_count, 1);
	}
	if (fd != -1)
		(void)close(fd);
	return NULL;
}

static int
cmd_handshake(long clients, long secs)
{
	pthread_t th[256];
	double t0;

	if (clients > 256)
		clients = 256;
	t0 = now_ms();
	for (long i = 0; i < clients; i++)
		(void)pthread_create(&th[i], NULL, hs_worker, NULL);
	sleep((unsigned)secs);
	atomic_store(&hs_stop, 1);
	for (long i = 0; i < clients; i++)
		(void)pthread_join(th[i], NULL);
	printf("%.0f\n",
	    (double)atomic_load(&hs_count) / ((now_ms() - t0) / 1000.0));
	return 0;
}

/* GET path on fd (kept alive): 0 once a whole 200 answer is read. */
static int
get(int fd, const char *path, char *resp, size_t resplen)
{
	char req[512];
	size_t got = 0;
	int n = snprintf(
	    req, sizeof(req), "GET %s HTTP/1.1\r\nHost: h\r\n\r\n", path);

	if (n < 0 || (size_t)n >= sizeof(req) || write(fd, req, (size_t)n) != n)
		return -1;
	for (;;) {
		ssize_t r = read(fd, resp + got, resplen - 1 - got);
		const char *end, *cl;

		if (r <= 0)
			return -1;
		got += (size_t)r;
		resp[got] = '\0';
		if ((end = strstr(resp, "\r\n\r\n")) == NULL)
			continue;
		if ((cl = strstr(resp, "Content-Length: ")) == NULL)
			return -1;
		if (got >=
		    (size_t)(end + 4 - resp) + strtoul(cl + 16, NULL, 10))
			return strncmp(resp, "HTTP/1.1 200", 12) == 0 ? 0 : -1;
		if (got >= resplen - 1)
			return -1;
	}
}

static const char *const m_names[] = { "a", "b", "c", "d" };
static const uint64_t m_bounds[] = { 100000, 1000000, 10000000, 100000000 };
static _Atomic uint64_t m_ccells[4], m_hcells[4 * 5], m_hsums[4];
static struct mfamily m_counter = { .mf_name = "bench_total",
	.mf_help = "b",
	.mf_type = MT_COUNTER,
	.mf_label = { "m" },
	.mf_values = { m_names },
	.mf_nvalues = { 4 },
	.mf_cells = m_ccells,
	.mf_ncells = 4 };
static struct mfamily m_hist = { .mf_name = "bench_seconds",
	.mf_help = "b",
	.mf_type = MT_HISTOGRAM,
	.mf_label = { "m" },
	.mf_values = { m_names },
	.mf_nvalues = { 4 },
	.mf_bounds_ns = m_bounds,
	.mf_nbounds = 4,
	.mf_cells = m_hcells,
	.mf_sums = m_hsums,
	.mf_ncells = 4 * 5 };

static void *
m_worker(void *arg)
{
	long n = *(long *)arg;

	for (long i = 0; i < n; i++) {
		int64_t t0 = mono_ns();

		metrics_inc(&m_counter, (size_t)i & 3, 0);
		metrics_observe(&m_hist, (size_t)i & 3, 0, mono_ns() - t0);
	}
	return NULL;
}

static int
cmd_metrics(long n)
{
	pthread_t th[2];
	double t0;

	if (metrics_register(&m_counter) == -1 ||
	    metrics_register(&m_hist) == -1)
		return 1;
	for (int threads = 1; threads <= 2; threads++) {
		t0 = now_ms();
		for (int i = 0; i < threads; i++)
			(void)pthread_create(&th[i], NULL, m_worker, &n);
		for (int i = 0; i < threads; i++)
			(void)pthread_join(th[i], NULL);
		printf("%s%.1f", threads > 1 ? " " : "",
		    (now_ms() - t0) * 1e6 / (double)n);
	}
	printf("\n");
	return 0;
}

static const char describe_body[] =
    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.DescribeInstances\","
    "\"params\":{\"Type\":\"\",\"Tags\":{\"infrakit.group\":"
    "\"bench-match\"},\"Properties\":true},\"id\":1}";

/* N sequential requests on one connection (a Describe, or GET /metrics):
 * prints p50 and p99 in ms. */
static int
cmd_timed(long n, bool scrape)
{
	size_t len = scrape ? 8 << 20 : 64 << 20;
	char *resp = malloc(len);
	double *lat = calloc((size_t)n, sizeof(double));
	int fd = conn();

	if (resp == NULL || lat == NULL || fd == -1)
		return 1;
	for (long i = 0; i < n; i++) {
		double t0 = now_ms();

		if ((scrape ? get(fd, "/metrics", resp, len)
			    : call(fd, describe_body, resp, len)) != 0) {
			fprintf(stderr, "%s failed\n",
			    scrape ? "GET /metrics" : "describe");
			return 1;
		}
		lat[i] = now_ms() - t0;
	}
	printf("%.2f %.2f\n", pct(lat, (size_t)n, 50), pct(lat, (size_t)n, 99));
	(void)close(fd);
	free(resp);
	free(lat);
	return 0;
}

struct prov {
	long n;
	double *lat;
	int failed;
};

static void *
prov_worker(void *arg)
{
	struct prov *p = arg;
	char resp[65536];
	int fd = conn();

	for (long i = 0; i < p->n; i++) {
		double t0 = now_ms();

		if (fd == -1 ||
		    call(fd,
			"{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
			"\"params\":{\"Type\":\"\",\"Spec\":{\"Properties\":"
			"{\"VMX\":\"alpine\"},\"Tags\":{\"infrakit.group\":"
			"\"bench-prov\"},\"Init\":\"\",\"LogicalID\":null}},"
			"\"id\":1}",
			resp, sizeof(resp)) != 0) {
			p->failed++;
			break;
		}
		p->lat[i] = now_ms() - t0;
	}
	if (fd != -1)
		(void)close(fd);
	return NULL;
}

static int
cmd_provision(long inflight, long total)
{
	pthread_t th[256];
	struct prov p[256];
	long per = total / inflight;
	double *all;
	size_t k = 0;
	int failed = 0;

	if (inflight > 256 || per < 1)
		return 1;
	all = calloc((size_t)(per * inflight), sizeof(double));
	for (long i = 0; i < inflight; i++) {
		p[i].n = per;
		p[i].lat = calloc((size_t)per, sizeof(double));
		p[i].failed = 0;
		(void)pthread_create(&th[i], NULL, prov_worker, &p[i]);
	}
	for (long i = 0; i < inflight; i++) {
		(void)pthread_join(th[i], NULL);
		failed += p[i].failed;
		for (long j = 0; j < per; j++)
			all[k++] = p[i].lat[j];
		free(p[i].lat);
	}
	if (failed) {
		fprintf(stderr, "%d provisions failed\n", failed);
		return 1;
	}
	printf("%.2f %.2f\n", pct(all, k, 50), pct(all, k, 99));
	free(all);
	return 0;
}

static int
cmd_copy(const char *src, const char *dst, int cow)
{
	struct stat st;
	struct err err;
	enum copy_how how;
	double t0, dt;

	if (stat(src, &st) == -1)
		return 1;
	(void)unlink(dst);
	t0 = now_ms();
	if (copy_file(src, dst, 0644, cow, &how, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		return 1;
	}
	dt = now_ms() - t0;
	printf("%.1f %.0f %s\n", dt,
	    (double)st.st_size / (1024.0 * 1024.0) / (dt / 1000.0),
	    how == COPY_CLONED ? "copy-on-write" : "stream");
	return 0;
}

/* ---- the group controller ------------------------------------------------ */

#define WAIT_POLL_US 5000	   /* the client's look, every 5 ms */
#define WAIT_MAX_MS (600 * 1000.0) /* give up after 10 minutes */
#define MAX_IDS 64

/* Occurrences of needle in s. */
static size_t
count_of(const char *s, const char *needle)
{
	size_t n = 0;

	for (const char *p = s; (p = strstr(p, needle)) != NULL; p++)
		n++;
	return n;
}

/* Running members of group (DescribeInstances with Properties). */
static long
running_in(int fd, const char *group, char *resp, size_t len)
{
	char body[512];

	(void)snprintf(body, sizeof(body),
	    "{\"jsonrpc\":\"2.0\",\"method\":\"Instance.DescribeInstances\","
	    "\"params\":{\"Type\":\"\",\"Tags\":{\"infrakit.group\":\"%s\"},"
	    "\"Properties\":true},\"id\":1}",
	    group);
	if (call(fd, body, resp, len) != 0)
		return -1;
	return (long)count_of(resp, "\"State\":\"running\"");
}

/* Waits until n members of group run; the ms since t0, or -1. */
static double
wait_running(int fd, const char *group, long n, double t0)
{
	size_t len = 16 << 20;
	char *resp = malloc(len);
	double dt = -1;
	long got;

	while (resp != NULL && now_ms() - t0 < WAIT_MAX_MS) {
		if ((got = running_in(fd, group, resp, len)) < 0)
			break;
		if (got >= n) {
			dt = now_ms() - t0;
			break;
		}
		usleep(WAIT_POLL_US);
	}
	free(resp);
	return dt;
}

static int
cmd_provision_wait(long n)
{
	char resp[65536];
	int fd = conn();
	double t0 = now_ms(), dt;

	for (long i = 0; fd != -1 && i < n; i++)
		if (call(fd,
			"{\"jsonrpc\":\"2.0\",\"method\":\"Instance.Provision\","
			"\"params\":{\"Type\":\"\",\"Spec\":{\"Properties\":"
			"{\"VMX\":\"alpine\"},\"Tags\":{\"infrakit.group\":"
			"\"bench-base\"},\"Init\":\"\",\"LogicalID\":null}},"
			"\"id\":1}",
			resp, sizeof(resp)) != 0) {
			fprintf(stderr, "provision failed: %s\n", resp);
			return 1;
		}
	if (fd == -1 || (dt = wait_running(fd, "bench-base", n, t0)) < 0)
		return 1;
	printf("%.0f\n", dt);
	(void)close(fd);
	return 0;
}

static int
commit(int fd, const char *id, long size, long maxfail)
{
	char body[1024], rec[64] = "", resp[65536];

	if (maxfail > 0)
		(void)snprintf(rec, sizeof(rec),
		    ",\"Recovery\":{\"MaxFailures\":%ld}", maxfail);
	(void)snprintf(body, sizeof(body),
	    "{\"jsonrpc\":\"2.0\",\"method\":\"Group.CommitGroup\",\"params\":"
	    "{\"Spec\":{\"ID\":\"%s\",\"Properties\":{\"Allocation\":{"
	    "\"Size\":%ld},\"Instance\":{\"Plugin\":\"vmware-fusion\","
	    "\"Properties\":{\"VMX\":\"alpine\"}},\"Flavor\":{\"Plugin\":"
	    "\"vanilla\",\"Properties\":{\"Init\":[\"echo hi\"]}}%s}},"
	    "\"Pretend\":false},\"id\":1}",
	    id, size, rec);
	if (call(fd, body, resp, sizeof(resp)) != 0) {
		fprintf(stderr, "commit failed: %s\n", resp);
		return -1;
	}
	return 0;
}

static int
cmd_group_wait(long n, const char *id, long maxfail)
{
	int fd = conn();
	double t0 = now_ms(), dt;

	if (fd == -1 || commit(fd, id, n, maxfail) == -1 ||
	    (dt = wait_running(fd, id, n, t0)) < 0)
		return 1;
	printf("%.0f\n", dt);
	(void)close(fd);
	return 0;
}

/* The member IDs in a Describe answer. */
static size_t
ids_in(const char *resp, char ids[][ID_MAX], size_t max)
{
	size_t n = 0;

	for (const char *p = resp;
	     n < max && (p = strstr(p, "\"ID\":\"")) != NULL; p += 6) {
		const char *q = p + 6, *e = strchr(q, '"');

		if (e == NULL || (size_t)(e - q) >= ID_MAX)
			break;
		memcpy(ids[n], q, (size_t)(e - q));
		ids[n][e - q] = '\0';
		n++;
	}
	return n;
}

static bool
has_id(char ids[][ID_MAX], size_t n, const char *id)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(ids[i], id) == 0)
			return true;
	return false;
}

/* One round: the ms from powering a member off to a new member. */
static double
replace_round(int fd, const char *vmdir, char *resp, size_t len)
{
	char before[MAX_IDS][ID_MAX], now[MAX_IDS][ID_MAX], marker[PATH_BUF];
	size_t nb, nn;
	double t0;

	if (wait_running(fd, "bench-repl", 2, now_ms()) < 0 ||
	    running_in(fd, "bench-repl", resp, len) < 0)
		return -1;
	nb = ids_in(resp, before, MAX_IDS);
	(void)snprintf(marker, sizeof(marker), "%s/%s/%s.vmwarevm/running",
	    vmdir, before[0], before[0]);
	t0 = now_ms();
	if (unlink(marker) == -1)
		return -1;
	while (now_ms() - t0 < WAIT_MAX_MS) {
		if (running_in(fd, "bench-repl", resp, len) < 0)
			return -1;
		nn = ids_in(resp, now, MAX_IDS);
		for (size_t i = 0; i < nn; i++)
			if (!has_id(before, nb, now[i]))
				return now_ms() - t0;
		usleep(WAIT_POLL_US);
	}
	return -1;
}

static int
cmd_replace(const char *vmdir, long rounds)
{
	size_t len = 1 << 20;
	char *resp = malloc(len);
	double *dt = calloc((size_t)rounds + 1, sizeof(double));
	int fd = conn();

	if (resp == NULL || dt == NULL || fd == -1 ||
	    commit(fd, "bench-repl", 2, 0) == -1)
		return 1;
	for (long i = 0; i < rounds; i++)
		if ((dt[i] = replace_round(fd, vmdir, resp, len)) < 0) {
			fprintf(stderr, "replace round %ld failed\n", i);
			return 1;
		}
	printf("%.0f %.0f\n", pct(dt, (size_t)rounds, 50),
	    pct(dt, (size_t)rounds, 100));
	(void)close(fd);
	free(resp);
	free(dt);
	return 0;
}

static long
num(const char *s)
{
	const char *e;
	uint64_t v = parse_uint(s, 0, 1000000000, &e);

	if (e != NULL) {
		fprintf(stderr, "bench: \"%s\" is not a number (%s)\n", s, e);
		exit(2);
	}
	return (long)v;
}

int
main(int argc, char **argv)
{
	if (argc >= 5 && strcmp(argv[1], "gen") == 0)
		return cmd_gen(argv[2], num(argv[3]), num(argv[4]));
	if (argc >= 5 && strcmp(argv[1], "copy") == 0)
		return cmd_copy(argv[2], argv[3], (int)num(argv[4]));
	if (argc >= 3 && strcmp(argv[1], "metrics") == 0)
		return cmd_metrics(num(argv[2]));
	if (argc < 3) {
		fprintf(
		    stderr, "usage: see the comment at the top of bench.c\n");
		return 2;
	}
	sock_path = argv[2];
	if (strcmp(argv[1], "ready") == 0 && argc >= 4)
		return cmd_ready(num(argv[3]));
	if (strcmp(argv[1], "handshake") == 0 && argc >= 5)
		return cmd_handshake(num(argv[3]), num(argv[4]));
	if (strcmp(argv[1], "describe") == 0 && argc >= 4)
		return cmd_timed(num(argv[3]), false);
	if (strcmp(argv[1], "scrape") == 0 && argc >= 4)
		return cmd_timed(num(argv[3]), true);
	if (strcmp(argv[1], "provision") == 0 && argc >= 5)
		return cmd_provision(num(argv[3]), num(argv[4]));
	if (strcmp(argv[1], "provision-wait") == 0 && argc >= 4)
		return cmd_provision_wait(num(argv[3]));
	if (strcmp(argv[1], "group-wait") == 0 && argc >= 6)
		return cmd_group_wait(num(argv[3]), argv[4], num(argv[5]));
	if (strcmp(argv[1], "replace") == 0 && argc >= 5)
		return cmd_replace(argv[3], num(argv[4]));
	fprintf(stderr, "unknown bench command %s\n", argv[1]);
	return 2;
}
