#!/bin/sh
# Runs the benchmarks and keeps their tables with a note of the machine they ran on.
#
#   scripts/bench.sh            # default sizes (each bench well under a minute)
#   scripts/bench.sh --long     # full-size runs (1 GiB transfers, 10x the pings)
#
# Needs root for the TUN/veth parts (they make and delete their own network namespaces);
# without it those parts print a skip line. Output goes to stdout and to
# target/bench-<date>.txt.
set -eu
cd "$(dirname "$0")/.."
if [ "${1:-}" = "--long" ]; then
    export TUNSTACK_BENCH_LONG=1
fi
out="target/bench-$(date +%Y%m%d-%H%M%S).txt"
mkdir -p target
cargo bench --no-run --bench ping_rtt --bench tcp_throughput
{
    echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ) $(uname -srm), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg)"
    echo "# git $(git rev-parse --short HEAD 2>/dev/null || echo '?') TUNSTACK_BENCH_LONG=${TUNSTACK_BENCH_LONG:-}"
    for b in ping_rtt tcp_throughput; do
        start=$(date +%s)
        cargo bench -q --bench "$b"
        echo "# $b: $(($(date +%s) - start)) s wall"
        echo
    done
} 2>&1 | tee "$out"
echo "saved in $out"
