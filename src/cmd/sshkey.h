/*
 * The plugin's own SSH key pair (sshkey.c): <vm-dir>/.ssh/id_ed25519 and
 * its .pub, made once with ssh-keygen when serve starts and never
 * replaced. Every guest authorizes the public key (through its seed, like
 * Vagrant's and Lima's per-directory keys), and the client's `ssh` verb
 * logs in with the private one when the user gives no -i.
 */
#ifndef SSHKEY_H
#define SSHKEY_H

#include <stddef.h>

struct err;

/*
 * Makes the key pair of vm_dir when it is missing (the directory 0700,
 * the private key 0600) and reads the public key line. Fills path (the
 * private key, len bytes) and *pub (a new string, one line without its
 * newline; caller frees). 0, or -1 with err naming the file or
 * ssh-keygen and the fix.
 */
int sshkey_ensure(
    const char *vm_dir, char *path, size_t len, char **pub, struct err *err);

#endif /* SSHKEY_H */
