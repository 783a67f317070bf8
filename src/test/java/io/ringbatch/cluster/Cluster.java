package io.ringbatch.cluster;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.batch.LocalPostgres;
import io.ringbatch.batch.ServiceProcess;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * A ringbatch cluster on this machine: one PostgreSQL server (the job repository and the partition
 * queue), one combined instance and workers, each the packaged jar in a process of its own on
 * 127.0.0.1 with its own data directory, all sharing the input root, the output root and the work
 * directory. Instances are started in parallel (a JVM start is slow on two cores) and can be killed,
 * paused, resumed, terminated and started again under the same id and port.
 */
final class Cluster implements AutoCloseable {
    static final String COMBINED = "combined";

    /** One instance: its id and role stay; its process changes with each start. */
    final class Instance {
        final String id;
        final String role;
        final int port;
        private int starts;
        private ServiceProcess process;
        private CompletableFuture<ServiceProcess> starting;

        private Instance(String id, String role, int port) {
            this.id = id;
            this.role = role;
            this.port = port;
        }

        /** Starts the process in the background (the instance is usable after {@link #awaitUp}). */
        Instance startAsync() {
            assertThat(process == null || !process.alive()).as("%s is still running", id).isTrue();
            List<String> args = new ArrayList<>(List.of(
                    "--ringbatch.instance-id=" + id,
                    "--ringbatch.role=" + role,
                    "--ringbatch.data-dir=" + dir.resolve("data-" + id),
                    "--ringbatch.work-dir=" + work,
                    "--ringbatch.input-roots=" + input,
                    "--ringbatch.output-root=" + output,
                    "--spring.datasource.url=" + postgres.url(),
                    "--spring.datasource.username=" + LocalPostgres.USER,
                    "--spring.datasource.password="));
            args.addAll(common);
            Path log = dir.resolve(id + "-" + starts++ + ".log");
            process = null;
            starting = CompletableFuture.supplyAsync(() -> {
                try {
                    return ServiceProcess.start(dir, port, log, args);
                } catch (Exception e) {
                    throw new CompletionException(e);
                }
            });
            return this;
        }

        /** Waits for the start begun by {@link #startAsync}, if any. */
        Instance awaitUp() {
            if (starting != null) {
                process = starting.join();
                starting = null;
            }
            assertThat(process != null && process.alive()).as("%s is up", id).isTrue();
            return this;
        }

        boolean up() {
            return starting == null && process != null && process.alive();
        }

        ServiceProcess process() {
            assertThat(process).as("%s started", id).isNotNull();
            return process;
        }

        /** The log of the current (or last) process. */
        Path log() {
            return process().log();
        }

        void kill() throws InterruptedException {
            process().kill();
        }

        /** SIGTERM; asserts that the process exits within {@code within}. */
        void term(Duration within) throws InterruptedException {
            assertThat(process().term(within)).as("%s exited within %s of SIGTERM", id, within).isTrue();
        }

        void pause() throws Exception {
            process().signal("STOP");
        }

        void resume() throws Exception {
            process().signal("CONT");
        }

        @Override
        public String toString() {
            return id + " (" + role + ", port " + port + ")";
        }
    }

    final Path dir;
    final Path input;
    final Path output;
    final Path work;
    final LocalPostgres postgres;
    private final List<String> common;
    private final Map<String, Instance> instances = new LinkedHashMap<>();

    /**
     * A PostgreSQL server in {@code dir}, and the instances (not started): the combined one and
     * {@code workerCount} workers named {@code worker-1}..., each with {@code args} besides its own.
     */
    Cluster(Path dir, Path input, int workerCount, List<String> args) throws Exception {
        this.dir = dir;
        this.input = input;
        this.output = Files.createDirectories(dir.resolve("output"));
        this.work = Files.createDirectories(dir.resolve("work"));
        this.common = List.copyOf(args);
        // as root, PostgreSQL runs as the user postgres, who must get through the test's directories to its own
        for (Path d = dir; d != null && d.startsWith(dir.getParent()); d = d.getParent()) {
            Files.setPosixFilePermissions(d, PosixFilePermissions.fromString("rwxr-xr-x"));
        }
        this.postgres = new LocalPostgres(Files.createDirectories(dir.resolve("postgres")));
        instances.put(COMBINED, new Instance(COMBINED, "combined", ServiceProcess.freePort()));
        for (int i = 1; i <= workerCount; i++) {
            instances.put("worker-" + i, new Instance("worker-" + i, "worker", ServiceProcess.freePort()));
        }
    }

    /** Starts every instance at once and waits for all of them. */
    Cluster start() {
        instances.values().forEach(Instance::startAsync);
        instances.values().forEach(Instance::awaitUp);
        return this;
    }

    Instance get(String id) {
        return instances.get(id);
    }

    Instance combined() {
        return get(COMBINED);
    }

    /** The instances that are not up (killed, terminated, or never started), started again at once. */
    void restartTheDown() {
        for (Instance i : instances.values()) {
            if (i.starting == null && (i.process == null || !i.process.alive())) {
                i.startAsync();
            }
        }
    }

    /** Waits until every instance is up, starting those that are down. */
    void awaitAllUp() {
        restartTheDown();
        instances.values().forEach(Instance::awaitUp);
    }

    /** The job's partition attempts, read from the repository now. */
    Attempts attempts(String jobId) throws SQLException {
        return Attempts.read(this::connect, jobId);
    }

    private Connection connect() {
        try {
            return postgres.connect();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Rows left in Spring Integration's message table (the partition requests not yet taken). */
    long queued() throws SQLException {
        try (Connection c = connect(); var st = c.createStatement();
             var rs = st.executeQuery("SELECT count(*) FROM INT_CHANNEL_MESSAGE")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void close() throws Exception {
        for (Instance i : instances.values()) {
            if (i.starting != null) {
                try {
                    i.process = i.starting.join();
                } catch (CompletionException failedToStart) {
                    // nothing to stop
                }
            }
            if (i.process != null) {
                i.process.close(); // SIGKILL, which ends a paused process too
            }
        }
        postgres.close();
    }
}
