/*
 * Mailboxes: how the threads of the daemon talk. A thread that owns state
 * (the service) never shares it; other threads post messages into one of
 * its mailboxes and it answers with messages of its own (OpenBSD vmd's
 * imsg, Redis's single owner). A mailbox is a FIFO of intrusive nodes with
 * its own mutex, held only to link or unlink nodes: never while a message
 * is handled, never together with another lock.
 *
 * Waking the consumer: a mailbox either has a condition variable (a helper
 * thread that waits on nothing else: mbox_wait) or rings a doorbell (a
 * pipe the owner polls together with its timers: several mailboxes may
 * share one doorbell, so the owner waits on all of them at once).
 */
#ifndef MBOX_H
#define MBOX_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

struct err;

/* The link every message starts with. */
struct msg {
	struct msg *m_next;
};

/* A pipe that wakes a poll(2): ringing it is async-signal-safe. */
struct bell {
	int bl_fd[2]; /* read end, write end; -1 when closed */
};

struct mbox {
	pthread_mutex_t mb_mu;
	pthread_cond_t mb_cv;
	struct msg *mb_head, *mb_tail;
	struct bell *mb_bell; /* borrowed, or NULL: mb_cv wakes */
	bool mb_closed;
};

/* 0, or -1 with err set. */
int bell_open(struct bell *b, struct err *err);
void bell_close(struct bell *b);
/* Makes the next poll on bell_fd() return; never blocks. */
void bell_ring(struct bell *b);
/* Empties the pipe (after poll said readable). */
void bell_drain(struct bell *b);
int bell_fd(const struct bell *b);

/* bell may be NULL (the consumer uses mbox_wait). 0 or -1. */
int mbox_init(struct mbox *mb, struct bell *bell, struct err *err);
/* Frees the mailbox; messages still in it are not touched (the owner
 * takes them first with mbox_take). */
void mbox_fini(struct mbox *mb);

/*
 * Appends m (the mailbox borrows it until the consumer takes it). Returns
 * 0, or -1 when the mailbox is closed: the caller keeps m and answers it
 * itself.
 */
int mbox_post(struct mbox *mb, struct msg *m);

/* Takes every message, oldest first (NULL when empty). Never blocks. */
struct msg *mbox_take(struct mbox *mb);

/*
 * Waits up to timeout_ms (-1: forever) for messages on a mailbox without a
 * bell and takes them all; NULL when the time passed or the mailbox was
 * closed and is empty.
 */
struct msg *mbox_wait(struct mbox *mb, int64_t timeout_ms);

/* Refuses further posts (mbox_post returns -1) and wakes the consumer.
 * Messages already in it stay to be taken. */
void mbox_close(struct mbox *mb);
bool mbox_is_closed(struct mbox *mb);

#endif /* MBOX_H */
