package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.TestDirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.util.FileSystemUtils;

/**
 * Commits by bytes and by time ({@code ringbatch.pipeline.commit-bytes}, {@code commit-time}), with a
 * block count ({@code commit-interval}) too large to matter: a partition commits about once per
 * commit-bytes of input, or once per commit-time of a slow operation, and a restart after a failure still
 * resumes from the last commit with an exact output. The work files go to a {@code ringbatch.work-dir} of
 * their own, outside the data directory.
 */
@SpringBootTest(properties = {
        "ringbatch.io.block-size=64KB",
        "ringbatch.pipeline.split-size=200KB",
        "ringbatch.pipeline.commit-interval=1024",
        "ringbatch.pipeline.commit-bytes=256KB",
        "ringbatch.pipeline.commit-time=300ms",
        "ringbatch.workers=2"})
@Import(CopyOperation.Config.class)
@Timeout(300)
class CommitCadenceTest {
    private static final long COMMIT_BYTES = 256 * 1024;
    private static final Path DIR = fresh();
    static Path input;

    @Autowired
    JobRunner runner;

    @Autowired
    RunStates runStates;

    @Autowired
    Pipeline pipeline;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> DIR);
        registry.add("ringbatch.work-dir", () -> DIR.resolve("shared-work").toString());
    }

    @BeforeAll
    static void tree() throws IOException {
        input = Files.createDirectories(DIR.resolve("input/cadence"));
        Random r = new Random(3);
        for (int i = 0; i < 6; i++) {
            byte[] b = new byte[2_000_000 + 100_000 * i];
            r.nextBytes(b);
            Files.write(input.resolve("f" + i + ".bin"), b);
        }
    }

    @Test
    void aPartitionCommitsOncePerCommitBytesAndARestartResumesFromItsLastCommit() throws Exception {
        String clean = "cadence-" + UUID.randomUUID();
        runner.start(definition(clean));
        assertThat(PipelineTest.awaitEnd(runner, clean, Duration.ofMinutes(2)).status()).isEqualTo("COMPLETED");
        assertCopies(DIR.resolve("output").resolve(clean));
        // the work files under ringbatch.work-dir, none under the data dir
        assertThat(DIR.resolve("shared-work").resolve(clean).resolve("plan.json")).isRegularFile();
        assertThat(DIR.resolve("shared-work").resolve(clean).resolve("parts")).isDirectory();
        assertThat(DIR.resolve("jobs").resolve(clean)).doesNotExist();
        Plan plan = pipeline.files(clean).readPlan();
        for (StepExecution s : runStates.latestWorkerSteps(clean)) {
            long bytes = plan.partitions().get(s.getExecutionContext().getInt("partition")).bytes();
            // an item (a commit) holds commit-bytes and at most one block more, unless the partition ends
            // (1024 blocks, the count, would make one item of the whole partition)
            assertThat((long) s.getReadCount()).as("items of %s over %d bytes", s.getStepName(), bytes)
                    .isGreaterThanOrEqualTo(bytes / (COMMIT_BYTES + 64 * 1024));
            assertThat(s.getReadCount()).isGreaterThanOrEqualTo(2);
        }

        CopyOperation.CALLS.set(0);
        CopyOperation.failAt = 60;
        String id = "cadence-failed-" + UUID.randomUUID();
        try {
            runner.start(definition(id));
            assertThat(PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2)).status()).isEqualTo("FAILED");
        } finally {
            CopyOperation.failAt = -1;
        }
        long before = runStates.state(id).bytesDone();
        runner.restart(id);
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(before).as("committed before the failure").isPositive();
        assertCopies(DIR.resolve("output").resolve(id));
    }

    @Test
    void aSlowOperationCommitsOncePerCommitTime() throws Exception {
        CopyOperation.delayMillis = 120; // per block: 256 KB (4 blocks) would take 480 ms, over commit-time
        String id = "cadence-slow-" + UUID.randomUUID();
        try {
            runner.start(definition(id));
            RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
            assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        } finally {
            CopyOperation.delayMillis = 0;
        }
        assertCopies(DIR.resolve("output").resolve(id));
        long blocks = 0;
        long items = 0;
        for (StepExecution s : runStates.latestWorkerSteps(id)) {
            items += s.getReadCount();
            Plan plan = pipeline.files(id).readPlan();
            Plan.PartitionEntry p = plan.partitions().get(s.getExecutionContext().getInt("partition"));
            for (int i = p.firstPiece(); i < p.endPiece(); i++) {
                Plan.PieceEntry piece = plan.pieces().get(i);
                blocks += Math.max(1, (piece.end() - piece.start() + 65535) / 65536);
            }
        }
        // by bytes alone an item would hold 4 blocks; by time (300 ms of 120 ms blocks) it holds 3 at most
        assertThat(items).as("items (commits) for %d blocks", blocks).isGreaterThanOrEqualTo(blocks / 3);
    }

    private static JobDefinition definition(String id) {
        return new JobDefinition(id, "copy-whole", Map.of(), input, List.of(), List.of(), DIR.resolve("output").resolve(id),
                false);
    }

    private static void assertCopies(Path out) throws IOException {
        try (Stream<Path> s = Files.list(input)) {
            for (Path f : s.toList()) {
                assertThat(Files.mismatch(f, out.resolve(f.getFileName().toString()))).as("copy of %s", f).isEqualTo(-1);
            }
        }
    }

    private static Path fresh() {
        try {
            Path dir = Path.of("target", "commit-cadence-tests").toAbsolutePath();
            FileSystemUtils.deleteRecursively(dir);
            Files.createDirectories(dir.resolve("input"));
            Files.createDirectories(dir.resolve("output"));
            return dir.toRealPath();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
