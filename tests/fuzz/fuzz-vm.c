// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer harness for what the task VM's two sides read from each other: the frames a guest
 * sends (the host must survive any guest), the spec the guest decodes, the kernel command line
 * the guest parses, and what qemu's QMP monitor says. Properties: a decoded spec encodes again
 * and decodes to the same shape; a parsed command line formats to one that parses the same.
 *
 * Input: byte 0 picks the target (mod 4), the rest is its input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"
#include "vm-proto.h"
#include "vm-qmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Frames in pieces of the sizes the input's first bytes say; each frame's records walked. */
static void fuzz_frames(const uint8_t *d, size_t len)
{
	struct vm_frame_reader r = {};
	size_t pos = 0, step = len ? (size_t)d[0] % 13 + 1 : 1;

	while (pos < len) {
		size_t n = MIN(step, len - pos);
		struct vm_frame f;
		int e;

		if (vm_frame_reader_feed(&r, d + pos, n) < 0)
			abort();
		pos += n;
		while ((e = vm_frame_reader_next(&r, &f)) > 0) {
			size_t rpos = 0;
			const char *value;
			char key[32];

			if (f.type == 0 || f.type >= __VM_FRAME_MAX || f.len > VM_FRAME_MAX)
				abort();
			if (f.type == VM_FRAME_STATS) {
				struct vm_records rec = {};
				struct vm_stats st, st2;

				/* what decodes, encodes and decodes the same */
				if (vm_stats_decode(f.payload, f.len, &st) == 0) {
					vm_stats_encode(&st, &rec);
					if (rec.error ||
					    vm_stats_decode((uint8_t *)rec.buf, rec.len, &st2) <
						    0 ||
					    !vm_stats_equal(&st, &st2))
						abort();
					vm_records_done(&rec);
				}
			}
			while (vm_records_next(f.payload, f.len, &rpos, key, sizeof(key), &value) >
			       0)
				if (rpos > f.len || strlen(value) > f.len)
					abort();
		}
		if (e < 0)
			break;
	}
	vm_frame_reader_done(&r);
}

static void fuzz_spec(const uint8_t *d, size_t len)
{
	uint8_t *copy = malloc(len ? len : 1), *again;
	struct vm_spec_parsed p, p2;
	struct vm_records rec = {};
	char *error = NULL;

	if (!copy)
		abort();
	memcpy(copy, d, len);
	if (vm_spec_decode(copy, len, &p, &error) < 0) {
		if (!error)
			abort(); /* a refusal says why */
		free(error);
		free(copy);
		return;
	}
	if (vm_spec_encode(&p.spec, &rec, &error) < 0)
		abort(); /* what the guest accepts, the host could have sent */
	again = malloc(rec.len ? rec.len : 1);
	if (!again)
		abort();
	memcpy(again, rec.buf, rec.len);
	if (vm_spec_decode(again, rec.len, &p2, &error) < 0 ||
	    p2.spec.n_containers != p.spec.n_containers || p2.spec.n_volumes != p.spec.n_volumes)
		abort();
	for (size_t i = 0; i < p.spec.n_volumes; i++)
		if (strcmp(p.volumes[i].serial, p2.volumes[i].serial) != 0 ||
		    !p.volumes[i].dir != !p2.volumes[i].dir ||
		    (p.volumes[i].dir && strcmp(p.volumes[i].dir, p2.volumes[i].dir) != 0))
			abort();
	for (size_t i = 0; i < p.spec.n_containers; i++)
		if (strcmp(p.spec.containers[i].name, p2.spec.containers[i].name) != 0 ||
		    p.spec.containers[i].n_mounts != p2.spec.containers[i].n_mounts ||
		    p.spec.containers[i].caps != p2.spec.containers[i].caps ||
		    p.spec.containers[i].nofile_soft != p2.spec.containers[i].nofile_soft ||
		    p.spec.containers[i].nofile_hard != p2.spec.containers[i].nofile_hard ||
		    p.spec.containers[i].memory_max != p2.spec.containers[i].memory_max ||
		    p.spec.containers[i].cpu_shares != p2.spec.containers[i].cpu_shares)
			abort();
	vm_spec_parsed_done(&p2);
	vm_spec_parsed_done(&p);
	vm_records_done(&rec);
	free(again);
	free(copy);
}

static void fuzz_cmdline(const uint8_t *d, size_t len)
{
	struct vm_guest_config c, c2;
	char *s = malloc(len + 1), buf[4 * VM_CMDLINE_MAX];
	const char *error = NULL;

	if (!s)
		abort();
	memcpy(s, d, len);
	s[len] = '\0';
	if (vm_guest_config_parse(s, &c, &error) == 0) {
		if (vm_guest_config_format(&c, buf, sizeof(buf)) < 0)
			abort();
		if (vm_guest_config_parse(buf, &c2, &error) < 0 || memcmp(&c, &c2, sizeof(c)) != 0)
			abort();
	} else if (!error) {
		abort();
	}
	free(s);
}

static void fuzz_qmp(const uint8_t *d, size_t len)
{
	static const char greeting[] =
		"{\"QMP\": {\"version\": {\"qemu\": {\"micro\": 0, \"minor\": 2, \"major\": 7}}}}\n";
	struct qmp *q;
	size_t n;

	if (qmp_new(NULL, NULL, &q) < 0)
		abort();
	if (qmp_feed(q, greeting, sizeof(greeting) - 1) < 0)
		abort();
	qmp_command(q, "query-status", NULL, NULL, NULL);
	(void)qmp_feed(q, d, len);
	qmp_output(q, &n);
	qmp_output_consumed(q, n);
	qmp_free(q);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] % 4) {
	case 0:
		fuzz_frames(data + 1, size - 1);
		break;
	case 1:
		fuzz_spec(data + 1, size - 1);
		break;
	case 2:
		fuzz_cmdline(data + 1, size - 1);
		break;
	case 3:
		fuzz_qmp(data + 1, size - 1);
		break;
	}
	return 0;
}
