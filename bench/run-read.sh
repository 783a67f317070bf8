#!/usr/bin/env bash
# The read benchmark in one command (see bench/README.md):
#
#   bench/run-read.sh [--results FILE] [ReadBench options, e.g. --size 4g --seed 42 --modes cold,warm]
#
# Installs fio if it is missing, compiles the project (under flock /tmp/ringbatch-mvn.lock: one Maven build at a
# time on this machine), runs bench/ReadBench.java with the JDK's source launcher and writes the
# machine description and the results table to bench/RESULTS-read.md (or FILE).
set -euo pipefail

cd "$(dirname "$0")/.."
results=bench/RESULTS-read.md
args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --results) results=$2; shift 2 ;;
    --results=*) results=${1#--results=}; shift ;;
    -h|--help) sed -n '2,8p' "$0" | sed 's/^# \{0,1\}//'; args+=(--help); shift ;;
    *) args+=("$1"); shift ;;
  esac
done

work=bench/work
mkdir -p "$work" bench/work/data

if ! command -v fio >/dev/null 2>&1; then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "fio is missing: installing it with apt-get"
    apt-get update
    apt-get install -y fio
  else
    echo "fio is missing and cannot be installed here (needs root and apt-get): the fio rows will be skipped" >&2
  fi
fi

# Compile and snapshot the classes inside the lock, so that another build cannot clean them away
# while the benchmark runs.
echo "compiling (waiting for /tmp/ringbatch-mvn.lock if another Maven build runs)"
flock /tmp/ringbatch-mvn.lock sh -c "
  ./mvnw -q -o -DskipTests compile dependency:build-classpath \
      -Dmdep.outputFile=$work/classpath.txt -Dmdep.includeScope=runtime &&
  rm -rf $work/classes && cp -r target/classes $work/classes"
cp="$work/classes:$(cat "$work/classpath.txt")"

if [[ " ${args[*]-} " == *" --help "* ]]; then
  exec java -cp "$cp" bench/ReadBench.java --help
fi

table=$work/read-table.md
rm -f "$table"
log=$work/read-bench.log
set +e
java -cp "$cp" bench/ReadBench.java "${args[@]}" --markdown "$table" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
if [[ ! -s "$table" ]]; then
  echo "ReadBench wrote no results (exit $status); see $log" >&2
  exit "${status:-1}"
fi

# The device under the data directory, for the machine description.
data_dir=$(realpath bench/work/data)
src=$(df --output=source "$data_dir" | tail -1)
dev=$(basename "$(realpath "$src" 2>/dev/null || echo "$src")")
blk=$dev
if [[ ! -d /sys/block/$blk && -e /sys/class/block/$blk/partition ]]; then
  blk=$(basename "$(dirname "$(realpath /sys/class/block/$blk)")")
fi
queue=""
if [[ -d /sys/block/$blk/queue ]]; then
  rot=$(cat /sys/block/$blk/queue/rotational)
  queue="; /sys/block/$blk: rotational=$rot, scheduler $(cat /sys/block/$blk/queue/scheduler), read_ahead_kb=$(cat /sys/block/$blk/queue/read_ahead_kb), nr_requests=$(cat /sys/block/$blk/queue/nr_requests)"
fi
virt=""
container=$(systemd-detect-virt --container 2>/dev/null || true)
[[ -n "$container" && "$container" != none ]] && virt="container ($container)"
if grep -qw hypervisor /proc/cpuinfo; then
  vm=$(systemd-detect-virt --vm 2>/dev/null || true)
  [[ -z "$vm" || "$vm" == none ]] && vm="hypervisor flag in /proc/cpuinfo"
  virt="${virt:+$virt, }virtual machine ($vm)"
fi

{
  echo "# Read benchmark results"
  echo
  echo "Written by \`bench/run-read.sh ${args[*]-}\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src pom.xml || echo ' with uncommitted changes under src/ or pom.xml'). See bench/README.md for what the readers are and how to read this."
  echo
  echo "## Machine"
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'); nproc $(nproc)${virt:+; virtualised: $virt}"
  echo "- memory: $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
  echo "- kernel: $(uname -srm)"
  echo "- file system of the data (\`df -T\`): $(df -T "$data_dir" | tail -1 | awk '{print $1 ", " $2 ", mounted on " $7}')$queue"
  echo "- $(java -version 2>&1 | head -1); $(fio --version 2>/dev/null || echo 'fio not installed')"
  echo
  cat "$table"
} > "$results"
echo
echo "wrote $results"
exit "$status"
