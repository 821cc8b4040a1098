# SPDX-License-Identifier: GPL-2.0-only
#
# taskplane: plain GNU make with pkg-config. All outputs go to $(O) (default build/).
#   make            build everything
#   make check      install missing packages, build, run every test tier
#   make demo       install missing packages, build, run the demo
#   make help       list targets and variables

O		?= build
CC		?= gcc
CLANG		?= clang
BPFTOOL		?= bpftool
PKG_CONFIG	?= pkg-config
PREFIX		?= /usr/local
DESTDIR		?=
SBINDIR		?= $(PREFIX)/sbin
BINDIR		?= $(PREFIX)/bin
LIBEXECDIR	?= $(PREFIX)/libexec/taskplane
DOCDIR		?= $(PREFIX)/share/doc/taskplane
MANDIR		?= $(PREFIX)/share/man
PLATFORMSDIR	?= $(PREFIX)/share/taskvm/platforms
VMDIR		?= $(PREFIX)/share/taskvm/vm
CNIBINDIR	?= /opt/cni/bin
PANDOC		?= pandoc
VERSION		:= $(shell cat VERSION 2>/dev/null || echo 0.0.0)
# systemd units and bash completions go where those look: for PREFIX=/usr, the directories
# their pkg-config files name (/lib/systemd/system, /usr/share/bash-completion/completions on
# Debian 12); for another PREFIX, PREFIX/lib/systemd/system (systemd searches
# /usr/local/lib/systemd/system) and PREFIX/share/bash-completion/completions.
ifeq ($(origin UNITDIR),undefined)
UNITDIR := $(if $(filter /usr,$(PREFIX)),$(or $(shell $(PKG_CONFIG) --variable=systemdsystemunitdir \
	systemd 2>/dev/null),/lib/systemd/system),$(PREFIX)/lib/systemd/system)
endif
ifeq ($(origin BASHCOMPDIR),undefined)
BASHCOMPDIR := $(if $(filter /usr,$(PREFIX)),$(or $(shell $(PKG_CONFIG) --variable=completionsdir \
	bash-completion 2>/dev/null),/usr/share/bash-completion/completions),$(PREFIX)/share/bash-completion/completions)
endif

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

# Libraries, all from Debian (see scripts/deps.sh). The image puller (runtime/image*.c,
# regclient.c, layer.c) uses libcurl, libarchive, libcrypto (SHA-256: libcurl loads it anyway)
# and libresolv (DNS answers, runtime/dns.c); --as-needed keeps them out of the other binaries.
PKGS := libnl-3.0 libnl-route-3.0 libmnl libnftnl libbpf jansson libmicrohttpd libsystemd \
	libcurl libarchive libcrypto
PKG_CFLAGS := $(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null) -lresolv -lm
CMOCKA_LIBS := $(shell $(PKG_CONFIG) --libs cmocka 2>/dev/null)
# task-eni is exec'd for every CNI call and pays for every shared library it loads: it links
# only jansson (and the parts of libnetd.a it uses).
CNI_LIBS := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null)
# It is also linked statically (glibc and jansson; no NSS function is used) when libjansson.a
# is there, like the reference plugins: a static binary starts ~0.3 ms sooner and needs no
# shared library where it is installed. CNI_STATIC=0 links it dynamically. The benchmark's floor
# (bench/cni-latency/bare-move) is linked the same way.
JANSSON_A := $(shell $(CC) -print-file-name=libjansson.a 2>/dev/null)
CNI_STATIC ?= $(if $(filter /%,$(JANSSON_A)),1,0)
CNI_LDFLAGS := $(if $(filter 1,$(CNI_STATIC)),-static)

WFLAGS := -Wall -Wextra -Wformat=2 -Wstrict-prototypes -Wmissing-prototypes \
	  -Wmissing-declarations -Wold-style-definition -Wshadow -Wpointer-arith \
	  -Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WFLAGS += -Werror
endif
CFLAGS		?= -O2 -g
LDFLAGS		+= -Wl,--as-needed
CPPFLAGS	+= -D_GNU_SOURCE -DTP_VERSION='"$(VERSION)"' -DTP_PLATFORMS_DIR='"$(PLATFORMSDIR)"' -DTP_VM_DIR='"$(VMDIR)"' -DTP_LIBEXEC_DIR='"$(LIBEXECDIR)"' -Ilib -Iebpf -I$(O) -I$(O)/ebpf $(PKG_CFLAGS)
DEPFLAGS	= -MMD -MP
SANFLAGS	:= -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# eBPF (STYLE §14): UAPI headers of this architecture, not vmlinux.h; skeletons in $(O)/ebpf.
MULTIARCH	:= $(shell $(CC) -print-multiarch 2>/dev/null)
BPF_CFLAGS	:= -g -O2 -target bpf -Wall -Werror $(if $(MULTIARCH),-I/usr/include/$(MULTIARCH)) -Iebpf
BPF_SRCS	:= $(wildcard ebpf/*.bpf.c)
BPF_OBJS	:= $(patsubst ebpf/%.bpf.c,$(O)/ebpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS	:= $(patsubst ebpf/%.bpf.c,$(O)/ebpf/%.skel.h,$(BPF_SRCS))

LIB_SRCS	:= $(wildcard lib/*.c)
NETD_SRCS	:= $(wildcard netd/*.c)
# netd's modules but its main(), so that unit tests (test-netd-*) link them.
NETD_LIB_SRCS	:= $(filter-out netd/netd.c,$(NETD_SRCS))
NETDCTL_SRCS	:= $(wildcard netdctl/*.c)
CNI_SRCS	:= $(wildcard cni-plugin/*.c)
RUNTIME_SRCS	:= $(wildcard runtime/*.c)
RUNTIME_LIB_SRCS := $(filter-out runtime/taskvm.c runtime/taskvm-runtime.c,$(RUNTIME_SRCS))
UNIT_SRCS	:= $(wildcard tests/unit/test-*.c)
TOOL_SRCS	:= $(wildcard tests/tools/*.c)
BPFTEST_SRCS	:= $(wildcard tests/bpf/test-*.c)
BENCH_SRCS	:= $(wildcard bench/*/*.c)
GUEST_SRCS	:= $(wildcard guest/*.c)

LIBNETD		:= $(O)/lib/libnetd.a
LIBNETD_SAN	:= $(O)/san/lib/libnetd.a
LIBNETD_CORE	:= $(O)/lib/libnetd-core.a
LIBNETD_CORE_SAN := $(O)/san/lib/libnetd-core.a
# The runtime's modules but its main(), so that unit tests (test-tmds*) link them.
LIBTASKVM	:= $(O)/runtime/libtaskvm.a
LIBTASKVM_SAN	:= $(O)/san/runtime/libtaskvm.a
BINS		:= $(O)/netd $(O)/netdctl
BINS		+= $(if $(CNI_SRCS),$(O)/task-eni)
BINS		+= $(if $(RUNTIME_SRCS),$(O)/taskvm $(O)/taskvm-runtime)
UNIT_BINS	:= $(patsubst tests/unit/%.c,$(O)/tests/unit/%,$(UNIT_SRCS))
UNIT_SAN_BINS	:= $(patsubst tests/unit/%.c,$(O)/san/tests/unit/%,$(UNIT_SRCS))
TOOL_BINS	:= $(patsubst tests/tools/%.c,$(O)/tests/tools/%,$(TOOL_SRCS))
BPFTEST_BINS	:= $(patsubst tests/bpf/%.c,$(O)/tests/bpf/%,$(BPFTEST_SRCS))
BENCH_BINS	:= $(patsubst %.c,$(O)/%,$(BENCH_SRCS))

# systemd units, with the paths of PREFIX; man pages, built from docs/man/*.md.
UNITS		:= $(O)/netd.service $(if $(RUNTIME_SRCS),$(O)/taskvm-agent.service)
MAN8		:= $(patsubst docs/man/%.md,$(O)/man/%,$(wildcard docs/man/*.8.md))
COMPLETIONS	:= completions/netdctl $(if $(RUNTIME_SRCS),completions/taskvm)

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all bpf tests check test demo bench install uninstall clean help deps format lint vm \
	vm-kernel FORCE

all: bpf $(BINS) $(UNITS) $(MAN8)

# --- eBPF ----------------------------------------------------------------------------------

bpf: $(BPF_SKELS)

$(O)/ebpf/%.bpf.o: ebpf/%.bpf.c
	$(call msg,BPF,$<)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/ebpf/%.skel.h: $(O)/ebpf/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $* > $@

# Objects that include a skeleton (libbpf-bootstrap's %.o: %.skel.h).
$(O)/obj/netd/counters-bpf.o $(O)/san/netd/counters-bpf.o $(O)/obj/tests/bpf/test-tc-counters.o \
$(O)/obj/bench/counters/bench-prog.o: $(O)/ebpf/tc_counters.skel.h
$(O)/obj/netd/counters-bpf.o $(O)/san/netd/counters-bpf.o \
$(O)/obj/tests/bpf/test-tc-platform.o: $(O)/ebpf/tc_platform.skel.h
$(O)/obj/netd/vmshare.o $(O)/san/netd/vmshare.o \
$(O)/obj/tests/bpf/test-tc-vmshare.o: $(O)/ebpf/tc_vmshare.skel.h

# --- generated sources ---------------------------------------------------------------------

# The shipped platform manifests, compiled in (runtime/platform-manifest.c: the table until the
# agent loads a directory) and installed to PLATFORMSDIR.
PLATFORM_MANIFESTS := $(sort $(wildcard runtime/platforms/*.json))

$(O)/gen/platforms-builtin.h: $(PLATFORM_MANIFESTS) scripts/embed.sh
	$(call msg,GEN,$@)
	@mkdir -p $(@D)
	$(Q)scripts/embed.sh platform_builtin $(PLATFORM_MANIFESTS) >$@

$(O)/obj/runtime/platform-manifest.o $(O)/san/runtime/platform-manifest.o \
$(O)/fuzz/obj/runtime/platform-manifest.o: $(O)/gen/platforms-builtin.h

# --- objects -------------------------------------------------------------------------------

$(O)/obj/%.o: %.c
	$(call msg,CC,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(WFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/san/%.o: %.c
	$(call msg,CC-SAN,$<)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS) -O1 -g $(SANFLAGS) $(WFLAGS) $(DEPFLAGS) -c $< -o $@

$(LIBNETD): $(patsubst %.c,$(O)/obj/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNETD_SAN): $(patsubst %.c,$(O)/san/%.o,$(LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNETD_CORE): $(patsubst %.c,$(O)/obj/%.o,$(NETD_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBNETD_CORE_SAN): $(patsubst %.c,$(O)/san/%.o,$(NETD_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBTASKVM): $(patsubst %.c,$(O)/obj/%.o,$(RUNTIME_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

$(LIBTASKVM_SAN): $(patsubst %.c,$(O)/san/%.o,$(RUNTIME_LIB_SRCS))
	$(call msg,AR,$@)
	@mkdir -p $(@D)
	$(Q)rm -f $@ && ar rcs $@ $^

# --- programs ------------------------------------------------------------------------------

$(O)/netd: $(O)/obj/netd/netd.o $(LIBNETD_CORE) $(LIBNETD)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/netdctl: $(patsubst %.c,$(O)/obj/%.o,$(NETDCTL_SRCS)) $(LIBNETD)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/task-eni: $(patsubst %.c,$(O)/obj/%.o,$(CNI_SRCS)) $(LIBNETD)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) $(CNI_LDFLAGS) -o $@ $^ $(CNI_LIBS)

# taskvm, the command, is on the path of every `taskvm run`: it uses jansson alone, and
# --as-needed leaves the other libraries out (the agent and the shim are taskvm-runtime).
$(O)/taskvm: $(O)/obj/runtime/taskvm.o $(LIBTASKVM) $(LIBNETD)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/taskvm-runtime: $(O)/obj/runtime/taskvm-runtime.o $(LIBTASKVM) $(LIBNETD)
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# --- units and man pages -------------------------------------------------------------------

# The paths the units and the programs name: the file changes (and the units are written and
# the objects that name a path compiled again) only when PREFIX, SBINDIR, BINDIR or
# PLATFORMSDIR do.
PATHS := SBINDIR=$(SBINDIR) BINDIR=$(BINDIR) PLATFORMSDIR=$(PLATFORMSDIR) LIBEXECDIR=$(LIBEXECDIR)
$(O)/paths: FORCE
	@mkdir -p $(@D)
	@echo '$(PATHS)' | cmp -s - $@ || echo '$(PATHS)' >$@

$(O)/obj/runtime/platform-cmd.o $(O)/san/runtime/platform-cmd.o \
$(O)/fuzz/obj/runtime/platform-cmd.o $(O)/obj/runtime/taskvm.o: $(O)/paths

$(O)/netd.service: netd/netd.service.in $(O)/paths
$(O)/taskvm-agent.service: runtime/taskvm-agent.service.in $(O)/paths
$(UNITS):
	$(call msg,GEN,$@)
	$(Q)sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@BINDIR@|$(BINDIR)|g' $< >$@

# Plain markdown: no smart quotes and dashes ("--json" stays two hyphens).
$(O)/man/%.8: docs/man/%.8.md
	$(call msg,PANDOC,$@)
	@mkdir -p $(@D)
	$(Q)$(PANDOC) --standalone --from markdown-smart --to man $< -o $@

# --- the task VM (docs/vm.md) --------------------------------------------------------------

# The guest's init is static (libc only) and shares the protocol code with the host's side.
# The kernel and its modules come from Debian's cloud kernel package (scripts/vm-kernel.sh:
# apt-get download, never installed); the initramfs is the init and those modules.
VM_DIR		:= $(O)/vm
VM_FILES	:= $(VM_DIR)/vmlinux $(VM_DIR)/initramfs.cpio
$(patsubst %.c,$(O)/obj/%.o,$(GUEST_SRCS)): CPPFLAGS += -Iruntime

$(VM_DIR)/init: $(patsubst %.c,$(O)/obj/%.o,$(GUEST_SRCS)) $(O)/obj/runtime/vm-proto.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $^

# Fetched once (again when the script changes); `make vm-kernel` looks for a newer package.
$(VM_DIR)/kernel.txt: scripts/vm-kernel.sh
	$(call msg,VM,$(VM_DIR))
	$(Q)scripts/vm-kernel.sh $(VM_DIR)

$(VM_DIR)/vmlinux $(VM_DIR)/modules/order: $(VM_DIR)/kernel.txt

$(VM_DIR)/initramfs.cpio: $(VM_DIR)/init $(VM_DIR)/kernel.txt scripts/vm-initramfs.sh
	$(call msg,CPIO,$@)
	$(Q)scripts/vm-initramfs.sh $@ $(VM_DIR)/init $(VM_DIR)/modules

vm: $(VM_FILES)

# tests/tools/udpsend, static, for the test image's root file system (tests/vm/).
$(VM_DIR)/guest-udpsend: $(O)/obj/tests/tools/udpsend.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $^

vm-kernel:
	$(Q)scripts/vm-kernel.sh $(VM_DIR)
	$(Q)$(MAKE) --no-print-directory vm

# --- tests ---------------------------------------------------------------------------------

$(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(O)/san/tests/unit/%: $(O)/san/tests/unit/%.o $(LIBNETD_SAN)
	$(call msg,LD-SAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# The CNI unit tests (test-cni-*) also link the plugin's pure code: all of cni-plugin/ but main.
CNI_PURE_SRCS	:= $(filter-out cni-plugin/task-eni.c,$(CNI_SRCS))
$(O)/obj/tests/unit/test-cni-%.o $(O)/san/tests/unit/test-cni-%.o: CPPFLAGS += -Icni-plugin

$(O)/tests/unit/test-cni-%: $(O)/obj/tests/unit/test-cni-%.o \
		$(patsubst %.c,$(O)/obj/%.o,$(CNI_PURE_SRCS)) $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(O)/san/tests/unit/test-cni-%: $(O)/san/tests/unit/test-cni-%.o \
		$(patsubst %.c,$(O)/san/%.o,$(CNI_PURE_SRCS)) $(LIBNETD_SAN)
	$(call msg,LD-SAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# netd's unit tests (test-netd-*) include its headers and link its modules.
$(O)/obj/tests/unit/test-netd-%.o $(O)/san/tests/unit/test-netd-%.o: CPPFLAGS += -Inetd

$(O)/tests/unit/test-netd-%: $(O)/obj/tests/unit/test-netd-%.o $(LIBNETD_CORE) $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(O)/san/tests/unit/test-netd-%: $(O)/san/tests/unit/test-netd-%.o $(LIBNETD_CORE_SAN) \
		$(LIBNETD_SAN)
	$(call msg,LD-SAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# The runtime's unit tests include its headers and link its modules (the more specific
# pattern wins over the one above).
$(O)/obj/tests/unit/test-tmds%.o $(O)/san/tests/unit/test-tmds%.o: CPPFLAGS += -Iruntime

$(O)/tests/unit/test-tmds%: $(O)/obj/tests/unit/test-tmds%.o $(LIBTASKVM) $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(O)/san/tests/unit/test-tmds%: $(O)/san/tests/unit/test-tmds%.o $(LIBTASKVM_SAN) $(LIBNETD_SAN)
	$(call msg,LD-SAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# Test drivers of the runtime's modules (tests/tools/ctrrun: stand-in for the per-task shim;
# vpcd checks SigV4 with runtime/sigv4.c) include the runtime's headers and link its modules.
RUNTIME_TOOLS	:= ctrrun imgpull logship secretsget vpcd vmrun
$(patsubst %,$(O)/obj/tests/tools/%.o,$(RUNTIME_TOOLS)): CPPFLAGS += -Iruntime

$(patsubst %,$(O)/tests/tools/%,$(RUNTIME_TOOLS)): $(O)/tests/tools/%: $(O)/obj/tests/tools/%.o \
		$(LIBTASKVM) $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

# The same for the unit tests of the launch modules (test-runtime-*) and the image puller
# (test-image-*) and the log modules (test-logship, test-logfile).
$(O)/obj/tests/unit/test-runtime-%.o $(O)/san/tests/unit/test-runtime-%.o: CPPFLAGS += -Iruntime
$(O)/obj/tests/unit/test-image%.o $(O)/san/tests/unit/test-image%.o: CPPFLAGS += -Iruntime
$(O)/obj/tests/unit/test-log%.o $(O)/san/tests/unit/test-log%.o: CPPFLAGS += -Iruntime

RUNTIME_UNIT_BINS := $(filter $(O)/tests/unit/test-runtime-% $(O)/tests/unit/test-image% \
		       $(O)/tests/unit/test-log%,$(UNIT_BINS))
$(RUNTIME_UNIT_BINS): $(O)/tests/unit/%: $(O)/obj/tests/unit/%.o $(LIBTASKVM) $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

RUNTIME_UNIT_SAN_BINS := $(filter $(O)/san/tests/unit/test-runtime-% $(O)/san/tests/unit/test-image% \
			  $(O)/san/tests/unit/test-log%,\
			  $(UNIT_SAN_BINS))
$(RUNTIME_UNIT_SAN_BINS): $(O)/san/tests/unit/%: $(O)/san/tests/unit/%.o $(LIBTASKVM_SAN) $(LIBNETD_SAN)
	$(call msg,LD-SAN,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(SANFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

$(O)/tests/tools/%: $(O)/obj/tests/tools/%.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(PKG_LIBS)

$(O)/tests/bpf/%: $(O)/obj/tests/bpf/%.o $(O)/obj/tests/bpf/bpftest.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(CMOCKA_LIBS) $(PKG_LIBS)

# Benchmark helpers (bench/*/*.c) are built with the tests so that they never rot. The CNI
# latency floor is linked like task-eni (static when it is), so that both pay the same exec.
$(O)/bench/cni-latency/%: $(O)/obj/bench/cni-latency/%.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(CNI_LDFLAGS) -o $@ $^ $(LDFLAGS)

# The container's program of bench/task-start is static: no loader runs before its stamp.
$(O)/bench/task-start/stamp: $(O)/obj/bench/task-start/stamp.o
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) -static -o $@ $^

$(O)/bench/%: $(O)/obj/bench/%.o $(LIBNETD)
	$(call msg,LD,$@)
	@mkdir -p $(@D)
	$(Q)$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

# libFuzzer harnesses (tests/fuzz/fuzz-*.c) for the parsers of every input taskplane reads: clang
# with ASan+UBSan, over their own instrumented copy of the code under test in $(O)/fuzz/.
# tests/fuzz/t-fuzz.sh replays the seed corpus and fuzzes each for a bounded time in make check.
FUZZ_SRCS	:= $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS	:= $(patsubst tests/fuzz/%.c,$(O)/fuzz/%,$(FUZZ_SRCS))
FUZZ_CFLAGS	:= -O1 -g $(SANFLAGS) -fsanitize=fuzzer-no-link
FUZZ_LIBS	:= $(O)/fuzz/libcni.a $(O)/fuzz/libtaskvm.a $(O)/fuzz/libnetd.a

$(O)/fuzz/obj/%.o: %.c
	$(call msg,CC-FUZZ,$<)
	@mkdir -p $(@D)
	$(Q)$(CLANG) $(CPPFLAGS) -Icni-plugin -Iruntime $(FUZZ_CFLAGS) $(WFLAGS) $(DEPFLAGS) -c $< -o $@

$(O)/fuzz/libnetd.a: $(patsubst %.c,$(O)/fuzz/obj/%.o,$(LIB_SRCS))
$(O)/fuzz/libtaskvm.a: $(patsubst %.c,$(O)/fuzz/obj/%.o,$(RUNTIME_LIB_SRCS))
$(O)/fuzz/libcni.a: $(patsubst %.c,$(O)/fuzz/obj/%.o,$(CNI_PURE_SRCS))
$(FUZZ_LIBS):
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(O)/fuzz/fuzz-%: $(O)/fuzz/obj/tests/fuzz/fuzz-%.o $(FUZZ_LIBS)
	$(call msg,LD-FUZZ,$@)
	$(Q)$(CLANG) -g $(SANFLAGS) -fsanitize=fuzzer -o $@ $^ $(PKG_LIBS)

tests: all $(UNIT_BINS) $(UNIT_SAN_BINS) $(TOOL_BINS) $(BPFTEST_BINS) $(BENCH_BINS) $(FUZZ_BINS) \
	$(VM_FILES) $(VM_DIR)/guest-udpsend

# --- the two commands ----------------------------------------------------------------------

deps:
	$(Q)scripts/deps.sh

# Each of these works as the only command typed on a fresh machine: deps first, then a
# sub-make so that pkg-config runs after the packages are there.
check test:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)O=$(O) tests/run.sh

demo:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory all $(TOOL_BINS)
	$(Q)O=$(O) tests/demo.sh

bench:
	$(Q)scripts/deps.sh
	$(Q)$(MAKE) --no-print-directory tests
	$(Q)O=$(O) bench/run.sh

# --- install -------------------------------------------------------------------------------

install: all
	install -d $(DESTDIR)$(SBINDIR) $(DESTDIR)$(BINDIR) $(DESTDIR)$(CNIBINDIR) \
		$(DESTDIR)$(MANDIR)/man8 $(DESTDIR)$(UNITDIR) $(DESTDIR)$(BASHCOMPDIR) \
		$(DESTDIR)$(DOCDIR) $(if $(RUNTIME_SRCS),$(DESTDIR)$(PLATFORMSDIR) $(DESTDIR)$(LIBEXECDIR))
	install -m 0755 $(O)/netd $(DESTDIR)$(SBINDIR)/netd
	install -m 0755 $(O)/netdctl $(DESTDIR)$(BINDIR)/netdctl
	$(if $(CNI_SRCS),install -m 0755 $(O)/task-eni $(DESTDIR)$(CNIBINDIR)/task-eni)
	$(if $(RUNTIME_SRCS),install -m 0755 $(O)/taskvm $(DESTDIR)$(BINDIR)/taskvm)
	$(if $(RUNTIME_SRCS),install -m 0755 $(O)/taskvm-runtime $(DESTDIR)$(LIBEXECDIR)/taskvm-runtime)
	$(if $(RUNTIME_SRCS),install -m 0644 $(PLATFORM_MANIFESTS) $(DESTDIR)$(PLATFORMSDIR)/)
	install -m 0644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	install -m 0644 $(MAN8) $(DESTDIR)$(MANDIR)/man8/
	install -m 0644 $(COMPLETIONS) $(DESTDIR)$(BASHCOMPDIR)/
	install -m 0644 LICENSE README.md $(DESTDIR)$(DOCDIR)/

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/netd $(DESTDIR)$(BINDIR)/netdctl $(DESTDIR)$(CNIBINDIR)/task-eni \
		$(DESTDIR)$(BINDIR)/taskvm $(DESTDIR)$(LIBEXECDIR)/taskvm-runtime \
		$(addprefix $(DESTDIR)$(UNITDIR)/,$(notdir $(UNITS))) \
		$(addprefix $(DESTDIR)$(MANDIR)/man8/,$(notdir $(MAN8))) \
		$(addprefix $(DESTDIR)$(BASHCOMPDIR)/,$(notdir $(COMPLETIONS))) \
		$(addprefix $(DESTDIR)$(PLATFORMSDIR)/,$(notdir $(PLATFORM_MANIFESTS)))
	-rmdir $(DESTDIR)$(PLATFORMSDIR) $(dir $(DESTDIR)$(PLATFORMSDIR)) 2>/dev/null
	-rmdir $(DESTDIR)$(LIBEXECDIR) 2>/dev/null
	rm -rf $(DESTDIR)$(DOCDIR)

# --- hygiene -------------------------------------------------------------------------------

FORMAT_SRCS = $(shell git ls-files '*.c' '*.h' 2>/dev/null)

format:
	clang-format -i $(FORMAT_SRCS)

lint:
	clang-format --dry-run --Werror $(FORMAT_SRCS)
	cppcheck -q --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=unknownMacro --suppress=missingIncludeSystem \
		-D_GNU_SOURCE -Ilib -Iruntime $(LIB_SRCS) $(NETD_SRCS) $(NETDCTL_SRCS) $(CNI_SRCS) \
		$(RUNTIME_SRCS) $(GUEST_SRCS) $(BENCH_SRCS)

clean:
	rm -rf $(O)

help:
	@echo 'Targets:'
	@echo '  all        build netd, netdctl$(if $(CNI_SRCS),$(comma) task-eni)$(if $(RUNTIME_SRCS),$(comma) taskvm), units, man pages (default)'
	@echo '  bpf        build the eBPF objects and their skeletons ($(O)/ebpf/*.skel.h)'
	@echo '  check      install missing packages, build, run unit (also ASan+UBSan), fuzz and integration tests'
	@echo '  demo       install missing packages, build, run the demo in a test VPC of namespaces'
	@echo '  bench      run the benchmarks under bench/ (not part of check)'
	@echo '  vm         the task VM: guest kernel, modules and initramfs in $$(O)/vm (with tests)'
	@echo '  vm-kernel  fetch the guest kernel package again if Debian has a newer one'
	@echo '  deps       apt-get install the Debian packages that are missing'
	@echo '  install    install into $$(DESTDIR)$$(PREFIX): binaries, CNI plugin, man pages, systemd'
	@echo '             units, bash completions, platform manifests, LICENSE'
	@echo '  format     clang-format every C file; lint: check format, run cppcheck'
	@echo '  clean      remove $(O)/'
	@echo 'Variables:'
	@echo '  O=$(O)  V=1 (verbose)  WERROR=1  CC=$(CC)  CLANG=$(CLANG)  BPFTOOL=$(BPFTOOL)'
	@echo '  PREFIX=$(PREFIX)  DESTDIR=  CNIBINDIR=$(CNIBINDIR)  CNI_STATIC=$(CNI_STATIC) (static task-eni)'
	@echo '  UNITDIR=$(UNITDIR)  MANDIR=$(MANDIR)  BASHCOMPDIR=$(BASHCOMPDIR)  PANDOC=$(PANDOC)'
	@echo '  PLATFORMSDIR=$(PLATFORMSDIR)  VMDIR=$(VMDIR) (the agent'"'"'s default --vm-kernel, --vm-initrd)'

comma := ,

# (what scripts/build-rev.sh builds into $(O)/rev-* has dependency files of its own tree)
-include $(shell find $(O) -path '$(O)/rev-*' -prune -o -name '*.d' -print 2>/dev/null)
