#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
#
# The test fabric: a private "host" network namespace where netd runs, a test VPC (a bridge in
# its own namespace, gateway 198.18.0.1/16) and ENIs (veth pairs, host end in the host namespace,
# peer on the VPC bridge). Shared by the demo, the integration tests and the benchmarks.
#
# As a library:
#       source tests/fabric.sh
#       fabric_up 3                     # host + vpc namespaces, ENIs 1..3; trap fabric_down EXIT
#       fabric_service_start            # vpcd on 198.18.0.1: HTTP :80, UDP echo :7, DNS :53
#       fabric_registry_start           # docker-registry on 198.18.0.1:5000 (registry.vpc.test)
#       fabric_image_build app v1 DIR   # busybox-static + DIR, built with umoci, pushed there
#       fabric_syslog_start             # rsyslogd on 198.18.0.1:5514 (RFC 5424 over TCP)
#       netd_start                      # netd in the host namespace on a temporary socket
#       netdctl eni show
#       ns=$(fabric_task_ns t1)         # /run/netns/${FABRIC_PREFIX}-t1, lo up
#       fabric_down                     # idempotent; also run by the trap
#
# As a command:
#       eval "$(tests/fabric.sh up 3)"  # prints the variables (no trap: tear down yourself)
#       tests/fabric.sh down PREFIX     # remove everything of that prefix (also after a crash)
#       tests/fabric.sh leftovers PREFIX
#
# Variables set by fabric_up (ENI arrays are 1-based):
#       FABRIC_PREFIX (tp + 6 hex), FABRIC_ID (the 6 hex), FABRIC_RUN (temporary dir under /tmp),
#       FABRIC_HOST_NS, FABRIC_VPC_NS (netns names), FABRIC_HOST_NS_PATH, FABRIC_VPC_NS_PATH,
#       FABRIC_GATEWAY=198.18.0.1, FABRIC_SUBNET=198.18.0.0/16, FABRIC_PREFIXLEN=16,
#       FABRIC_MTU=9001 (VPC side), FABRIC_ENI_COUNT, FABRIC_ENI_NAMES[i], FABRIC_ENI_MACS[i],
#       FABRIC_ENI_IPS[i] (a free VPC address the test may give ENI i), FABRIC_ENI_PEERS[i].
# Set by netd_start: NETD_PID, NETD_SOCKET, NETD_RUN_DIR, NETD_STATE_DIR (its --state-dir: the
# ENI registrations), NETD_LOG, NETD_BPFFS (netd's pins: a bpffs netd mounts under FABRIC_RUN,
# so that runs never share maps; fabric_down unmounts it).
# Set by fabric_service_start: FABRIC_SERVICE_PID, FABRIC_HTTP_URL, FABRIC_UDP_PORT,
# FABRIC_DNS (198.18.0.1: the VPC's nameserver, which alone knows the names FABRIC_DNS_NAMES,
# all 198.18.0.1: registry.vpc.test, auth.vpc.test, syslog.vpc.test, secrets.vpc.test).
# fabric_service_start --secrets "$FABRIC_GATEWAY:$FABRIC_SECRETS_PORT" --secrets-file FILE adds
# the VPC's Secrets Manager / SSM endpoint (tests/tools/vpcd.c), http://secrets.vpc.test:8080.
# Set by fabric_registry_start: FABRIC_REGISTRY (198.18.0.1:5000), FABRIC_REGISTRY_NAME
# (registry.vpc.test:5000, the same through the VPC's DNS).
# Set by fabric_syslog_start: FABRIC_SYSLOG_PID, FABRIC_SYSLOG_DIR ($FABRIC_RUN/syslog),
# FABRIC_SYSLOG_FILE (what the collector received, one JSON object per message: pri, severity,
# facility, time, host, app, procid, msgid, sd, msg; kept across restarts),
# FABRIC_SYSLOG_ENDPOINT (tcp://198.18.0.1:5514, an awslogs-endpoint).
# Knobs: O (build dir, default build/ at the repo root), FABRIC_NO_TRAP=1, FABRIC_IPV6=1 (keep
# IPv6 on in the fabric's namespaces; off by default so that no ND/MLD noise reaches counters;
# for the same reason the VPC bridge does no multicast snooping, which would make it join
# 224.0.0.106 and flood an IGMP report to every ENI whenever its carrier comes up),
# FABRIC_PREFIX_LOG (a file fabric_up appends its prefix to; set by tests/run.sh).
#
# Arrays and variables set by a function are lost when it runs in a subshell ($(...)); the
# teardown does not depend on them: it goes by prefix. fabric_eni_name/_mac/_ip I print the
# values for ENI I and work anywhere.

if [[ -z ${_FABRIC_SH_LOADED:-} ]]; then
        _FABRIC_SH_LOADED=1

        FABRIC_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
        O=${O:-build}
        [[ $O == /* ]] || O=$FABRIC_ROOT/$O
        export O FABRIC_ROOT

        FABRIC_GATEWAY=198.18.0.1
        FABRIC_SUBNET=198.18.0.0/16
        FABRIC_PREFIXLEN=16
        FABRIC_MTU=9001
        FABRIC_HTTP_PORT=80
        FABRIC_UDP_PORT=7
        FABRIC_DNS_PORT=53
        FABRIC_DNS_NAMES="registry.vpc.test auth.vpc.test syslog.vpc.test secrets.vpc.test"
        FABRIC_REGISTRY_PORT=5000
        FABRIC_SYSLOG_PORT=5514
        FABRIC_SECRETS_PORT=8080
        export FABRIC_GATEWAY FABRIC_SUBNET FABRIC_PREFIXLEN FABRIC_MTU FABRIC_HTTP_PORT \
                FABRIC_UDP_PORT FABRIC_DNS_PORT FABRIC_DNS_NAMES FABRIC_REGISTRY_PORT \
                FABRIC_SYSLOG_PORT FABRIC_SECRETS_PORT
fi

_fabric_err()
{
        echo "fabric: $*" >&2
}

# Microseconds since the epoch, without forking.
_fabric_now()
{
        local t=${EPOCHREALTIME/./}

        echo "${t#0}"
}

# _fabric_wait SECONDS CMD...: run CMD until it succeeds, at most SECONDS (e.g. 5 or 0.5).
_fabric_wait()
{
        local secs=$1 int frac end
        shift

        int=${secs%%.*}
        frac=000000
        [[ $secs == *.* ]] && frac=${secs#*.}000000
        end=$(($(_fabric_now) + ${int:-0} * 1000000 + 10#${frac:0:6}))
        while ! "$@"; do
                (($(_fabric_now) < end)) || return 1
                sleep 0.05
        done
}

# True if PID exists and is not a zombie.
_fabric_alive()
{
        local pid=$1 stat

        [[ -n $pid ]] || return 1
        stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
        stat=${stat##*) }
        [[ ${stat%% *} != Z ]]
}

# _fabric_term TIMEOUT PID...: SIGTERM, wait up to TIMEOUT seconds, then SIGKILL.
# Returns 1 if SIGKILL was needed.
_fabric_term()
{
        local timeout=$1 pid left rc=0
        shift

        (($#)) || return 0
        kill -TERM "$@" 2>/dev/null
        _fabric_wait "$timeout" _fabric_none_alive "$@" && return 0
        left=()
        for pid in "$@"; do
                _fabric_alive "$pid" && left+=("$pid")
        done
        if ((${#left[@]})); then
                _fabric_err "SIGKILL to ${left[*]} (still running after SIGTERM)"
                kill -KILL "${left[@]}" 2>/dev/null
                _fabric_wait 2 _fabric_none_alive "${left[@]}"
                rc=1
        fi
        return $rc
}

_fabric_none_alive()
{
        local pid

        for pid in "$@"; do
                _fabric_alive "$pid" && return 1
        done
        return 0
}

_fabric_require_up()
{
        if [[ -z ${FABRIC_PREFIX:-} || ! -e /run/netns/${FABRIC_PREFIX}-host ]]; then
                _fabric_err "no fabric: call fabric_up first"
                return 1
        fi
}

# Values for ENI number I (1..65535), computed from FABRIC_ID alone.
fabric_eni_name()
{
        printf 'eni-%s%04x\n' "${FABRIC_ID:0:4}" "$1"
}

fabric_eni_mac()
{
        printf '02:%s:%s:%s:%02x:%02x\n' "${FABRIC_ID:0:2}" "${FABRIC_ID:2:2}" "${FABRIC_ID:4:2}" \
                $(($1 >> 8)) $(($1 & 255))
}

# 198.18.1.1 for ENI 1, 198.18.1.255, 198.18.2.0, ...: never the gateway or the subnet ends.
fabric_eni_ip()
{
        echo "198.18.$((($1 >> 8) + 1)).$(($1 & 255))"
}

_fabric_sysctls()
{
        [[ ${FABRIC_IPV6:-0} == 1 ]] && return 0
        nsenter --net="$1" sysctl -q -e -w net.ipv6.conf.all.disable_ipv6=1 \
                net.ipv6.conf.default.disable_ipv6=1 >/dev/null
}

_fabric_netns_add()
{
        local name=$1 path=/run/netns/$1

        ip netns add "$name" || return 1
        echo "$name" >>"$FABRIC_RUN/netns"
        _fabric_sysctls "$path" && ip -n "$name" link set lo up
}

# _fabric_eni_create FIRST LAST: ENIs FIRST..LAST with two ip -batch runs.
_fabric_eni_create()
{
        local first=$1 last=$2 i name mac hb vb

        hb=$FABRIC_RUN/eni-host.batch
        vb=$FABRIC_RUN/eni-vpc.batch
        : >"$hb"
        : >"$vb"
        for ((i = first; i <= last; i++)); do
                printf -v name 'eni-%s%04x' "${FABRIC_ID:0:4}" "$i"
                printf -v mac '02:%s:%s:%s:%02x:%02x' "${FABRIC_ID:0:2}" "${FABRIC_ID:2:2}" \
                        "${FABRIC_ID:4:2}" $((i >> 8)) $((i & 255))
                printf 'link add %s address %s type veth peer name vp%d netns %s mtu %d\n' \
                        "$name" "$mac" "$i" "$FABRIC_VPC_NS" "$FABRIC_MTU" >>"$hb"
                printf 'link set vp%d master br0 up\n' "$i" >>"$vb"
                FABRIC_ENI_NAMES[i]=$name
                FABRIC_ENI_MACS[i]=$mac
                FABRIC_ENI_IPS[i]=198.18.$(((i >> 8) + 1)).$((i & 255))
                FABRIC_ENI_PEERS[i]=vp$i
        done
        ip -n "$FABRIC_HOST_NS" -batch "$hb" || return 1
        ip -n "$FABRIC_VPC_NS" -batch "$vb" || return 1
        rm -f "$hb" "$vb"
        ((last > ${FABRIC_ENI_COUNT:-0})) && FABRIC_ENI_COUNT=$last
        export FABRIC_ENI_COUNT
        return 0
}

# fabric_up N: create the host and VPC namespaces and ENIs 1..N.
_fabric_up_impl()
{
        local n=${1:-1} id cmd tries=0

        if ! [[ $n =~ ^[0-9]+$ ]] || ((n > 65535)); then
                _fabric_err "fabric_up: ENI count must be 0..65535, not '$n'"
                return 1
        fi
        if [[ -n ${FABRIC_PREFIX:-} ]]; then
                _fabric_err "fabric_up: a fabric ($FABRIC_PREFIX) is already up"
                return 1
        fi
        if ((EUID != 0)); then
                _fabric_err "fabric_up: needs root"
                return 1
        fi
        for cmd in ip nsenter ss sysctl; do
                if ! command -v "$cmd" >/dev/null; then
                        _fabric_err "fabric_up: '$cmd' is missing (scripts/deps.sh)"
                        return 1
                fi
        done

        while :; do
                id=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
                compgen -G "/run/netns/tp$id-*" >/dev/null || break
                ((++tries < 10)) || return 1
        done
        FABRIC_ID=$id
        FABRIC_PREFIX=tp$id
        FABRIC_HOST_NS=$FABRIC_PREFIX-host
        FABRIC_VPC_NS=$FABRIC_PREFIX-vpc
        FABRIC_HOST_NS_PATH=/run/netns/$FABRIC_HOST_NS
        FABRIC_VPC_NS_PATH=/run/netns/$FABRIC_VPC_NS
        FABRIC_ENI_COUNT=0
        FABRIC_ENI_NAMES=()
        FABRIC_ENI_MACS=()
        FABRIC_ENI_IPS=()
        FABRIC_ENI_PEERS=()
        export FABRIC_ID FABRIC_PREFIX FABRIC_HOST_NS FABRIC_VPC_NS FABRIC_HOST_NS_PATH \
                FABRIC_VPC_NS_PATH FABRIC_ENI_COUNT
        if ! FABRIC_RUN=$(mktemp -d "/tmp/$FABRIC_PREFIX.XXXXXX"); then
                unset FABRIC_PREFIX
                return 1
        fi
        export FABRIC_RUN
        # tests/run.sh checks that nothing of each prefix is left after the script.
        [[ -n ${FABRIC_PREFIX_LOG:-} ]] && echo "$FABRIC_PREFIX" >>"$FABRIC_PREFIX_LOG"

        if [[ ${FABRIC_NO_TRAP:-0} != 1 ]]; then
                trap fabric_down EXIT
                trap 'exit 129' HUP
                trap 'exit 130' INT
                trap 'exit 143' TERM
        fi

        if ! _fabric_netns_add "$FABRIC_HOST_NS" || ! _fabric_netns_add "$FABRIC_VPC_NS" ||
                ! printf '%s\n' "link add br0 mtu $FABRIC_MTU type bridge mcast_snooping 0" \
                        "addr add $FABRIC_GATEWAY/$FABRIC_PREFIXLEN dev br0" "link set br0 up" |
                ip -n "$FABRIC_VPC_NS" -batch - ||
                ! { ((n == 0)) || _fabric_eni_create 1 "$n"; }; then
                _fabric_err "fabric_up: setup failed, tearing down"
                fabric_down
                return 1
        fi
        return 0
}

# fabric_eni_add I: add ENI number I (e.g. while an attach is already waiting for it).
_fabric_eni_add_impl()
{
        local i=${1:-}

        _fabric_require_up || return 1
        if ! [[ $i =~ ^[0-9]+$ ]] || ((i < 1 || i > 65535)); then
                _fabric_err "fabric_eni_add: ENI number must be 1..65535, not '$i'"
                return 1
        fi
        _fabric_eni_create "$i" "$i"
}

# fabric_task_ns NAME: create netns ${FABRIC_PREFIX}-NAME with lo up and print its path.
_fabric_task_ns_impl()
{
        local name=${1:-}

        _fabric_require_up || return 1
        if ! [[ $name =~ ^[A-Za-z0-9_.-]+$ ]]; then
                _fabric_err "fabric_task_ns: bad name '$name'"
                return 1
        fi
        _fabric_netns_add "$FABRIC_PREFIX-$name" || return 1
        echo "/run/netns/$FABRIC_PREFIX-$name"
}

# fabric_nsexec NAME CMD...: run CMD in netns ${FABRIC_PREFIX}-NAME (host, vpc or a task's),
# with nsenter --net only, so /sys and the mount namespace stay the caller's.
fabric_nsexec()
{
        local ns=/run/netns/$FABRIC_PREFIX-$1
        shift

        nsenter --net="$ns" -- "$@"
}

_fabric_listening()
{
        [[ -n $(nsenter --net="$FABRIC_VPC_NS_PATH" ss -Hltn "sport = :$FABRIC_HTTP_PORT") ]] &&
                [[ -n $(nsenter --net="$FABRIC_VPC_NS_PATH" ss -Hlun "sport = :$FABRIC_UDP_PORT") ]] &&
                [[ -n $(nsenter --net="$FABRIC_VPC_NS_PATH" ss -Hlun "sport = :$FABRIC_DNS_PORT") ]]
}

_fabric_service_ready()
{
        _fabric_alive "$FABRIC_SERVICE_PID" || return 0
        _fabric_listening
}

# fabric_service_start [VPCD ARGS...]: vpcd in the VPC on 198.18.0.1, HTTP :80, UDP echo :7
# and DNS :53 for the names of FABRIC_DNS_NAMES.
_fabric_service_start_impl()
{
        local vpcd=$O/tests/tools/vpcd name names=()

        _fabric_require_up || return 1
        if [[ ! -x $vpcd ]]; then
                _fabric_err "$vpcd is not built (make $vpcd)"
                return 1
        fi
        if _fabric_alive "${FABRIC_SERVICE_PID:-}"; then
                _fabric_err "fabric_service_start: already running ($FABRIC_SERVICE_PID)"
                return 1
        fi
        for name in $FABRIC_DNS_NAMES; do
                names+=(--dns-name "$name=$FABRIC_GATEWAY")
        done
        nsenter --net="$FABRIC_VPC_NS_PATH" -- "$vpcd" \
                --http "$FABRIC_GATEWAY:$FABRIC_HTTP_PORT" \
                --udp "$FABRIC_GATEWAY:$FABRIC_UDP_PORT" \
                --dns "$FABRIC_GATEWAY:$FABRIC_DNS_PORT" "${names[@]}" "$@" \
                </dev/null >>"$FABRIC_RUN/vpcd.log" 2>&1 &
        FABRIC_SERVICE_PID=$!
        FABRIC_HTTP_URL=http://$FABRIC_GATEWAY:$FABRIC_HTTP_PORT/
        FABRIC_DNS=$FABRIC_GATEWAY
        export FABRIC_SERVICE_PID FABRIC_HTTP_URL FABRIC_DNS

        if ! _fabric_wait 5 _fabric_service_ready || ! _fabric_alive "$FABRIC_SERVICE_PID"; then
                _fabric_err "vpcd did not start; its log:"
                sed 's/^/  /' "$FABRIC_RUN/vpcd.log" >&2
                fabric_service_stop
                return 1
        fi
}

_fabric_service_stop_impl()
{
        [[ -n ${FABRIC_SERVICE_PID:-} ]] || return 0
        _fabric_term 5 "$FABRIC_SERVICE_PID"
        wait "$FABRIC_SERVICE_PID" 2>/dev/null
        unset FABRIC_SERVICE_PID
        return 0
}

# --- registry and images ---------------------------------------------------------------------

_fabric_port_listening()
{
        [[ -n $(nsenter --net="$FABRIC_VPC_NS_PATH" ss -Hltn "sport = :$1") ]]
}

# fabric_registry_start [--port PORT] [--htpasswd FILE] [--token REALM SERVICE ISSUER CERT]:
# docker-registry in the VPC namespace on 198.18.0.1:PORT (5000), plain HTTP. Every registry of
# the fabric serves the same storage ($FABRIC_RUN/registry), so that an image pushed to one is
# in all; each logs (access log included) to $FABRIC_RUN/registry-PORT.log. --htpasswd: Basic
# auth against a bcrypt htpasswd file; --token: Bearer tokens from REALM (a URL), for SERVICE,
# issued by ISSUER and signed by the key of the PEM certificate CERT.
_fabric_registry_start_impl()
{
        local port=$FABRIC_REGISTRY_PORT conf auth="" log pid

        _fabric_require_up || return 1
        if ! command -v docker-registry >/dev/null; then
                _fabric_err "docker-registry is missing (scripts/deps.sh)"
                return 1
        fi
        while (($#)); do
                case $1 in
                --port)
                        port=$2
                        shift 2
                        ;;
                --htpasswd)
                        printf -v auth 'auth:\n  htpasswd:\n    realm: fabric\n    path: %s\n' "$2"
                        shift 2
                        ;;
                --token)
                        (($# >= 5)) || { _fabric_err "fabric_registry_start: --token REALM SERVICE ISSUER CERT"; return 1; }
                        printf -v auth 'auth:\n  token:\n    realm: %s\n    service: %s\n    issuer: %s\n    rootcertbundle: %s\n' \
                                "$2" "$3" "$4" "$5"
                        shift 5
                        ;;
                *)
                        _fabric_err "fabric_registry_start: unknown option '$1'"
                        return 1
                        ;;
                esac
        done
        if _fabric_port_listening "$port"; then
                _fabric_err "fabric_registry_start: port $port is taken"
                return 1
        fi
        mkdir -p "$FABRIC_RUN/registry" || return 1
        conf=$FABRIC_RUN/registry-$port.yml
        log=$FABRIC_RUN/registry-$port.log
        cat >"$conf" <<-EOF || return 1
	version: 0.1
	log:
	  level: warn
	storage:
	  filesystem:
	    rootdirectory: $FABRIC_RUN/registry
	  delete:
	    enabled: true
	  maintenance:
	    uploadpurging:
	      enabled: false
	http:
	  addr: $FABRIC_GATEWAY:$port
	  secret: fabric-$FABRIC_ID
	$auth
	EOF
        nsenter --net="$FABRIC_VPC_NS_PATH" -- docker-registry serve "$conf" \
                </dev/null >>"$log" 2>&1 &
        pid=$!
        if ! _fabric_wait 10 _fabric_port_listening "$port" || ! _fabric_alive "$pid"; then
                _fabric_err "docker-registry did not start on port $port; its log:"
                sed 's/^/  /' "$log" >&2
                _fabric_term 3 "$pid"
                return 1
        fi
        if [[ -z ${FABRIC_REGISTRY:-} ]]; then
                FABRIC_REGISTRY=$FABRIC_GATEWAY:$port
                FABRIC_REGISTRY_NAME=registry.vpc.test:$port
                export FABRIC_REGISTRY FABRIC_REGISTRY_NAME
        fi
}

# Push the OCI layout DIR's tag TAG to $FABRIC_REGISTRY/REPO:TAG (the image or index); print
# the pushed manifest's digest.
fabric_image_push()
{
        local dir=$1 tag=$2 repo=$3 all=() rc=0

        [[ $(jq -r --arg t "$tag" '.manifests[] | select(.annotations["org.opencontainers.image.ref.name"] == $t) | .mediaType' \
                "$dir/index.json") == *index* ]] && all=(--all)
        mkdir -p "$FABRIC_RUN/tmp" || return 1
        TMPDIR=$FABRIC_RUN/tmp nsenter --net="$FABRIC_VPC_NS_PATH" -- skopeo --insecure-policy \
                copy --quiet "${all[@]}" --dest-tls-verify=false \
                --digestfile "$FABRIC_RUN/tmp/digest" "oci:$dir:$tag" \
                "docker://$FABRIC_REGISTRY/$repo:$tag" >&2 || rc=$?
        ((rc == 0)) && cat "$FABRIC_RUN/tmp/digest" && echo
        rm -f "$FABRIC_RUN/tmp/digest"
        return $rc
}

# fabric_image_build [--arch ARCH] REPO TAG [DIR | LAYER.tar]...: build an image offline with
# umoci, push it to $FABRIC_REGISTRY/REPO:TAG with skopeo and print its manifest digest. Its
# config says linux/ARCH (amd64; the contents are amd64 whatever it says). Layer 1 is busybox
# (busybox-static) as /bin/busybox with all its applets as symlinks in /bin, and /etc/passwd
# and /etc/group for root; then one layer per argument: a directory's contents (as the
# directory has them: modes, owners) through umoci repack, a tar as it is through umoci raw
# add-layer. Config: Cmd ["/bin/sh"], Env PATH=/bin. The OCI layout stays in
# $FABRIC_RUN/oci/REPO under tag TAG.
_fabric_image_build_impl()
{
        local arch=amd64 repo tag dir work busybox a

        if [[ ${1:-} == --arch ]]; then
                arch=$2
                shift 2
        fi
        repo=$1 tag=$2
        shift 2

        _fabric_require_up || return 1
        [[ -n ${FABRIC_REGISTRY:-} ]] || { _fabric_err "fabric_image_build: no registry (fabric_registry_start)"; return 1; }
        for a in umoci skopeo jq; do
                command -v "$a" >/dev/null || { _fabric_err "'$a' is missing (scripts/deps.sh)"; return 1; }
        done
        busybox=$(command -v busybox) || { _fabric_err "busybox is missing"; return 1; }
        dir=$FABRIC_RUN/oci/${repo//\//_}
        work=$FABRIC_RUN/oci/work
        rm -rf "$work"
        if [[ ! -d $dir ]]; then
                mkdir -p "${dir%/*}" && umoci init --layout "$dir" || return 1
        fi
        umoci new --image "$dir:$tag" &&
                umoci unpack --image "$dir:$tag" "$work" >/dev/null || return 1
        mkdir -p "$work/rootfs/bin" "$work/rootfs/etc" "$work/rootfs/tmp" || return 1
        chmod 1777 "$work/rootfs/tmp"
        cp "$busybox" "$work/rootfs/bin/busybox" || return 1
        for a in $("$busybox" --list); do
                [[ $a == busybox ]] || ln -sf busybox "$work/rootfs/bin/$a"
        done
        echo 'root:x:0:0:root:/root:/bin/sh' >"$work/rootfs/etc/passwd"
        echo 'root:x:0:' >"$work/rootfs/etc/group"
        umoci repack --image "$dir:$tag" "$work" >/dev/null || return 1
        rm -rf "$work"
        for a in "$@"; do
                if [[ -d $a ]]; then
                        umoci unpack --image "$dir:$tag" "$work" >/dev/null &&
                                cp -a "$a/." "$work/rootfs/" &&
                                umoci repack --image "$dir:$tag" "$work" >/dev/null || return 1
                        rm -rf "$work"
                else
                        umoci raw add-layer --image "$dir:$tag" "$a" || return 1
                fi
        done
        umoci config --image "$dir:$tag" --architecture "$arch" --config.cmd /bin/sh \
                --config.env PATH=/bin || return 1
        fabric_image_push "$dir" "$tag" "$repo"
}

# --- syslog collector ------------------------------------------------------------------------
#
# rsyslogd in the VPC namespace with a configuration of its own: only imtcp on
# 198.18.0.1:5514 (octet-counted framing, messages up to 64 KiB) and files under
# FABRIC_SYSLOG_DIR. No imuxsock or imklog (so neither /dev/log nor the kernel log is touched),
# its pid file there (-i), its own messages processed by itself into a file there (not sent
# to the system's syslog socket), no DNS lookups of its peers.

_fabric_syslog_conf()
{
        local dir=$1

        cat <<EOF
# The test VPC's syslog collector (tests/fabric.sh). Nothing outside $dir.
global(workDirectory="$dir" processInternalMessages="on" net.enableDNS="off"
       maxMessageSize="64k" parser.escapeControlCharactersOnReceive="off")
main_queue(queue.timeoutShutdown="10000")
module(load="imtcp" maxSessions="64")
template(name="tp_json" type="list" option.jsonf="on") {
        property(outname="pri" name="pri" format="jsonf")
        property(outname="severity" name="syslogseverity-text" format="jsonf")
        property(outname="facility" name="syslogfacility-text" format="jsonf")
        property(outname="time" name="timereported" dateFormat="rfc3339" format="jsonf")
        property(outname="host" name="hostname" format="jsonf")
        property(outname="app" name="app-name" format="jsonf")
        property(outname="procid" name="procid" format="jsonf")
        property(outname="msgid" name="msgid" format="jsonf")
        property(outname="sd" name="structured-data" format="jsonf")
        property(outname="msg" name="msg" format="jsonf")
}
ruleset(name="tp_vpc") {
        action(type="omfile" file="$dir/messages.jsonl" template="tp_json")
}
input(type="imtcp" address="$FABRIC_GATEWAY" port="$FABRIC_SYSLOG_PORT" ruleset="tp_vpc"
      supportOctetCountedFraming="on")
action(type="omfile" file="$dir/rsyslogd.log")
EOF
}

_fabric_syslog_listening()
{
        [[ -n $(nsenter --net="$FABRIC_VPC_NS_PATH" ss -Hltn "sport = :$FABRIC_SYSLOG_PORT") ]]
}

_fabric_syslog_ready()
{
        _fabric_alive "$FABRIC_SYSLOG_PID" || return 0
        _fabric_syslog_listening
}

# fabric_syslog_start: the collector, appending to FABRIC_SYSLOG_FILE.
_fabric_syslog_start_impl()
{
        local dir

        _fabric_require_up || return 1
        if ! command -v rsyslogd >/dev/null; then
                _fabric_err "fabric_syslog_start: rsyslogd is missing (scripts/deps.sh)"
                return 1
        fi
        if _fabric_alive "${FABRIC_SYSLOG_PID:-}"; then
                _fabric_err "fabric_syslog_start: already running ($FABRIC_SYSLOG_PID)"
                return 1
        fi
        dir=$FABRIC_RUN/syslog
        mkdir -p "$dir" || return 1
        _fabric_syslog_conf "$dir" >"$dir/rsyslog.conf" || return 1
        FABRIC_SYSLOG_DIR=$dir
        FABRIC_SYSLOG_FILE=$dir/messages.jsonl
        FABRIC_SYSLOG_ENDPOINT=tcp://$FABRIC_GATEWAY:$FABRIC_SYSLOG_PORT
        touch "$FABRIC_SYSLOG_FILE"
        echo "--- fabric_syslog_start ($(date '+%T.%N'))" >>"$dir/rsyslogd.out"
        nsenter --net="$FABRIC_VPC_NS_PATH" -- rsyslogd -n -f "$dir/rsyslog.conf" \
                -i "$dir/rsyslogd.pid" </dev/null >>"$dir/rsyslogd.out" 2>&1 &
        FABRIC_SYSLOG_PID=$!
        export FABRIC_SYSLOG_PID FABRIC_SYSLOG_DIR FABRIC_SYSLOG_FILE FABRIC_SYSLOG_ENDPOINT

        if ! _fabric_wait 10 _fabric_syslog_ready || ! _fabric_alive "$FABRIC_SYSLOG_PID"; then
                _fabric_err "rsyslogd did not start; its output:"
                sed 's/^/  /' "$dir/rsyslogd.out" "$dir/rsyslogd.log" 2>/dev/null >&2
                fabric_syslog_stop kill
                return 1
        fi
}

# Bytes the collector's TCP acknowledged and rsyslogd has not read yet.
_fabric_syslog_unread()
{
        nsenter --net="$FABRIC_VPC_NS_PATH" ss -Htn state established \
                "sport = :$FABRIC_SYSLOG_PORT" | awk '{ n += $1 } END { print n + 0 }'
}

_fabric_syslog_read_all()
{
        [[ $(_fabric_syslog_unread) == 0 ]]
}

# fabric_syslog_stop [graceful|term|kill]: stop the collector.
#   graceful (the default), as a collector behind a load balancer is taken out: new
#     connections are refused and no more data is taken in (nftables in the VPC namespace),
#     rsyslogd reads what its TCP acknowledged (the sockets' Recv-Q falls to 0), then SIGTERM:
#     it writes out what it read and exits. Nothing acknowledged is lost.
#   term: SIGTERM alone; rsyslogd then loses what its TCP acknowledged and it had not read
#     yet (docs/logs.md).
#   kill: SIGKILL.
_fabric_syslog_stop_impl()
{
        local mode=${1:-graceful} pid=${FABRIC_SYSLOG_PID:-} rc=0

        [[ -n $pid ]] || return 0
        case $mode in
        graceful | term | kill) ;;
        *)
                _fabric_err "fabric_syslog_stop: the mode is graceful, term or kill, not '$mode'"
                return 1
                ;;
        esac
        if [[ $mode == graceful ]] && _fabric_alive "$pid"; then
                printf '%s\n' "table inet tp_syslog {" " chain input {" \
                        "  type filter hook input priority -10; policy accept;" \
                        "  tcp dport $FABRIC_SYSLOG_PORT tcp flags & (syn | ack) == syn reject with tcp reset" \
                        "  tcp dport $FABRIC_SYSLOG_PORT drop" " }" "}" |
                        nsenter --net="$FABRIC_VPC_NS_PATH" nft -f - || rc=1
                _fabric_wait 10 _fabric_syslog_read_all || rc=1
        fi
        if [[ $mode == kill ]]; then
                kill -KILL "$pid" 2>/dev/null
                _fabric_wait 5 _fabric_none_alive "$pid" || rc=1
        elif _fabric_alive "$pid"; then
                _fabric_term 15 "$pid" || rc=1
        fi
        wait "$pid" 2>/dev/null
        if [[ $mode == graceful ]]; then
                nsenter --net="$FABRIC_VPC_NS_PATH" nft delete table inet tp_syslog 2>/dev/null
        fi
        unset FABRIC_SYSLOG_PID
        return $rc
}

# fabric_syslog_restart [graceful|term|kill]: stop (graceful by default), start again.
_fabric_syslog_restart_impl()
{
        fabric_syslog_stop "$@" || return 1
        fabric_syslog_start
}

# --- netd ------------------------------------------------------------------------------------

_netd_listening()
{
        nsenter --net="$FABRIC_HOST_NS_PATH" ss -Hxln 2>/dev/null | grep -qF " $NETD_SOCKET "
}

_netd_ready()
{
        _fabric_alive "$NETD_PID" || return 0
        _netd_listening
}

# netd_start [ARGS...]: netd in the host namespace, on $FABRIC_RUN/netd.sock, log in NETD_LOG,
# counter maps pinned in NETD_BPFFS ($FABRIC_RUN/bpf).
# A stale socket file from a killed netd is left in place: netd must cope with it.
_netd_start_impl()
{
        local netd=$O/netd

        _fabric_require_up || return 1
        if [[ ! -x $netd ]]; then
                _fabric_err "$netd is not built (make)"
                return 1
        fi
        if _fabric_alive "${NETD_PID:-}"; then
                _fabric_err "netd_start: netd is already running ($NETD_PID)"
                return 1
        fi
        NETD_SOCKET=$FABRIC_RUN/netd.sock
        NETD_RUN_DIR=$FABRIC_RUN/run
        NETD_STATE_DIR=$FABRIC_RUN/state
        NETD_LOG=$FABRIC_RUN/netd.log
        NETD_BPFFS=$FABRIC_RUN/bpf
        export NETD_SOCKET NETD_RUN_DIR NETD_STATE_DIR NETD_LOG NETD_BPFFS

        echo "--- netd_start $* ($(date '+%T.%N'))" >>"$NETD_LOG"
        nsenter --net="$FABRIC_HOST_NS_PATH" -- "$netd" --socket "$NETD_SOCKET" \
                --run-dir "$NETD_RUN_DIR" --state-dir "$NETD_STATE_DIR" --bpffs "$NETD_BPFFS" \
                --log-level debug "$@" \
                </dev/null >>"$NETD_LOG" 2>&1 &
        NETD_PID=$!
        export NETD_PID

        if ! _fabric_wait "${NETD_START_TIMEOUT:-5}" _netd_ready || ! _fabric_alive "$NETD_PID"
        then
                _fabric_err "netd did not start listening on $NETD_SOCKET; the end of its log:"
                tail -n 40 "$NETD_LOG" | sed 's/^/  /' >&2
                netd_stop >/dev/null 2>&1
                return 1
        fi
}

# netd_stop: SIGTERM, wait (NETD_STOP_TIMEOUT, 10 s), then SIGKILL. Returns netd's exit status
# (0 for a clean exit), 1 if it had to be killed, 0 if it was not running.
_netd_stop_impl()
{
        local pid=${NETD_PID:-} rc=0

        [[ -n $pid ]] || return 0
        if _fabric_alive "$pid"; then
                _fabric_term "${NETD_STOP_TIMEOUT:-10}" "$pid" || rc=1
        fi
        unset NETD_PID
        if ((rc == 0)); then
                wait "$pid" 2>/dev/null || rc=$?
                ((rc == 127)) && rc=0   # not our child: status unknown
        else
                wait "$pid" 2>/dev/null
        fi
        return $rc
}

# netd_kill9: SIGKILL, no chance to clean up (the restart tests).
_netd_kill9_impl()
{
        local pid=${NETD_PID:-}

        [[ -n $pid ]] || return 0
        kill -KILL "$pid" 2>/dev/null
        _fabric_wait 5 _fabric_none_alive "$pid"
        wait "$pid" 2>/dev/null
        unset NETD_PID
        return 0
}

netdctl()
{
        "$O/netdctl" --socket "${NETD_SOCKET:-$FABRIC_RUN/netd.sock}" "$@"
}

# --- teardown --------------------------------------------------------------------------------

# Remove everything of PREFIX: processes in its namespaces, mounts under its temporary
# directories, loop devices backed by files there, cgroups named PREFIX, the namespaces (and with
# them every link in them), the directories, and /etc/netns/PREFIX-* (netd's resolv.conf of a
# namespace).
_fabric_teardown()
{
        local prefix=$1 f ns pid pids=() names=() dirs=() mnts=() mnt

        [[ $prefix =~ ^tp[0-9a-f]{6}$ ]] || { _fabric_err "bad prefix '$prefix'"; return 1; }

        for f in /run/netns/"$prefix"-*; do
                [[ -e $f ]] && names+=("${f##*/}")
        done
        for ns in "${names[@]}"; do
                for pid in $(ip netns pids "$ns" 2>/dev/null); do
                        [[ $pid == "$$" || $pid == "$BASHPID" ]] || pids+=("$pid")
                done
        done
        _fabric_term 3 "${pids[@]}" || true

        for f in /tmp/"$prefix".*; do
                [[ -d $f ]] && dirs+=("$f")
        done
        # Mount points under our directories (bpffs, bind-mounted namespaces), deepest first.
        if ((${#dirs[@]})); then
                while read -r _ _ _ _ mnt _; do
                        for f in "${dirs[@]}"; do
                                [[ $mnt == "$f" || $mnt == "$f"/* ]] && mnts+=("$mnt")
                        done
                done </proc/self/mountinfo
                for ((f = ${#mnts[@]} - 1; f >= 0; f--)); do
                        umount -l "${mnts[f]}" 2>/dev/null || true
                done
        fi

        ((${#dirs[@]})) && _fabric_loops_detach "${dirs[@]}"
        _fabric_cgroups_remove "$prefix"

        if ((${#names[@]})); then
                printf 'netns del %s\n' "${names[@]}" | ip -force -batch - 2>/dev/null || true
        fi
        # What netd writes for a namespace /run/netns/NAME (its resolv.conf), if a test stopped
        # before the detach that removes it.
        for f in /etc/netns/"$prefix"-*; do
                [[ -e $f ]] && rm -rf "$f"
        done
        ((${#dirs[@]})) && rm -rf "${dirs[@]}"
        return 0
}

# _fabric_loops DIR...: "DEVICE FILE" for each loop device backed by a file below a DIR (the
# runtime tests' task volumes).
_fabric_loops()
{
        local f file d dev

        for f in /sys/block/loop*/loop/backing_file; do
                file=$(cat "$f" 2>/dev/null) || continue
                file=${file% (deleted)}
                dev=${f#/sys/block/}
                for d in "$@"; do
                        [[ $file == "$d"/* ]] && echo "/dev/${dev%%/*} $file"
                done
        done
        return 0
}

# Detach them (after their file systems were unmounted, autoclear has done it already).
_fabric_loops_detach()
{
        local dev

        while read -r dev _; do
                losetup -d "$dev" 2>/dev/null || true
        done < <(_fabric_loops "$@")
}

# Cgroups named after the prefix at the top of any hierarchy (the runtime tests' task cgroups,
# with runc's container cgroups below them), children first; the processes still in them first
# (a task's containers live on, children of init, when a test stopped midway and its shims were
# killed, and a cgroup with a process cannot be removed).
_fabric_cgroups_remove()
{
        local d pids=()

        mapfile -t pids < <(find /sys/fs/cgroup/*/"$1" -name cgroup.procs -exec cat {} + \
                2>/dev/null | sort -u)
        _fabric_term 3 "${pids[@]}" || true
        for d in /sys/fs/cgroup/*/"$1"; do
                [[ -d $d ]] && find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
        done
        return 0
}

# fabric_down: stop netd, vpcd, the registries and the collector, remove every namespace, link,
# process and directory of the fabric. Idempotent; keeps $? so that it can be an EXIT trap.
_fabric_down_impl()
{
        [[ -n ${FABRIC_PREFIX:-} ]] || return 0
        netd_stop >/dev/null 2>&1 || true
        fabric_service_stop
        fabric_syslog_stop term
        _fabric_teardown "$FABRIC_PREFIX"
        unset FABRIC_PREFIX FABRIC_ID FABRIC_RUN FABRIC_HOST_NS FABRIC_VPC_NS FABRIC_HOST_NS_PATH \
                FABRIC_VPC_NS_PATH FABRIC_ENI_COUNT FABRIC_ENI_NAMES FABRIC_ENI_MACS \
                FABRIC_ENI_IPS FABRIC_ENI_PEERS NETD_SOCKET NETD_RUN_DIR NETD_STATE_DIR NETD_LOG \
                NETD_BPFFS FABRIC_HTTP_URL FABRIC_DNS FABRIC_REGISTRY FABRIC_REGISTRY_NAME \
                FABRIC_SYSLOG_DIR FABRIC_SYSLOG_FILE FABRIC_SYSLOG_ENDPOINT
}

# fabric_leftovers PREFIX: print one line per thing left with that prefix (nothing if clean).
_fabric_leftovers_impl()
{
        local prefix=${1:-} f pid cmd mnt

        [[ -n $prefix ]] || { _fabric_err "fabric_leftovers PREFIX"; return 1; }
        for f in /run/netns/"$prefix"-*; do
                [[ -e $f ]] && echo "netns ${f##*/}"
        done
        for f in /tmp/"$prefix".* /etc/netns/"$prefix"-*; do
                [[ -e $f ]] && echo "dir $f"
        done
        while read -r _ _ _ _ mnt _; do
                [[ $mnt == *"$prefix"* ]] && echo "mount $mnt"
        done </proc/self/mountinfo
        for f in /sys/fs/bpf/*"$prefix"*; do
                [[ -e $f ]] && echo "bpf pin $f"
        done
        _fabric_loops /tmp/"$prefix".* | sed 's/^/loop /'
        for f in /sys/fs/cgroup/*/"$prefix"; do
                [[ -d $f ]] && echo "cgroup $f"
        done
        ip -o link show 2>/dev/null | grep -F -e "eni-${prefix:2:4}" -e "$prefix" |
                sed 's/^[0-9]*: \([^:@]*\).*/link \1 (in the caller'"'"'s netns)/' || true
        for f in /proc/[0-9]*; do
                pid=${f#/proc/}
                [[ $pid == "$$" || $pid == "$BASHPID" ]] && continue
                cmd=$(tr '\0' ' ' 2>/dev/null <"$f/cmdline") || continue
                [[ $cmd == *"$prefix"* && $cmd != *fabric.sh* ]] && echo "process $pid $cmd"
        done
        return 0
}

# --- public functions ------------------------------------------------------------------------
#
# Each public function runs its _impl in a || list, so that the caller's set -e / pipefail
# neither abort it half-way (a teardown in an EXIT trap must run to the end) nor change what it
# returns.

fabric_up()
{
        local rc=0

        _fabric_up_impl "$@" || rc=$?
        return $rc
}

fabric_eni_add()
{
        local rc=0

        _fabric_eni_add_impl "$@" || rc=$?
        return $rc
}

fabric_task_ns()
{
        local rc=0

        _fabric_task_ns_impl "$@" || rc=$?
        return $rc
}

fabric_service_start()
{
        local rc=0

        _fabric_service_start_impl "$@" || rc=$?
        return $rc
}

fabric_service_stop()
{
        local rc=0

        _fabric_service_stop_impl || rc=$?
        return $rc
}

fabric_registry_start()
{
        local rc=0

        _fabric_registry_start_impl "$@" || rc=$?
        return $rc
}

fabric_image_build()
{
        local rc=0

        _fabric_image_build_impl "$@" || rc=$?
        return $rc
}

fabric_syslog_start()
{
        local rc=0

        _fabric_syslog_start_impl "$@" || rc=$?
        return $rc
}

fabric_syslog_stop()
{
        local rc=0

        _fabric_syslog_stop_impl "$@" || rc=$?
        return $rc
}

fabric_syslog_restart()
{
        local rc=0

        _fabric_syslog_restart_impl "$@" || rc=$?
        return $rc
}

netd_start()
{
        local rc=0

        _netd_start_impl "$@" || rc=$?
        return $rc
}

netd_stop()
{
        local rc=0

        _netd_stop_impl || rc=$?
        return $rc
}

netd_kill9()
{
        local rc=0

        _netd_kill9_impl || rc=$?
        return $rc
}

fabric_leftovers()
{
        local rc=0

        _fabric_leftovers_impl "$@" || rc=$?
        return $rc
}

# fabric_down keeps $? so that it can be an EXIT trap.
fabric_down()
{
        local rc=$?

        _fabric_down_impl || true
        return $rc
}

# --- command line ----------------------------------------------------------------------------

_fabric_main()
{
        set -euo pipefail
        case ${1:-} in
        up)
                FABRIC_NO_TRAP=1 fabric_up "${2:-1}"
                declare -p FABRIC_ENI_NAMES FABRIC_ENI_MACS FABRIC_ENI_IPS FABRIC_ENI_PEERS |
                        sed 's/^declare -a/declare -ga/'
                for v in O FABRIC_ID FABRIC_PREFIX FABRIC_RUN FABRIC_HOST_NS FABRIC_VPC_NS \
                        FABRIC_HOST_NS_PATH FABRIC_VPC_NS_PATH FABRIC_ENI_COUNT FABRIC_GATEWAY \
                        FABRIC_SUBNET FABRIC_PREFIXLEN FABRIC_MTU; do
                        printf 'export %s=%q\n' "$v" "${!v}"
                done
                ;;
        down)
                [[ $# -eq 2 ]] || { _fabric_err "usage: $0 down PREFIX"; exit 2; }
                _fabric_teardown "$2"
                ;;
        leftovers)
                [[ $# -eq 2 ]] || { _fabric_err "usage: $0 leftovers PREFIX"; exit 2; }
                fabric_leftovers "$2"
                ;;
        *)
                echo "usage: $0 up N | down PREFIX | leftovers PREFIX" >&2
                exit 2
                ;;
        esac
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
        _fabric_main "$@"
fi
