// SPDX-License-Identifier: GPL-2.0-only
/*
 * taskvm-runtime: the agent and the shim, the parts of taskvm that pull images, serve HTTP and
 * use netd's libraries. `taskvm agent` and `taskvm shim` exec it (argv[0] stays "taskvm", so that
 * both are seen as what they were started as); the agent execs it for each task's shim. The
 * command `taskvm` itself links jansson only: it starts in the time of a small program, not of
 * the ~50 shared libraries that libcurl, libarchive, libmicrohttpd and libsystemd bring.
 *   taskvm-runtime { agent | shim } [ARGS]
 */
#include <stdio.h>

#include "agent.h"
#include "shim.h"
#include "util.h"

int main(int argc, char **argv)
{
	if (argc >= 2 && streq(argv[1], "agent"))
		return agent_main(argc - 1, argv + 1);
	if (argc >= 2 && streq(argv[1], "shim"))
		return shim_main(argc - 1, argv + 1);
	fprintf(stderr, "taskvm-runtime: started by taskvm: 'taskvm agent' or 'taskvm shim'\n");
	return 2;
}
