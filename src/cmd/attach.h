/*
 * The `attachment` verbs (attach.c): the persistent disks of pets over
 * the plugin's socket.
 */
#ifndef ATTACH_H
#define ATTACH_H

/* argv[0] is "attachment". Returns the exit status. */
int attach_main(int argc, char **argv);

#endif /* ATTACH_H */
