/*
 * infrakit-instance-vmware-fusion: an InfraKit instance plugin for VMware
 * Fusion, Workstation and Player, and QEMU. See README.md.
 */
#include "cmd/cli.h"

int
main(int argc, char **argv)
{
	return cli_main(argc, argv, NULL);
}
