/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * taskvm agent: the host agent. It keeps the registered tasks, samples their stats (netd's
 * counters, the tasks' cgroups) in the background, and serves the metadata and credentials
 * endpoints (http.h) from responses it renders ahead. Its control socket speaks the protocol of
 * docs/PROTOCOL.md with the methods of docs/man/taskvm.8.md.
 */
#ifndef TP_AGENT_H
#define TP_AGENT_H

#define AGENT_DEFAULT_SOCKET	      "/run/taskvm/agent.sock"
#define AGENT_DEFAULT_CREDENTIALS_DIR "/run/taskvm/credentials"
#define AGENT_DEFAULT_STATE_DIR	      "/var/lib/taskvm"
#define AGENT_DEFAULT_STATS_INTERVAL  10 /* seconds: Fargate's read/preread gap */

/* `taskvm agent [OPTIONS]`: run the agent until SIGTERM or SIGINT. Returns an exit status. */
int agent_main(int argc, char **argv);

#endif
