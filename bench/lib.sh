# Shared by the bench/run-*.sh scripts (sourced, not run): installing a missing Debian package, packaging
# the service under the Maven lock, a PostgreSQL server of the script's own, and the machine's description.
# Each script does `set -euo pipefail`, changes to the repository's root and sources this file.

# bench_apt_install PACKAGE...: installs Debian packages (with sudo when not root), quietly.
bench_apt_install() {
  local sudo=""
  if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get update -qq
  $sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# bench_package_jar WORK: packages the service, tests skipped, under flock /tmp/ringbatch-mvn.lock (one Maven
# build at a time on this machine), and copies the jar to WORK/ringbatch.jar, so that another build cannot
# clean it away while the benchmark runs. Sets bench_jar to its absolute path.
bench_package_jar() {
  local work=$1
  echo "packaging (waiting for /tmp/ringbatch-mvn.lock if another Maven build runs)"
  flock /tmp/ringbatch-mvn.lock sh -c "
    ./mvnw -q -o -B -Dmaven.test.skip=true package &&
    cp \$(ls target/ringbatch-*.jar | grep -v plain | head -1) $work/ringbatch.jar"
  bench_jar=$(realpath "$work/ringbatch.jar")
}

# bench_package_with_classpath WORK: as bench_package_jar, and also the compiled classes (WORK/classes) and
# the runtime class path (WORK/classpath.txt), for benchmarks compiled against the project's classes. Sets
# bench_jar, and bench_cp to the class path.
bench_package_with_classpath() {
  local work=$1
  echo "packaging (waiting for /tmp/ringbatch-mvn.lock if another Maven build runs)"
  flock /tmp/ringbatch-mvn.lock sh -c "
    ./mvnw -q -o -B -Dmaven.test.skip=true package dependency:build-classpath \
        -Dmdep.outputFile=$work/classpath.txt -Dmdep.includeScope=runtime &&
    rm -rf $work/classes && cp -r target/classes $work/classes &&
    cp \$(ls target/ringbatch-*.jar | grep -v plain | head -1) $work/ringbatch.jar"
  bench_jar=$(realpath "$work/ringbatch.jar")
  bench_cp="$work/classes:$(cat "$work/classpath.txt")"
}

# bench_pgbin: sets pgbin to the newest installed PostgreSQL's bin directory, installing Debian's postgresql
# (as .ci/run does) when initdb or pgbench is missing.
bench_pgbin() {
  if ! ls /usr/lib/postgresql/*/bin/initdb /usr/lib/postgresql/*/bin/pgbench >/dev/null 2>&1; then
    bench_apt_install postgresql
  fi
  pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
}

# bench_run_pg COMMAND...: a PostgreSQL command as the postgres user when this runs as root (PostgreSQL
# refuses to run as root), else as ourselves.
bench_run_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

# bench_start_postgres DIR [SERVER OPTION...]: a PostgreSQL server of our own for this run only: a fresh data
# directory DIR/pgdata (DIR is emptied first), role and database ringbatch, trust authentication, on a free
# port of 127.0.0.1 (its socket in DIR/pgsock, its log DIR/postgres.log), stopped when the script exits.
# Further server options are passed as they are (e.g. -c shared_preload_libraries=pg_stat_statements); fsync
# and synchronous_commit stay PostgreSQL's defaults (on). Sets pgbin, pg_dir (DIR, absolute), pg_port and
# pg_url (the JDBC URL).
bench_start_postgres() {
  pg_dir=$(realpath -m "$1")
  shift
  bench_pgbin
  rm -rf "$pg_dir" && mkdir -p "$pg_dir/pgsock"
  if [ "$(id -u)" = 0 ]; then
    mkdir -p "$pg_dir/pgdata"
    chown postgres "$pg_dir" "$pg_dir/pgsock" "$pg_dir/pgdata"
    # postgres must get through the directories above its own
    local d=$pg_dir
    while [[ "$d" != / ]]; do chmod o+x "$d" 2>/dev/null || true; d=$(dirname "$d"); done
  fi
  bench_run_pg "$pgbin/initdb" -D "$pg_dir/pgdata" -U ringbatch --auth=trust -E UTF8 --no-locale >"$pg_dir/initdb.log"
  pg_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' \
    2>/dev/null || echo $((55432 + RANDOM % 1000)))
  bench_run_pg "$pgbin/pg_ctl" -D "$pg_dir/pgdata" -w -l "$pg_dir/postgres.log" \
    -o "-p $pg_port -k $pg_dir/pgsock -c listen_addresses=127.0.0.1 $*" start >/dev/null
  trap bench_stop_postgres EXIT
  bench_run_pg "$pgbin/createdb" -h 127.0.0.1 -p "$pg_port" -U ringbatch ringbatch
  pg_url="jdbc:postgresql://127.0.0.1:$pg_port/ringbatch"
}

# bench_stop_postgres: stops the server bench_start_postgres started (the EXIT trap; harmless twice).
bench_stop_postgres() {
  if [[ -n "${pg_dir:-}" ]]; then
    bench_run_pg "$pgbin/pg_ctl" -D "$pg_dir/pgdata" -m fast stop >/dev/null 2>&1 || true
  fi
}

# bench_virt: "; virtual machine (kvm)" on a virtual machine, else nothing: the tail of the results' CPU line.
bench_virt() {
  if grep -qw hypervisor /proc/cpuinfo; then
    echo "; virtual machine ($(systemd-detect-virt --vm 2>/dev/null || echo 'hypervisor flag in /proc/cpuinfo'))"
  fi
}
