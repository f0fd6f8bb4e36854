/*
 * The `group` verbs (group.c): the built-in group controller over the
 * plugin's socket.
 */
#ifndef GROUP_H
#define GROUP_H

/* argv[0] is "group". Returns the exit status. */
int group_main(int argc, char **argv);

#endif /* GROUP_H */
