/*
 * A fault-injection shim, preloaded into the plugin by tests
 * (LD_PRELOAD=libfaultshim.so): shifts the wall clock by the number of
 * milliseconds in the file $FAULT_CLOCK_FILE (re-read every 50 ms), so a
 * test can set the clock back or forward under a running plugin and check
 * that deadlines, timers and IDs do not depend on it. With $FAULT_NO_PIPE
 * set, pipe() fails (ENOSYS): where the system has pipe2() every pipe the
 * plugin makes must be close-on-exec from the start (threads spawn
 * long-lived QEMU children at any moment), so nothing may call pipe().
 */
#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/time.h>
#include <time.h>

typedef int (*clock_gettime_fn)(clockid_t, struct timespec *);

static _Atomic int64_t offset_ms;
static _Atomic int64_t next_read_ns;

typedef int (*pipe_fn)(int[2]);

int clock_gettime(clockid_t clk, struct timespec *ts);
int pipe(int fds[2]);
int gettimeofday(struct timeval *restrict tv, void *restrict tz);

static clock_gettime_fn
real_clock_gettime(void)
{
	static clock_gettime_fn fn;

	if (fn == NULL)
		fn = (clock_gettime_fn)(uintptr_t)dlsym(
		    RTLD_NEXT, "clock_gettime");
	return fn;
}

static int64_t
current_offset(void)
{
	struct timespec now;
	const char *path = getenv("FAULT_CLOCK_FILE");
	int64_t ns;

	if (path == NULL || real_clock_gettime()(CLOCK_MONOTONIC, &now) != 0)
		return 0;
	ns = (int64_t)now.tv_sec * 1000000000 + now.tv_nsec;
	if (ns >= atomic_load(&next_read_ns)) {
		FILE *f = fopen(path, "re");
		long long v = 0;

		if (f != NULL) {
			if (fscanf(f, "%lld", &v) != 1)
				v = 0;
			(void)fclose(f);
		}
		atomic_store(&offset_ms, (int64_t)v);
		atomic_store(&next_read_ns, ns + 50000000);
	}
	return atomic_load(&offset_ms);
}

int
clock_gettime(clockid_t clk, struct timespec *ts)
{
	int r = real_clock_gettime()(clk, ts);

	if (r == 0 &&
	    (clk == CLOCK_REALTIME
#ifdef CLOCK_REALTIME_COARSE
		|| clk == CLOCK_REALTIME_COARSE
#endif
		)) {
		int64_t ms = current_offset();
		int64_t ns = (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec +
		    ms * 1000000;

		ts->tv_sec = (time_t)(ns / 1000000000);
		ts->tv_nsec = (long)(ns % 1000000000);
	}
	return r;
}

int
gettimeofday(struct timeval *restrict tv, void *restrict tz)
{
	struct timespec ts;

	(void)tz;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return -1;
	tv->tv_sec = ts.tv_sec;
	tv->tv_usec = (suseconds_t)(ts.tv_nsec / 1000);
	return 0;
}

/*
 * Slow disks: when $FAULT_FSYNC_DELAY_FILE names a file holding a number
 * of milliseconds, every fsync and fdatasync sleeps that long first (the
 * file is read at every call), so a test can hold a flush open while it
 * sends more requests or kills the plugin.
 */
typedef int (*sync_fn)(int);

static void
sync_delay(void)
{
	const char *path = getenv("FAULT_FSYNC_DELAY_FILE");
	FILE *f;
	long long ms = 0;
	struct timespec ts;

	if (path == NULL || (f = fopen(path, "re")) == NULL)
		return;
	if (fscanf(f, "%lld", &ms) != 1)
		ms = 0;
	(void)fclose(f);
	if (ms <= 0)
		return;
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	while (nanosleep(&ts, &ts) == -1)
		;
}

int fsync(int fd);
int fdatasync(int fd);

int
fsync(int fd)
{
	static sync_fn real;

	if (real == NULL)
		real = (sync_fn)(uintptr_t)dlsym(RTLD_NEXT, "fsync");
	sync_delay();
	return real(fd);
}

int
fdatasync(int fd)
{
	static sync_fn real;

	if (real == NULL)
		real = (sync_fn)(uintptr_t)dlsym(RTLD_NEXT, "fdatasync");
	sync_delay();
	return real(fd);
}

int
pipe(int fds[2])
{
	static pipe_fn fn;

	if (getenv("FAULT_NO_PIPE") != NULL) {
		errno = ENOSYS;
		return -1;
	}
	if (fn == NULL)
		fn = (pipe_fn)(uintptr_t)dlsym(RTLD_NEXT, "pipe");
	return fn(fds);
}
