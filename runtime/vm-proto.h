/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What the host and the task VM's init say to each other, shared by both sides (runtime/vm.c on
 * the host, guest/init.c in the VM, which links this file statically): pure code, libc only.
 *
 * The guest's configuration travels on the kernel command line (tp.* parameters, read from
 * /proc/cmdline); the task's containers and everything after boot travel as frames on a virtio
 * serial port named "tp.ctl". A frame is an 8-byte header, little endian: type (u8), flags (u8,
 * 0), container (u16: its index in the spec, VM_CONTAINER_NONE for the task), payload length
 * (u32, at most VM_FRAME_MAX), then the payload. Payloads that carry fields are records:
 * "key=value" strings each ended by a NUL (values may hold anything but NUL, like argv and
 * environ); output frames carry the bytes as written. docs/vm.md has the whole protocol.
 */
#ifndef TP_VM_PROTO_H
#define TP_VM_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define VM_PROTO_VERSION  1
#define VM_FRAME_HEADER	  8
#define VM_FRAME_MAX	  65536
#define VM_CONTAINER_NONE 0xffff
#define VM_CONTAINERS_MAX 64
#define VM_CHANNEL_NAME	  "tp.ctl"
#define VM_NICS_MAX	  4
#define VM_ROUTES_MAX	  8
#define VM_DNS_MAX	  3
#define VM_VOLUMES_MAX	  40 /* a task definition's 32, the task's drives */
#define VM_DIR_MAX	  512
#define VM_SERIAL_MAX	  20 /* virtio-blk serial numbers are 20 bytes */
#define VM_CMDLINE_MAX	  2048

enum vm_frame_type {
	VM_FRAME_HELLO = 1, /* guest: init is up (records: version, uptime_ms) */
	VM_FRAME_SPEC,	  /* host: the task's volumes and containers (records); mounted, not run */
	VM_FRAME_START,	  /* host: start container N */
	VM_FRAME_STARTED, /* guest: container N runs (records: pid) */
	VM_FRAME_STDOUT,  /* guest: bytes container N wrote to its stdout */
	VM_FRAME_STDERR,  /* guest: ... to its stderr */
	VM_FRAME_EXIT,	  /* guest: container N exited, after all its output (records: status) */
	VM_FRAME_ERROR,	  /* guest: container N (or the task: NONE) failed (text) */
	VM_FRAME_KILL,	  /* host: send container N a signal (records: signal) */
	VM_FRAME_STOP,	  /* host: stop every container (records: timeout_ms), then power off */
	VM_FRAME_BYE,	  /* guest: all containers are gone, file systems unmounted; powering off */
	VM_FRAME_STATS_GET, /* host: send the statistics now (no payload) */
	VM_FRAME_STATS,	    /* guest: container N's cgroup, or the task's (NONE) drives (records) */
	__VM_FRAME_MAX,
};

struct vm_frame {
	uint8_t type;
	uint16_t container;
	uint32_t len;
	const uint8_t *payload; /* points into the reader's buffer until the next call */
};

/* An incremental decoder of frames arriving in pieces. */
struct vm_frame_reader {
	uint8_t *buf;
	size_t len;  /* bytes buffered */
	size_t size; /* allocated */
	size_t skip; /* bytes of the frame returned last, dropped on the next call */
};

/* Encode a frame into buf (VM_FRAME_HEADER + len bytes); returns its size or -EMSGSIZE. */
ssize_t vm_frame_encode(uint8_t *buf, size_t size, enum vm_frame_type type, uint16_t container,
			const void *payload, size_t len);
/* Append bytes read from the channel; -ENOMEM. */
int vm_frame_reader_feed(struct vm_frame_reader *r, const void *data, size_t len);
/*
 * Next complete frame: 1 and *ret filled, 0 if more bytes are needed, -EBADMSG for a header no
 * peer of this version sends (unknown type, flags, oversize): the stream cannot be trusted.
 */
int vm_frame_reader_next(struct vm_frame_reader *r, struct vm_frame *ret);
/* Free the buffer. */
void vm_frame_reader_done(struct vm_frame_reader *r);
/* "HELLO", "SPEC", ...; NULL for an unknown type. */
const char *vm_frame_type_name(unsigned int type);

/* --- records ------------------------------------------------------------------------------ */

/* A growing buffer of records. */
struct vm_records {
	char *buf;
	size_t len;
	size_t size;
	int error; /* the first failure (-ENOMEM, -EINVAL for a key with '=' or a NUL) */
};

/* Append "key=value\0"; failures are kept in r->error (checked once at the end). */
void vm_records_add(struct vm_records *r, const char *key, const char *value);
void vm_records_addf(struct vm_records *r, const char *key, const char *fmt, ...)
	__attribute__((__format__(printf, 3, 4)));
void vm_records_done(struct vm_records *r);
/*
 * Iterate: *pos starts at 0; returns 1 with *ret_key (NUL-terminated copy in key, at most
 * key_size) and *ret_value (pointing into payload, NUL-terminated there), 0 at the end,
 * -EBADMSG for a record without '=', a key too long, or a missing final NUL.
 */
int vm_records_next(const uint8_t *payload, size_t len, size_t *pos, char *key, size_t key_size,
		    const char **ret_value);

/* --- the task's spec (SPEC frame) --------------------------------------------------------- */

struct vm_mount {
	const char *volume; /* a volume of the spec, by name */
	const char *path;   /* where, in the container (absolute) */
	bool readonly;
};

/*
 * A volume: a drive, or a directory of one. The guest mounts each drive once and binds the
 * volume's directory of it (created if missing): the task definition's volumes are directories
 * of the task's storage, as on the runc path.
 */
struct vm_volume {
	const char *name;
	const char *serial; /* the virtio-blk drive's serial (an ext4 file system) */
	const char *dir;    /* NULL = the whole drive; else relative: 1-VM_DIR_MAX of
			     * [A-Za-z0-9_.-/], no empty, "." or ".." component */
};

struct vm_container {
	const char *name;
	/*
	 * Serial of the drive with its root file system (ext4). Alone, the drive is the container's
	 * to write. With upper, it is the image, read-only (a drive many containers may share), and
	 * the root is an overlay whose writes go to the volume named upper, below .tp-rootfs/NAME/:
	 * Fargate's layout, where containers' writable layers and volumes share the task's storage.
	 */
	const char *root;
	const char *upper; /* a volume of the spec, or NULL */
	char **argv;	   /* NULL-terminated, at least one */
	char **env;	   /* NULL-terminated "NAME=value"; may be NULL */
	const char *cwd;   /* NULL = "/" */
	uid_t uid;
	gid_t gid;
	const gid_t *groups; /* supplementary groups */
	size_t n_groups;
	int stop_signal; /* 0 = SIGTERM */
	/*
	 * Capabilities (bit N = capability N): the bounding, effective and permitted sets of the
	 * process, as runc sets them for the container's OCI process; inheritable and ambient are
	 * empty. Bits the guest's kernel does not know are dropped.
	 */
	uint64_t caps;
	/* RLIMIT_NOFILE; nofile_hard 0 = the guest's own (none set) */
	uint64_t nofile_soft, nofile_hard;
	/*
	 * The container's cgroup in the guest (one each): memory.max in bytes (0 = none), and
	 * cpu.weight from the OCI cpu shares as runc converts them (0 = the kernel's default, 100;
	 * else 2-262144).
	 */
	uint64_t memory_max;
	uint64_t cpu_shares;
	const struct vm_mount *mounts;
	size_t n_mounts;
	bool readonly_root;
};

struct vm_spec {
	const struct vm_volume *volumes;
	size_t n_volumes;
	const struct vm_container *containers;
	size_t n_containers;
};

/* Encode a spec as records; -EINVAL (with *ret_error) for a spec the guest would refuse. */
int vm_spec_encode(const struct vm_spec *spec, struct vm_records *out, char **ret_error);

/*
 * The decoded spec (guest side): every string points into the payload, which must outlive it
 * and is changed (the commas inside volume and mount fields become NULs). vm_spec_decode()
 * checks what vm_spec_encode() checks; *ret_error says what is wrong.
 */
struct vm_spec_parsed {
	struct vm_spec spec;
	struct vm_volume volumes[VM_VOLUMES_MAX];
	struct vm_container *containers; /* n_containers of them */
};
int vm_spec_decode(uint8_t *payload, size_t len, struct vm_spec_parsed *ret, char **ret_error);
void vm_spec_parsed_done(struct vm_spec_parsed *p);

/* --- statistics (STATS frame) ------------------------------------------------------------- */

/*
 * What a STATS frame says. For container N, its cgroup in the guest: cpu_usec (cpu.stat
 * usage_usec), memory (memory.current), memory_peak (memory.peak, when the kernel has it). For
 * the task (VM_CONTAINER_NONE), its drives' use (statvfs of each task drive, summed): bytes used
 * and their size.
 */
struct vm_stats {
	bool has_cpu, has_memory, has_memory_peak, has_storage;
	uint64_t cpu_usec;
	uint64_t memory, memory_peak;
	uint64_t storage_used, storage_size;
};

/* The records of s (its has_* fields) into out; failures in out->error. */
void vm_stats_encode(const struct vm_stats *s, struct vm_records *out);
/* Decode a STATS payload; -EBADMSG for a malformed record, value or unknown key. */
int vm_stats_decode(const uint8_t *payload, size_t len, struct vm_stats *ret);
/* Whether a and b say the same (every field compared, the has_* ones too). */
bool vm_stats_equal(const struct vm_stats *a, const struct vm_stats *b);

/* --- the guest's configuration (kernel command line) ------------------------------------- */

struct vm_guest_nic {
	char ifname[16];
	uint8_t mac[6];
	uint32_t addr; /* network order */
	uint8_t prefixlen;
	uint32_t mtu; /* 0 = the driver's */
};

struct vm_guest_route {
	uint32_t dst; /* network order */
	uint8_t prefixlen;
	char ifname[16];
	uint32_t gateway; /* 0 = on link */
};

struct vm_guest_config {
	struct vm_guest_nic nics[VM_NICS_MAX];
	size_t n_nics;
	struct vm_guest_route routes[VM_ROUTES_MAX];
	size_t n_routes;
	uint32_t dns[VM_DNS_MAX];
	size_t n_dns;
	char hostname[65];
	bool debug; /* tp.debug: the init writes what it does to the console */
};

/*
 * The guest's view of the kernel command line: tp.net=IFNAME,MAC,ADDR/PLEN[,MTU] (one per NIC),
 * tp.route=DST/PLEN,IFNAME[,GATEWAY], tp.dns=ADDR, tp.hostname=NAME, tp.debug; other words are
 * the kernel's and ignored. -EINVAL with *ret_error (a static string) on a malformed tp.* word.
 */
int vm_guest_config_parse(const char *cmdline, struct vm_guest_config *ret, const char **ret_error);
/* The tp.* words of a configuration, space separated (the host's side); -ENAMETOOLONG. */
int vm_guest_config_format(const struct vm_guest_config *c, char *buf, size_t size);

#endif
