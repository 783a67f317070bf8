#!/usr/bin/env bash
# The performance benchmark in one command (see bench/README.md):
#
#   bench/run.sh [--size 4g] [--ops sha256,crc32c,grep,gzip,noop] [--modes cold,warm]
#                [--peers ringbatch,spring-batch,filechannel,afc,mmap,gnu] [--heap 512m] [--jfr]
#                [--results bench/RESULTS.md]
#
# Packages the service (under flock /tmp/ringbatch-mvn.lock: one Maven build at a time on this machine),
# compiles bench/Bench.java and bench/StockSpringBatch.java against the project's classes, generates
# the tree from a fixed seed under bench/work/data, runs every operation through ringbatch (the jar,
# over REST) and its peers, cold (page cache dropped; needs root) and warm, and writes the table with
# the machine's description to bench/RESULTS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/RESULTS.md
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ " ${args[*]-} " == *" --ops "* ]] || args+=(--ops sha256,crc32c,grep,gzip,noop)

work=bench/work
mkdir -p "$work"
source bench/lib.sh
command -v pigz >/dev/null 2>&1 || bench_apt_install pigz
bench_package_with_classpath "$work"
cp=$bench_cp
rm -rf "$work/bench-classes"
javac -nowarn -d "$work/bench-classes" -cp "$cp" bench/Bench.java bench/StockSpringBatch.java bench/ReadBench.java

log=$work/bench.log
set +e
java -Xmx2g -cp "$work/bench-classes:$cp" Bench --jar "$work/ringbatch.jar" "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
table=$work/bench/table.md
if [[ $status -ne 0 || ! -s "$table" ]]; then
  echo "the benchmark failed (exit $status); see $log" >&2
  exit 1
fi

data_dir=$(realpath bench/work/data)
src=$(df --output=source "$data_dir" | tail -1)
blk=$(basename "$(realpath "$src" 2>/dev/null || echo "$src")")
queue=""
if [[ -d /sys/block/$blk/queue ]]; then
  queue="; /sys/block/$blk: rotational=$(cat /sys/block/$blk/queue/rotational), scheduler $(cat /sys/block/$blk/queue/scheduler), read_ahead_kb=$(cat /sys/block/$blk/queue/read_ahead_kb)"
fi
{
  echo "# Benchmark results"
  echo
  echo "Written by \`bench/run.sh ${args[*]}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml bench/Bench.java bench/StockSpringBatch.java || echo ' with uncommitted changes'). See bench/README.md for what each peer is and how to read this."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)$(bench_virt)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -srm)"
  echo "- file system of the data: $(df -T "$data_dir" | tail -1 | awk '{print $1 ", " $2}')$queue"
  echo "- $(java -version 2>&1 | head -1); $(sha256sum --version | head -1); $(grep --version | head -1); $(gzip --version | head -1)"
  echo
  cat "$table"
} > "$results"
echo "wrote $results"
