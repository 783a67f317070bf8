#!/usr/bin/env bash
# The log benchmark in one command (see bench/README.md):
#
#   bench/run-logs.sh [--size 1536m] [--files 200] [--runs 3] [--modes cold,warm]
#                     [--peers ringbatch,gnu,rg] [--classes literal,alternation,required,icase,invert,noliteral]
#                     [--jfr] [--heap 512m] [--service-arg --ringbatch.io.block-size=256KB ...]
#                     [--results bench/RESULTS-logs.md]
#
# Installs ripgrep from Debian when it is missing, packages the service (under flock
# /tmp/ringbatch-mvn.lock: one Maven build at a time on this machine), compiles bench/LogBench.java with
# Bench.java, generates log-like files from a fixed seed under bench/work/data, runs six classes of grep
# pattern through ringbatch (the jar, over REST), GNU grep (xargs -P nproc) and ripgrep (rg -j nproc),
# cold (page cache dropped; needs root) and warm, each cell the median of 3 runs, checks ringbatch's
# output byte for byte against GNU grep's, and writes the table with the machine to bench/RESULTS-logs.md.
# --jfr also records the service with JFR (settings=profile) into bench/work/logs/ringbatch.jfr;
# --service-arg (repeatable) passes a setting to the service, and the results file lists it.
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/RESULTS-logs.md
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done

work=bench/work
mkdir -p "$work"
source bench/lib.sh
command -v rg >/dev/null 2>&1 || bench_apt_install ripgrep
bench_package_with_classpath "$work"
cp=$bench_cp
rm -rf "$work/logbench-classes"
javac -nowarn -d "$work/logbench-classes" -cp "$cp" bench/LogBench.java bench/Bench.java bench/StockSpringBatch.java \
    bench/ReadBench.java

log=$work/logbench.log
set +e
java -Xmx2g -cp "$work/logbench-classes:$cp" LogBench --jar "$work/ringbatch.jar" "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
table=$work/logs/table.md
if [[ $status -ne 0 || ! -s "$table" ]]; then
  echo "the log benchmark failed (exit $status); see $log" >&2
  exit 1
fi
{
  echo "# Log benchmark results"
  echo
  echo "Written by \`bench/run-logs.sh ${args[*]-}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml bench/LogBench.java bench/Bench.java || echo ' with uncommitted changes'). See bench/README.md for how to read this."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)$(bench_virt)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -srm)"
  echo "- file system of the data: $(df -T bench/work/data | tail -1 | awk '{print $1 ", " $2}')"
  echo "- $(java -version 2>&1 | head -1); $(grep --version | head -1); $(rg --version | head -1)"
  echo
  cat "$table"
} > "$results"
echo "wrote $results"
