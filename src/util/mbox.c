/*
 * Mailboxes and doorbells. See mbox.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "util/compat.h"
#include "util/err.h"
#include "util/mbox.h"

int
bell_open(struct bell *b, struct err *err)
{
	b->bl_fd[0] = b->bl_fd[1] = -1;
#if defined(__linux__)
	if (pipe2(b->bl_fd, O_CLOEXEC | O_NONBLOCK) == -1) {
#else
	if (pipe(b->bl_fd) == -1 || fd_cloexec(b->bl_fd[0]) == -1 ||
	    fd_cloexec(b->bl_fd[1]) == -1 || fd_nonblock(b->bl_fd[0]) == -1 ||
	    fd_nonblock(b->bl_fd[1]) == -1) {
#endif
		err_set(
		    err, err_from_errno(errno), "pipe: %s", strerror(errno));
		bell_close(b);
		return -1;
	}
	return 0;
}

void
bell_close(struct bell *b)
{
	for (int i = 0; i < 2; i++) {
		if (b->bl_fd[i] != -1)
			(void)close(b->bl_fd[i]);
		b->bl_fd[i] = -1;
	}
}

void
bell_ring(struct bell *b)
{
	unsigned char c = 1;

	/* A full pipe already wakes the reader: EAGAIN is fine. */
	while (write(b->bl_fd[1], &c, 1) == -1 && errno == EINTR)
		;
}

void
bell_drain(struct bell *b)
{
	unsigned char buf[256];

	while (read(b->bl_fd[0], buf, sizeof(buf)) > 0)
		;
}

int
bell_fd(const struct bell *b)
{
	return b->bl_fd[0];
}

int
mbox_init(struct mbox *mb, struct bell *bell, struct err *err)
{
	pthread_condattr_t ca;

	memset(mb, 0, sizeof(*mb));
	mb->mb_bell = bell;
	if (pthread_mutex_init(&mb->mb_mu, NULL) != 0) {
		err_set(err, EIK_INTERNAL, "pthread_mutex_init failed");
		return -1;
	}
	/* Timed waits on the monotonic clock where pthreads has it: a wall
	 * clock set back must not stall a helper thread. */
	(void)pthread_condattr_init(&ca);
#if !defined(__APPLE__)
	(void)pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
#endif
	if (pthread_cond_init(&mb->mb_cv, &ca) != 0) {
		(void)pthread_condattr_destroy(&ca);
		(void)pthread_mutex_destroy(&mb->mb_mu);
		err_set(err, EIK_INTERNAL, "pthread_cond_init failed");
		return -1;
	}
	(void)pthread_condattr_destroy(&ca);
	return 0;
}

void
mbox_fini(struct mbox *mb)
{
	(void)pthread_cond_destroy(&mb->mb_cv);
	(void)pthread_mutex_destroy(&mb->mb_mu);
}

int
mbox_post(struct mbox *mb, struct msg *m)
{
	bool was_empty;

	m->m_next = NULL;
	(void)pthread_mutex_lock(&mb->mb_mu);
	if (mb->mb_closed) {
		(void)pthread_mutex_unlock(&mb->mb_mu);
		return -1;
	}
	was_empty = mb->mb_head == NULL;
	if (mb->mb_tail != NULL)
		mb->mb_tail->m_next = m;
	else
		mb->mb_head = m;
	mb->mb_tail = m;
	if (mb->mb_bell == NULL)
		(void)pthread_cond_signal(&mb->mb_cv);
	(void)pthread_mutex_unlock(&mb->mb_mu);
	/* One ring per empty-to-busy change: the owner takes everything at
	 * once, so later posts find it awake. */
	if (mb->mb_bell != NULL && was_empty)
		bell_ring(mb->mb_bell);
	return 0;
}

struct msg *
mbox_take(struct mbox *mb)
{
	struct msg *m;

	(void)pthread_mutex_lock(&mb->mb_mu);
	m = mb->mb_head;
	mb->mb_head = mb->mb_tail = NULL;
	(void)pthread_mutex_unlock(&mb->mb_mu);
	return m;
}

/* Waits on mb_cv for at most ms (mb_mu held). */
static void
cond_wait_ms(struct mbox *mb, int64_t ms)
{
	struct timespec ts;

#if defined(__APPLE__)
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000;
	(void)pthread_cond_timedwait_relative_np(&mb->mb_cv, &mb->mb_mu, &ts);
#else
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000;
	if (ts.tv_nsec >= 1000000000) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000;
	}
	(void)pthread_cond_timedwait(&mb->mb_cv, &mb->mb_mu, &ts);
#endif
}

struct msg *
mbox_wait(struct mbox *mb, int64_t timeout_ms)
{
	int64_t end = timeout_ms >= 0 ? mono_ms() + timeout_ms : 0;
	struct msg *m;

	(void)pthread_mutex_lock(&mb->mb_mu);
	while (mb->mb_head == NULL && !mb->mb_closed) {
		if (timeout_ms < 0)
			(void)pthread_cond_wait(&mb->mb_cv, &mb->mb_mu);
		else {
			int64_t left = end - mono_ms();

			if (left <= 0)
				break;
			cond_wait_ms(mb, left);
		}
	}
	m = mb->mb_head;
	mb->mb_head = mb->mb_tail = NULL;
	(void)pthread_mutex_unlock(&mb->mb_mu);
	return m;
}

void
mbox_close(struct mbox *mb)
{
	(void)pthread_mutex_lock(&mb->mb_mu);
	mb->mb_closed = true;
	(void)pthread_cond_broadcast(&mb->mb_cv);
	(void)pthread_mutex_unlock(&mb->mb_mu);
	if (mb->mb_bell != NULL)
		bell_ring(mb->mb_bell);
}

bool
mbox_is_closed(struct mbox *mb)
{
	bool c;

	(void)pthread_mutex_lock(&mb->mb_mu);
	c = mb->mb_closed;
	(void)pthread_mutex_unlock(&mb->mb_mu);
	return c;
}
