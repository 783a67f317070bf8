#!/usr/bin/env bash
# What the cluster mode asks of PostgreSQL, and what PostgreSQL gives on this machine, in one command
# (see bench/README.md, "The capacity benchmark"; docs/scale-out.md, "Capacity: the method"):
#
#   bench/run-capacity.sh [--size 512m] [--workers 2] [--seconds 15] [--clients 1,4,16,64] [--idle 20]
#                         [--heap 512m] [--jar target/ringbatch-x.jar] [--results bench/RESULTS-capacity.md]
#
# Starts a PostgreSQL server of its own (Debian's postgresql, installed if missing, as .ci/run does) with
# pg_stat_statements, packages the service (under flock /tmp/ringbatch-mvn.lock, tests skipped) unless --jar
# names one, compiles bench/ClusterBench.java and bench/CapacityBench.java (the JDK alone) and runs three
# sha256 jobs on one combined instance in cluster mode (statements, transactions, WAL and connections per
# partition and per commit), then pgbench with the chunk commit's transaction and the message insert + take
# at --clients clients, fsync on. Writes bench/RESULTS-capacity.md with the machine's description.
# Run it on a quiet machine (flock /tmp/ringbatch-quiet.lock bench/run-capacity.sh ...): about 5 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
results=bench/RESULTS-capacity.md
jar=""
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --jar) jar=$(realpath "$2"); shift 2 ;;
    -h|--help) sed -n '2,14p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) args+=("$1" "$2"); shift 2 ;;
  esac
done

work=bench/work
mkdir -p "$work"
source bench/lib.sh
if [[ -z "$jar" ]]; then
  bench_package_jar "$work"
  jar=$bench_jar
fi
rm -rf "$work/capacity-classes"
javac -nowarn -d "$work/capacity-classes" bench/ClusterBench.java bench/CapacityBench.java

# a PostgreSQL server of our own, on a free port of 127.0.0.1, for this run only (bench/lib.sh), with
# pg_stat_statements; fsync and synchronous_commit stay on (the defaults)
bench_start_postgres "$work/capacity" -c shared_preload_libraries=pg_stat_statements -c pg_stat_statements.track=top \
  -c pg_stat_statements.max=5000
cw=$pg_dir
port=$pg_port
"$pgbin/psql" -X -q -h 127.0.0.1 -p "$port" -U ringbatch -d postgres \
  -c "CREATE ROLE capmon LOGIN SUPERUSER" -c "CREATE EXTENSION pg_stat_statements"

# the disk's fsync, as PostgreSQL's own tool sees it, in the data directory's file system
fsync_out=$(bench_run_pg "$pgbin/pg_test_fsync" -s 1 -f "$cw/pgdata/fsync.test" 2>&1 || true)

log=$work/capacity-bench.log
load_start=$(cut -d' ' -f1-3 /proc/loadavg)
busy_start=$(top -b -n 2 -d 1 -w 200 2>/dev/null | awk '/^top -/ {n++} n == 2 && $1 ~ /^[0-9]+$/ && $9 + 0 > 20 {print $9 "% " $12}' | head -3 | paste -sd ';' - || true)
set +e
java -Xmx512m -cp "$work/capacity-classes" CapacityBench --jar "$jar" --pg-url "$pg_url" \
  --pgbin "$pgbin" --port "$port" --table "$cw/table.md" "${args[@]}" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [[ $status -ne 0 || ! -s "$cw/table.md" ]]; then
  echo "the benchmark failed (exit $status); see $log and $cw/*.log" >&2
  exit 1
fi

{
  echo "# Capacity benchmark results"
  echo
  echo "Written by \`bench/run-capacity.sh ${args[*]-}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml bench/ClusterBench.java bench/CapacityBench.java || echo ' with uncommitted changes'). See bench/README.md (\"The capacity benchmark\") for the method, docs/scale-out.md (\"Capacity: the method\") for what the numbers are for."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)$(bench_virt)"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo); kernel $(uname -srm)"
  echo "- $(java -version 2>&1 | head -1); PostgreSQL $("$pgbin/postgres" --version | awk '{print $3}'), on $(df -T "$cw/pgdata" | awk 'NR==2 {print $2 " (" $1 ")"}')"
  echo "- load average when the measurement began: $load_start; when the run ended: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "- other processes above 20 % CPU (top, over 1 s) when it began: ${busy_start:-none}"
  echo "- the disk's fsync (\`pg_test_fsync -s 1\`, one 8 kB write):"
  echo
  echo '```'
  echo "$fsync_out" | sed -n '/one 8kB write/,/^$/p' | sed '/^$/d'
  echo '```'
  echo
  echo "## Measured"
  echo
  cat "$cw/table.md"
} > "$results"
echo "wrote $results"
