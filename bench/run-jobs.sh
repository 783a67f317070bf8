#!/usr/bin/env bash
# The jobs benchmark in one command (see bench/README.md):
#
#   bench/run-jobs.sh [--size 2g] [--runs 1] [--ops checksum,grep] [--modes cold,warm] [--heap 512m]
#
# Packages the service (under flock /tmp/mvn.lock), generates a text tree from a fixed seed under
# bench/work/jobs, starts the jar with -Xmx512m, runs each operation as a ringbatch job over REST and
# as the GNU tool with xargs -P $(nproc), cold (page cache dropped; root) and warm, and writes the
# table with the machine's description to bench/RESULTS-jobs.md.
set -euo pipefail
cd "$(dirname "$0")/.."
flock /tmp/mvn.lock ./mvnw -q -o -B -DskipTests package
jar=$(ls target/ringbatch-*.jar | grep -v plain | head -1)
java bench/JobBench.java --jar "$jar" "$@" | tee bench/work/jobs-bench.log
{
  echo "# Jobs benchmark results"
  echo
  echo "Written by \`bench/run-jobs.sh $*\` on $(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short HEAD)."
  echo
  echo "- CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); nproc $(nproc); memory $(free -g | awk '/Mem:/{print $2}') GiB"
  echo "- kernel: $(uname -sr); file system: $(df -T bench/work | awk 'NR==2{print $1", "$2}')"
  echo "- ringbatch: the packaged jar, -Xmx512m, default settings (io_uring engine, workers = cores)"
  echo "- GNU peers: \`find | sort | xargs -0 -P \$(nproc) -n 16 sha256sum\` and \`... grep -a -E -Hn PATTERN\`, output into a file"
  echo "- times: ringbatch from the job's createdAt to its endedAt (the service's clock; polled every 0.5 s, since each"
  echo "  authenticated request costs a bcrypt check), GNU the whole pipeline's wall clock"
  echo
  cat bench/work/jobs/table.md
} > bench/RESULTS-jobs.md
echo "wrote bench/RESULTS-jobs.md"
