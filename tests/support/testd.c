/*
 * The plugin binary with the test backend compiled in: `--backend test`
 * selects it. Integration tests drive this through the real socket.
 */
#include "backend/backend.h"
#include "cmd/cli.h"

extern const struct backend_ops backend_test_ops;

int
main(int argc, char **argv)
{
	static const struct backend_ops *const extra[] = { &backend_test_ops,
		NULL };

	return cli_main(argc, argv, extra);
}
