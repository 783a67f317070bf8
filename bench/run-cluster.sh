#!/usr/bin/env bash
# What distribution costs, in one command (see bench/README.md, "The cluster benchmark"):
#
#   bench/run-cluster.sh [--size 4g] [--ops grep,sha256] [--runs 3] [--warmups 5]
#                        [--configs single,single-queue,split] [--heap 512m] [--jar target/ringbatch-x.jar] [--results bench/RESULTS-cluster.md]
#
# The same job on one instance with ringbatch.workers=2, against one combined instance with workers=1 plus
# one worker instance with workers=1 (the same two cores), all on one PostgreSQL server that the script
# starts (Debian's postgresql, installed if missing, as .ci/run does). Packages the service (under
# flock /tmp/ringbatch-mvn.lock, tests skipped) unless --jar names one, generates the data set under bench/work/data
# (kept for the next run), compiles bench/ClusterBench.java (the JDK alone) and writes the table, each cell
# the median of --runs runs after --warmups warm-up jobs, with the machine's description to bench/RESULTS-cluster.md.
# Run it on a quiet machine: another build running at the same time makes the numbers meaningless.
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/RESULTS-cluster.md
jar=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --jar) jar=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done
[[ " ${args[*]-} " == *" --ops "* ]] || args+=(--ops grep,sha256)
[[ " ${args[*]-} " == *" --size "* ]] || args+=(--size 4g)

work=bench/work
mkdir -p "$work"
source bench/lib.sh
if [[ -z "$jar" ]]; then
  bench_package_jar "$work"
  jar=$bench_jar
fi
rm -rf "$work/cluster-classes"
javac -nowarn -d "$work/cluster-classes" bench/ClusterBench.java

# a PostgreSQL server of our own, on a free port of 127.0.0.1, for this run only (bench/lib.sh)
bench_start_postgres "$work/cluster"
cw=$pg_dir

log=$work/cluster-bench.log
set +e
java -Xmx1g -cp "$work/cluster-classes" ClusterBench --jar "$jar" --pg-url "$pg_url" \
  --table "$cw/table.md" "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 || ! -s "$cw/table.md" ]]; then
  echo "the benchmark failed (exit $status); see $log and $cw/*.log" >&2
  exit 1
fi

{
  echo "# Cluster benchmark results"
  echo
  echo "Written by \`bench/run-cluster.sh ${args[*]}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml bench/ClusterBench.java || echo ' with uncommitted changes'). See bench/README.md (\"The cluster benchmark\") for what each configuration is."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)$(bench_virt)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -srm)"
  echo "- $(java -version 2>&1 | head -1); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}')"
  echo "- load average when the run ended: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## Runs"
  echo
  cat "$cw/table.md"
} > "$results"
echo "wrote $results"
