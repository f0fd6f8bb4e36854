/*
 * What a QEMU VM's serial log (serial.log in its bundle, appended to by
 * every start) says about the guest's initialisation: the tiny test guest
 * prints "init: done rc=N" once its Init ran, cloud-init prints "Cloud-init
 * v. VERSION finished at ...". Only what the current run of QEMU wrote
 * counts: before each start the backend records the log's size in
 * serial.start, and only the tail after that offset is read.
 */
#ifndef QEMU_LOG_H
#define QEMU_LOG_H

#include <stddef.h>

struct err;

#define QEMU_LOG_MARK_NAME "serial.start" /* in the bundle */
#define QEMU_LOG_TAIL (256 * 1024)	  /* bytes of the log read, at most */

/*
 * Reads len bytes of serial output (need not be NUL-terminated): 1 when a
 * line says the guest's initialisation finished, 0 when lines show a
 * guest that tells (the tiny guest's "tiny: " lines, cloud-init's
 * "Cloud-init v. ... running") but no finish line yet, -1 when nothing
 * there tells (readiness is then its SSH answering alone).
 */
int qemu_log_ready(const char *text, size_t len);

/* Records where the next run's output will begin in dir's serial.log (its
 * size now; 0 when it does not exist). */
int qemu_log_mark(const char *dir, struct err *err);

/* qemu_log_ready on the tail of what the current run wrote into dir's
 * serial.log; -1 when it cannot be read. */
int qemu_log_state(const char *dir);

#endif /* QEMU_LOG_H */
