package io.ringbatch.cluster;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.batch.KillRestartIT;
import io.ringbatch.operation.RefTools;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * One job's partitions on a cluster of three processes of the packaged jar (one combined instance and two
 * workers on 127.0.0.1, one PostgreSQL server, one work directory, one output root), and what happens when
 * an instance is lost in the middle of a partition:
 * <ol>
 * <li>{@code kill -9} of a worker during a grep over 512 MiB: the job completes with grep's answer, the
 *     lost partition has a second attempt elsewhere that started from the first one's last commit;</li>
 * <li>a worker paused (SIGSTOP) longer than the loss timeout, then resumed: its partition ran again
 *     elsewhere, its late commit fails, and the checksums equal {@code sha256sum}'s;</li>
 * <li>SIGTERM of a worker during a gzip job: its partition runs again elsewhere; {@code zcat} gives back
 *     the input;</li>
 * <li>{@code kill -9} of the combined instance and its restart: the job resumes and completes, and the
 *     partitions the workers were running are not failed.</li>
 * </ol>
 * The cluster is started once for all of them (a JVM start takes seconds on two cores); each scenario
 * starts again the instances the previous one took down. {@code -Dcluster.rounds=N} runs each scenario N
 * times and {@code -Dcluster.mib=M} sizes the input ({@code -Pcluster-loop}: 5 rounds over 1 GiB).
 */
@Timeout(1800)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ClusterIT {
    static final int ROUNDS = Integer.getInteger("cluster.rounds", 1);
    /** The input, at least 512 MiB: half of it in {@code logs/}, the root of the gzip job. */
    static final int MIB = Math.max(512, Integer.getInteger("cluster.mib", 512));
    static final String W1 = "worker-1";
    static final String W2 = "worker-2";
    static final Duration LOSS_TIMEOUT = Duration.ofSeconds(5);
    /** What the issue allows for noticing a lost instance, plus the time to run the partition again. */
    static final Duration NOTICED = LOSS_TIMEOUT.plusSeconds(30);
    /**
     * Small blocks and a commit after each (commit-interval=1): the jobs last long enough to be hit in the middle
     * of a partition, and an attempt's READ_COUNT is the blocks it read (an item is one block).
     */
    static final long BLOCK = 128 << 10;

    @TempDir
    static Path dir;
    static Path input;
    static Path logs;
    static byte[] grepAll;
    static byte[] sha256All;
    static List<String> logFiles;
    static Cluster cluster;

    @BeforeAll
    static void cluster() throws Exception {
        input = Files.createDirectories(dir.resolve("input"));
        KillRestartIT.generate(input, 8, ((long) MIB << 20) / 8);
        logs = input.resolve("logs");
        grepAll = KillRestartIT.referenceGrep(input);
        try (Stream<Path> s = Files.list(logs)) {
            logFiles = s.map(p -> p.getFileName().toString()).sorted().toList();
        }
        List<String> all;
        try (Stream<Path> s = Files.walk(input)) {
            all = new ArrayList<>(s.filter(Files::isRegularFile).map(p -> input.relativize(p).toString()).toList());
        }
        all.sort((a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
        sha256All = RefTools.run(input, List.of("sha256sum"), all);
        cluster = new Cluster(Files.createDirectories(dir.resolve("cluster")), input, 2, List.of(
                "--ringbatch.workers=1",
                "--ringbatch.cluster.loss-timeout=" + LOSS_TIMEOUT.toSeconds() + "s",
                "--ringbatch.io.block-size=" + (BLOCK >> 10) + "KB",
                "--ringbatch.pipeline.commit-interval=1",
                "--ringbatch.pipeline.split-size=16MB")).start();
    }

    @AfterAll
    static void stopCluster() throws Exception {
        if (cluster != null) {
            cluster.close();
            // the instances' logs outlive the temporary directory, for a failure's post-mortem
            Path logs = Files.createDirectories(Path.of("target", "ClusterIT-logs"));
            try (Stream<Path> s = Files.list(cluster.dir)) {
                for (Path log : s.filter(p -> p.getFileName().toString().endsWith(".log")).toList()) {
                    Files.copy(log, logs.resolve(log.getFileName()), java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                }
            }
        }
    }

    /** The instances the previous scenario took down start again; each scenario waits for those it needs. */
    @BeforeEach
    void restartTheDown() {
        cluster.restartTheDown();
    }

    @Test
    @Order(1)
    void aWorkerKilledMidPartitionLosesNothing() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            cluster.awaitAllUp();
            String id = submit("grep", "{\"pattern\": \"" + KillRestartIT.PATTERN + "\"}", input);
            // kill it once it has committed a quarter of a partition: far more than the blocks a run reads beyond
            // the partition's bytes (each piece's first and last), so that a second attempt from the start of the
            // partition would read clearly more than one from the last commit
            Attempts.Attempt victim = awaitRunning(id, W1, 0.25);
            cluster.get(W1).kill();

            Attempts.Attempt second = awaitNextAttempt(id, victim);
            assertThat(second.worker()).as("the second attempt, on another instance").isNotEqualTo(W1);
            assertThat(second.bytesDone()).as("the second attempt starts from the lost one's last commit: %s", second)
                    .isPositive();

            JsonNode job = awaitEnd(id);
            assertThat(job.path("status").asString()).as("%s", job).isEqualTo("COMPLETED");
            assertThat(Files.readAllBytes(outputOf(id).resolve("matches.txt"))).isEqualTo(grepAll);

            Attempts attempts = cluster.attempts(id);
            assertThat(attempts.workers()).as("partitions ran on all three instances; %s", attempts)
                    .contains(Cluster.COMBINED, W1, W2);
            List<Attempts.Attempt> lost = attempts.of(victim);
            assertThat(lost).as("the lost partition's attempts; %s", attempts).hasSize(2);
            assertThat(lost.get(0).status()).isEqualTo("FAILED");
            Attempts.Attempt done = lost.get(1);
            assertThat(done.status()).isEqualTo("COMPLETED");
            long committed = lost.get(0).bytesDone();
            assertThat(committed).as("the lost attempt's last commit").isGreaterThanOrEqualTo(done.bytesTotal() / 4);
            // a run from the partition's start reads at least bytesTotal / BLOCK blocks
            assertThat(done.readCount() * BLOCK).as("the second attempt read only what the first had not committed (%s"
                    + " bytes): %s", committed, done).isLessThan(done.bytesTotal() - committed / 2);
            assertThat(cluster.queued()).as("no partition request left in the queue").isZero();
            cluster.restartTheDown();
        }
    }

    @Test
    @Order(2)
    void aPausedWorkerIsFencedAndWritesNothingToTheOutput() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            Cluster.Instance paused = cluster.get(W2).awaitUp();
            cluster.combined().awaitUp();
            String id = submit("checksum", "{\"algorithm\": \"sha256\"}", input);
            Attempts.Attempt victim = awaitRunning(id, W2, 0);
            long logBefore = Files.size(paused.log());
            paused.pause();
            Attempts.Attempt fenced;
            try {
                awaitNextAttempt(id, victim);
                fenced = cluster.attempts(id).byId(victim.id());
                assertThat(fenced.status()).as("the paused attempt, once another has begun: %s", fenced)
                        .isIn("FAILED", "ABANDONED");
            } finally {
                paused.resume();
            }
            // it goes on where it was paused, and its next commit must fail
            String commitRefused = "Attempt to update step execution id=" + victim.id() + " with wrong version";
            await("the paused worker's late commit refused (" + commitRefused + ") in " + paused.log())
                    .atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200))
                    .until(() -> tail(paused.log(), logBefore).contains(commitRefused));

            JsonNode job = awaitEnd(id);
            assertThat(job.path("status").asString()).as("%s", job).isEqualTo("COMPLETED");
            Attempts attempts = cluster.attempts(id);
            Attempts.Attempt after = attempts.byId(victim.id());
            assertThat(after.status()).as("the fenced attempt as the manager left it; %s", attempts)
                    .isEqualTo(fenced.status());
            assertThat(after.version()).as("nothing of the paused worker's was committed; %s", attempts)
                    .isEqualTo(fenced.version());
            assertThat(after.bytesDone()).isEqualTo(fenced.bytesDone());
            assertThat(attempts.of(victim).get(attempts.of(victim).size() - 1).status()).isEqualTo("COMPLETED");
            assertThat(new String(Files.readAllBytes(outputOf(id).resolve("checksums.sha256")), StandardCharsets.UTF_8))
                    .isEqualTo(new String(sha256All, StandardCharsets.UTF_8));
        }
    }

    @Test
    @Order(3)
    void aWorkerGivenSigtermHandsItsPartitionOn() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            cluster.get(W1).awaitUp();
            cluster.combined().awaitUp();
            String id = submit("gzip", "{\"level\": 1}", logs);
            Attempts.Attempt victim = awaitRunning(id, W1, 0);
            cluster.get(W1).term(Duration.ofSeconds(60));

            JsonNode job = awaitEnd(id);
            assertThat(job.path("status").asString()).as("%s", job).isEqualTo("COMPLETED");
            Attempts attempts = cluster.attempts(id);
            List<Attempts.Attempt> tries = attempts.of(victim);
            assertThat(tries).as("the stopped partition's attempts; %s", attempts).hasSizeGreaterThanOrEqualTo(2);
            assertThat(tries.get(0).status()).isIn("STOPPED", "FAILED");
            assertThat(tries.get(tries.size() - 1).worker()).isNotEqualTo(W1);
            assertThat(tries.get(tries.size() - 1).status()).isEqualTo("COMPLETED");
            Path out = outputOf(id);
            for (String f : logFiles) {
                assertThat(RefTools.run(out, List.of("zcat"), List.of(f + ".gz"))).as("zcat %s.gz", f)
                        .isEqualTo(Files.readAllBytes(logs.resolve(f)));
            }
            cluster.restartTheDown();
        }
    }

    @Test
    @Order(4)
    void theCombinedInstanceKilledAndRestartedResumesTheJob() throws Exception {
        for (int round = 0; round < ROUNDS; round++) {
            cluster.awaitAllUp();
            String id = submit("grep", "{\"pattern\": \"" + KillRestartIT.PATTERN + "\"}", input);
            awaitRunning(id, W1, 0);
            Attempts atKill = cluster.attempts(id);
            cluster.combined().kill();
            // only attempts a worker had begun: a request still in the queue (no worker yet) is withdrawn and
            // failed at the manager's restart, and runs again in the resumed execution
            List<Attempts.Attempt> onWorkers = cluster.attempts(id).running().stream()
                    .filter(a -> a.worker() != null && !Cluster.COMBINED.equals(a.worker())).toList();
            cluster.combined().startAsync().awaitUp();

            JsonNode job = awaitEnd(id);
            assertThat(job.path("status").asString()).as("%s", job).isEqualTo("COMPLETED");
            assertThat(Files.readAllBytes(outputOf(id).resolve("matches.txt"))).isEqualTo(grepAll);
            Attempts attempts = cluster.attempts(id);
            for (Attempts.Attempt a : onWorkers) {
                assertThat(attempts.byId(a.id()).status())
                        .as("a partition a live worker ran through the manager's restart is not failed; at the kill: %s; "
                                + "now: %s", atKill, attempts).isEqualTo("COMPLETED");
            }
        }
    }

    private String submit(String operation, String params, Path root) throws Exception {
        return cluster.combined().process().submit("{\"name\": \"cluster " + operation + "\", \"operation\": \""
                + operation + "\", \"params\": " + params + ", \"input\": {\"root\": \"" + root + "\"}}");
    }

    private JsonNode awaitEnd(String id) {
        return cluster.combined().process().awaitEnd(id, Duration.ofMinutes(5));
    }

    private Path outputOf(String id) {
        return cluster.output.resolve(id);
    }

    /**
     * Waits until an attempt of the job runs on {@code worker} with a commit behind it: at least two blocks, and at
     * least {@code share} of its partition's bytes.
     */
    private Attempts.Attempt awaitRunning(String id, String worker, double share) {
        return await("a partition of job " + id + " running on " + worker + " with " + share + " of it committed")
                .atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    Attempts attempts = cluster.attempts(id);
                    Optional<Attempts.Attempt> hit = attempts.running().stream()
                            .filter(a -> worker.equals(a.worker()) && a.bytesDone() >= 2 * BLOCK
                                    && a.bytesDone() >= share * a.bytesTotal()).findFirst();
                    if (hit.isEmpty()) {
                        // every partition ended before the worker got far enough into one: the input is too small
                        JsonNode job = cluster.combined().process().get("/api/jobs/" + id);
                        assertThat(job.path("status").asString()).as("the job ended before the worker was hit; %s", attempts)
                                .isIn("QUEUED", "STARTING", "STARTED");
                    }
                    return hit;
                }, Optional::isPresent).orElseThrow();
    }

    /** Waits for the next attempt of {@code lost}'s partition, and returns it as first seen. */
    private Attempts.Attempt awaitNextAttempt(String id, Attempts.Attempt lost) {
        Map<Long, Attempts.Attempt> firstSeen = new HashMap<>();
        return await("partition " + lost.partition() + " of job " + id + " runs again after " + lost)
                .atMost(NOTICED).pollInterval(Duration.ofMillis(20))
                .until(() -> {
                    List<Attempts.Attempt> later = new ArrayList<>(cluster.attempts(id).of(lost).stream()
                            .filter(a -> a.id() > lost.id()).toList());
                    // the manager creates the attempt, then writes the copied context: the first context seen
                    // with the partition's keys in it is the copy (or, later, the new attempt's own commits)
                    later.stream().filter(a -> a.context().containsKey("rb.bytesTotal"))
                            .forEach(a -> firstSeen.putIfAbsent(a.id(), a));
                    return later.isEmpty() || !firstSeen.containsKey(later.get(0).id()) ? Optional.<Attempts.Attempt>empty()
                            : Optional.of(firstSeen.get(later.get(0).id()));
                }, Optional::isPresent).orElseThrow();
    }

    private static String tail(Path log, long from) throws java.io.IOException {
        byte[] all = Files.readAllBytes(log);
        return new String(all, (int) Math.min(from, all.length), all.length - (int) Math.min(from, all.length),
                StandardCharsets.UTF_8);
    }
}
