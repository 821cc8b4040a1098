#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# make install DESTDIR=...: the binaries, the man pages (roff, built by pandoc at make time, that
# man renders without a warning), the systemd units (naming the paths of PREFIX, not DESTDIR),
# the bash completions, the platform manifests and the LICENSE, each where a packager expects
# it; uninstall removes them.
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
require_cmd man jq

dest=$(mktemp -d /tmp/tp-install.XXXXXX)
trap 'rm -rf "$dest"' EXIT

tmake()
{
        env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make --no-print-directory -C "$FABRIC_ROOT" O="$O" "$@"
}

check "make install DESTDIR=$dest" tmake DESTDIR="$dest" install
want="opt/cni/bin/task-eni
usr/local/bin/netdctl
usr/local/bin/taskvm
usr/local/lib/systemd/system/netd.service
usr/local/lib/systemd/system/taskvm-agent.service
usr/local/libexec/taskplane/taskvm-runtime
usr/local/sbin/netd
usr/local/share/bash-completion/completions/netdctl
usr/local/share/bash-completion/completions/taskvm
usr/local/share/doc/taskplane/LICENSE
usr/local/share/doc/taskplane/README.md
usr/local/share/man/man8/netd.8
usr/local/share/man/man8/netdctl.8
usr/local/share/man/man8/task-eni.8
usr/local/share/man/man8/taskvm.8
usr/local/share/taskvm/platforms/1.3.0.json
usr/local/share/taskvm/platforms/1.4.0.json"
check_eq "every file where it belongs (PREFIX=/usr/local)" "$want" "$(cd "$dest" && find . -type f | sed 's|^\./||' | sort)"
check_eq "the installed manifests load: taskvm platform list" "1.3.0 1.4.0" \
        "$("$dest/usr/local/bin/taskvm" -j platform list \
                --platforms-dir "$dest/usr/local/share/taskvm/platforms" | jq -r '.[].version' | xargs)"
check_eq "the programs are executable" "755 755 755 755 755" \
        "$(stat -c %a "$dest/usr/local/sbin/netd" "$dest/usr/local/bin/netdctl" \
                "$dest/usr/local/bin/taskvm" "$dest/usr/local/libexec/taskplane/taskvm-runtime" \
                "$dest/opt/cni/bin/task-eni" | xargs)"
# taskvm is on the path of every `taskvm run`: the agent's and the shim's libraries (libcurl,
# libarchive, libmicrohttpd, libsystemd: ~50 with theirs) are taskvm-runtime's alone.
# (libm is glibc's: with some CFLAGS a math function is called rather than inlined)
check_eq "taskvm links jansson and glibc alone" "ld-linux-x86-64.so.2 libc.so.6 libjansson.so.4" \
        "$(ldd "$dest/usr/local/bin/taskvm" | awk '$1 !~ /vdso|libm\.so/ {sub(".*/", "", $1); print $1}' |
                sort | xargs)"
check_match "taskvm-runtime has the rest" "libcurl.*libarchive|libarchive.*libcurl" \
        "$(ldd "$dest/usr/local/libexec/taskplane/taskvm-runtime" | xargs)"
# Installed, taskvm finds taskvm-runtime in LIBEXECDIR (not in this DESTDIR); in the build
# directory, beside itself (every test's `taskvm agent`).
if [[ ! -e /usr/local/libexec/taskplane/taskvm-runtime ]]; then
        out=$("$dest/usr/local/bin/taskvm" agent --help 2>&1) && rc=0 || rc=$?
        check_eq "taskvm agent, installed without its runtime: exit 1" 1 "$rc"
        check_match "... naming where it looked (LIBEXECDIR)" \
                "cannot find taskvm-runtime \\(/usr/local/libexec/taskplane/taskvm-runtime\\)" "$out"
fi
check_eq "the units name the paths of PREFIX, not of DESTDIR" \
        "/usr/local/sbin/netd /usr/local/bin/taskvm" \
        "$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$dest"/usr/local/lib/systemd/system/*.service | xargs)"
for page in netd netdctl task-eni taskvm; do
        f=$dest/usr/local/share/man/man8/$page.8
        check_match "$page(8) is roff with its title" "^\\.TH \"${page^^}\" \"8\"" "$(grep '^\.TH' "$f")"
        check_eq "$page(8) renders without a warning" "" \
                "$(MANWIDTH=80 man --warnings -l "$f" 2>&1 >/dev/null)"
done
check_eq "man finds them by name under the installed MANPATH" "$dest/usr/local/share/man/man8/netdctl.8" \
        "$(MANPATH=$dest/usr/local/share/man man -w netdctl)"
check_match "options keep their two hyphens (no smart dashes)" "--json" \
        "$(MANWIDTH=80 man -l "$dest/usr/local/share/man/man8/netdctl.8" 2>/dev/null)"
check_match "the LICENSE is the GPL, version 2" "GNU GENERAL PUBLIC LICENSE.*Version 2, June 1991" \
        "$(head -n 2 "$dest/usr/local/share/doc/taskplane/LICENSE" | xargs)"
check_eq "the LICENSE is the text the SPDX lines name (Debian's copy)" \
        "$(md5sum </usr/share/common-licenses/GPL-2)" "$(md5sum <"$FABRIC_ROOT/LICENSE")"

check "make uninstall DESTDIR=$dest" tmake DESTDIR="$dest" uninstall
check_eq "removes every file" "" "$(find "$dest" -type f)"
check_eq "... and the platforms and libexec directories" "" \
        "$(find "$dest" -path '*taskvm*' -o -path '*taskplane*')"

unit_dir=$(pkg-config --variable=systemdsystemunitdir systemd 2>/dev/null || echo /lib/systemd/system)
check_match "PREFIX=/usr puts units in systemd's own directory ($unit_dir, from pkg-config)" \
        "UNITDIR=$unit_dir " "$(tmake -s PREFIX=/usr help)"
check_match "... and completions in bash-completion's" \
        "BASHCOMPDIR=/usr/share/bash-completion/completions" "$(tmake -s PREFIX=/usr help)"
tap_done
