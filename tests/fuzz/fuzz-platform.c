// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for the platform manifests (runtime/platform-manifest.c): an operator's file
 * in the platforms directory. A manifest is refused with a message that names it, or accepted;
 * nothing in between crashes or leaks.
 *
 * Input: byte 0 picks the file name the text is checked under ("1.3.0.json" or "1.4.0.json",
 * which the version inside must match), the rest is the manifest.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "platform.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *name;
	char *err = NULL;
	int r;

	if (size < 1)
		return 0;
	name = data[0] & 1 ? "1.4.0.json" : "1.3.0.json";
	r = platform_manifest_check(name, (const char *)data + 1, size - 1, &err);
	if (r == 0 && err)
		abort();
	if (r < 0 && r != -ENOMEM && (!err || !startswith(err, name)))
		abort();
	free(err);
	return 0;
}
