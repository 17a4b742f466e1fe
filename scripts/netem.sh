#!/usr/bin/env bash
# Apply or clear Linux netem impairment (loss, delay, reordering, ...) on an interface,
# optionally inside a network namespace. Needs root and a kernel with sch_netem.
#
# netem shapes what the kernel *sends* on the interface: on a TUN/TAP device that is the
# traffic from the kernel towards tunstack. For the other direction, or on kernels
# without netem, use tunstack's own seeded impairment (link::impair), which takes the
# same words: "loss 5% delay 20ms 5ms reorder 25% duplicate 1% corrupt 0.1% rate 10mbit".
set -euo pipefail

prog=$(basename "$0")

usage() {
    cat <<USAGE
usage: $prog [-n NETNS] IFACE apply NETEM-OPTIONS...
       $prog [-n NETNS] IFACE clear
       $prog [-n NETNS] IFACE show
       $prog check

  -n NETNS   act inside network namespace NETNS (as listed by 'ip netns')
  apply      replace the root qdisc of IFACE by netem with the given options, e.g.
               loss 5%                 drop 5% of packets
               delay 20ms [5ms]        delay by 20 ms, uniformly +-5 ms (jitter reorders)
               reorder 25%             with a delay: send 25% at once, ahead of the rest
               duplicate 1%            send 1% twice
               corrupt 0.1%            flip a random bit in 0.1%
               rate 10mbit             limit throughput
               limit 1000              queue at most 1000 packets
  clear      remove the root qdisc (back to the default)
  show       show the qdiscs of IFACE and their statistics
  check      tell whether this kernel has netem (probes in a scratch namespace)

examples:
  $prog -n tst-demo tun0 apply delay 50ms 10ms loss 2%
  $prog -n tst-demo tun0 clear
USAGE
}

die() { echo "$prog: $*" >&2; exit 1; }

netns=""
run() {
    if [[ -n "$netns" ]]; then ip netns exec "$netns" "$@"; else "$@"; fi
}

# Explains a tc failure; the message for a kernel without sch_netem is recognised.
tc_failed() {
    local err=$1
    if grep -qiE "qdisc kind is unknown|unknown qdisc|No such file or directory" <<<"$err"; then
        die "netem is not available in this kernel (module sch_netem missing or not loadable): $err
hint: use tunstack's built-in impairment (link::impair) instead"
    fi
    die "tc failed: $err"
}

need_tools() {
    command -v tc >/dev/null || die "tc not found (install iproute2)"
    command -v ip >/dev/null || die "ip not found (install iproute2)"
}

# Exit 0 if netem works here, 1 if not; probes in a namespace of its own so nothing else
# is touched.
check_netem() {
    need_tools
    [[ $EUID -eq 0 ]] || die "check needs root"
    command -v modprobe >/dev/null && modprobe -q sch_netem 2>/dev/null || true
    local probe="netem-probe-$$"
    ip netns add "$probe" || die "cannot create probe namespace"
    local err rc=0
    err=$(ip netns exec "$probe" tc qdisc add dev lo root netem delay 1ms 2>&1) || rc=$?
    ip netns del "$probe"
    if [[ $rc -eq 0 ]]; then
        echo "netem is available"
        return 0
    fi
    echo "netem is NOT available in this kernel ($(uname -r)): $err"
    return 1
}

while getopts ":n:h" opt; do
    case $opt in
        n) netns=$OPTARG ;;
        h) usage; exit 0 ;;
        \?) usage >&2; die "unknown option -$OPTARG" ;;
        :) usage >&2; die "-$OPTARG needs an argument" ;;
    esac
done
shift $((OPTIND - 1))

[[ $# -ge 1 ]] || { usage >&2; exit 2; }
if [[ $1 == check ]]; then
    check_netem
    exit $?
fi
[[ $# -ge 2 ]] || { usage >&2; exit 2; }
iface=$1 action=$2
shift 2
need_tools
if [[ -n "$netns" ]] && ! ip netns list | awk '{print $1}' | grep -qx -- "$netns"; then
    die "no network namespace named '$netns'"
fi
run ip link show dev "$iface" >/dev/null 2>&1 || die "no interface '$iface'${netns:+ in namespace $netns}"

case $action in
    apply)
        [[ $# -ge 1 ]] || { usage >&2; die "apply needs netem options"; }
        command -v modprobe >/dev/null && modprobe -q sch_netem 2>/dev/null || true
        err=$(run tc qdisc replace dev "$iface" root netem "$@" 2>&1) || tc_failed "$err"
        echo "netem on $iface${netns:+ (netns $netns)}: $*"
        ;;
    clear)
        if err=$(run tc qdisc del dev "$iface" root 2>&1); then
            echo "cleared root qdisc on $iface${netns:+ (netns $netns)}"
        elif grep -qiE "cannot delete qdisc with handle of zero|No such file|Invalid handle" <<<"$err"; then
            echo "nothing to clear on $iface"
        else
            die "tc failed: $err"
        fi
        ;;
    show)
        run tc -s qdisc show dev "$iface"
        ;;
    *)
        usage >&2
        die "unknown action '$action'"
        ;;
esac
