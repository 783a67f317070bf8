#!/usr/bin/env bash
# The many-small-files benchmark in one command (see bench/README.md, "Many small files"):
#
#   bench/run-small.sh [--files 100000] [--plan-files 1000000] [--million-files 1000000] [--runs 3]
#                      [--modes cold,warm] [--ops sha256,crc32c,wc,grep] [--peers ringbatch,gnu] [--heap 512m]
#                      [--results bench/RESULTS-small.md] [--skip-plan] [--service-arg --x=y ...]
#
# Packages the service (under flock /tmp/ringbatch-mvn.lock: one Maven build at a time), then
#  1. the plan step alone on --plan-files empty files in 1,000 folders, in a JVM of -Xmx<heap>
#     (bench/PlanBench.java): walk, sort, plan.json written as a stream and read back; time and peak RSS;
#  2. Bench.java on --files text files of 0-8 KiB in 1,000 folders: each operation as a ringbatch job
#     over REST (the packaged jar, -Xmx<heap>) against `xargs -0 -P $(nproc) -n 500` with the GNU tools,
#     cold (needs root) and warm, each cell the median of --runs runs, with the service's peak RSS;
#  3. a sha256 job over --million-files files of 0-8 KiB (0: skipped) through the same service at -Xmx<heap>,
#     cold and warm, one run each, against xargs with sha256sum, digests checked, with the service's peak RSS;
# and writes bench/RESULTS-small.md. A quick smoke run:
#   bench/run-small.sh --files 2000 --plan-files 20000 --million-files 20000 --runs 1
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/RESULTS-small.md
files=100000
plan_files=1000000
million_files=1000000
runs=3
heap=512m
skip_plan=false
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --files) files=$2; shift 2 ;;
    --plan-files) plan_files=$2; shift 2 ;;
    --million-files) million_files=$2; shift 2 ;;
    --runs) runs=$2; shift 2 ;;
    --heap) heap=$2; args+=(--heap "$2"); shift 2 ;;
    --skip-plan) skip_plan=true; shift ;;
    -h|--help) sed -n '2,18p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
[[ " ${args[*]-} " == *" --ops "* ]] || args+=(--ops sha256,crc32c,wc,grep)
[[ " ${args[*]-} " == *" --peers "* ]] || args+=(--peers ringbatch,gnu)

work=bench/work
mkdir -p "$work"
source bench/lib.sh
bench_package_with_classpath "$work"
cp=$bench_cp
rm -rf "$work/bench-classes"
javac -nowarn -d "$work/bench-classes" -cp "$cp" bench/Bench.java bench/StockSpringBatch.java bench/ReadBench.java \
    bench/PlanBench.java

log=$work/bench-small.log
: > "$log"
plan_md=""
if [[ $skip_plan != true ]]; then
  tree=$(realpath -m "$work/data/plan-$plan_files")
  java -cp "$work/bench-classes:$cp" PlanBench generate "$tree" "$plan_files" 2>&1 | tee -a "$log"
  plan_rows=""
  for i in $(seq 1 "$runs"); do
    sync; [[ $(id -u) -eq 0 ]] && echo 3 > /proc/sys/vm/drop_caches || true
    cold=$(java -Xmx"$heap" -cp "$work/bench-classes:$cp" PlanBench plan "$tree" "$work/plan-bench" 2>&1 | tee -a "$log" | tail -1)
    warm=$(java -Xmx"$heap" -cp "$work/bench-classes:$cp" PlanBench plan "$tree" "$work/plan-bench" 2>&1 | tee -a "$log" | tail -1)
    plan_rows+="| $i | cold$([[ $(id -u) -eq 0 ]] || echo ' (NOT ROOT: cache not dropped)') | ${cold//=/: } |"$'\n'
    plan_rows+="| $i | warm | ${warm//=/: } |"$'\n'
  done
  plan_md="## The plan step on $plan_files files

\`bench/PlanBench.java\` in a JVM of \`-Xmx$heap\`: the walk by descriptor, the sort by path bytes, plan.json
written as a stream and read back (what the plan step and a partition's start do), on $plan_files empty
files in 1,000 folders. Peak RSS is the JVM's VmHWM.

| run | cache | result |
|---|---|---|
$plan_rows"
fi

set +e
java -Xmx2g -cp "$work/bench-classes:$cp" Bench --jar "$work/ringbatch.jar" --small-files "$files" --xargs-n 500 \
    --runs "$runs" --sse 0 --results "$results" "${args[@]}" 2>&1 | tee -a "$log"
status=${PIPESTATUS[0]}
set -e
table=$work/bench/table.md
if [[ $status -ne 0 || ! -s "$table" ]]; then
  echo "the benchmark failed (exit $status); see $log" >&2
  exit 1
fi
small_table=$work/bench/table-small.md
cp "$table" "$small_table"

million_md=""
if [[ $million_files -gt 0 ]]; then
  # The same service and heap over ten times the files: the plan, the partitions' records and the merge of a
  # job over a million files must fit in -Xmx<heap>. Its own Bench run (one run per cell: a cell takes minutes).
  set +e
  java -Xmx2g -cp "$work/bench-classes:$cp" Bench --jar "$work/ringbatch.jar" --small-files "$million_files" \
      --xargs-n 500 --runs 1 --sse 0 --ops sha256 --peers ringbatch,gnu --modes cold,warm --heap "$heap" \
      --results "$work/million.md" 2>&1 | tee -a "$log"
  status=${PIPESTATUS[0]}
  set -e
  if [[ $status -ne 0 || ! -s "$table" ]]; then
    echo "the million-file benchmark failed (exit $status); see $log" >&2
    exit 1
  fi
  # its parameters, limits and runs, as subsections of one section
  million_md="## A sha256 job over $million_files files at -Xmx$heap

$(sed -n '/^## Parameters/,/^## Targets/p' "$table" | sed '$d' | sed 's/^## /### /')"
fi
{
  echo "# Many small files: benchmark results"
  echo
  echo "Written by \`bench/run-small.sh --files $files --plan-files $plan_files --million-files $million_files --runs $runs ${args[*]}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml bench ':(exclude)bench/RESULTS*.md' || echo ' with uncommitted changes'). See bench/README.md."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -srm)"
  echo "- load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg) (above 0.5 the machine was busy: the numbers are not results)"
  echo "- $(java -version 2>&1 | head -1); $(sha256sum --version | head -1); $(grep --version | head -1)"
  echo
  echo "$plan_md"
  cat "$small_table"
  if [[ -n $million_md ]]; then
    echo
    echo "$million_md"
  fi
} > "$results"
echo "wrote $results"
