/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * `taskvm platform { list | show VERSION [--revision N] } [--platforms-dir DIR]`: the platform
 * versions as the manifests say, read from the directory directly (no agent needed), in text or
 * -j/-p JSON (docs/platforms.md, docs/man/taskvm.8.md).
 */
#ifndef TP_PLATFORM_CMD_H
#define TP_PLATFORM_CMD_H

/* Run `taskvm platform ARGS` (argv[0] is the sub-command); returns the exit status. */
int platform_cmd(int argc, char **argv);

#endif
