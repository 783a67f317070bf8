package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.TestDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.UUID;
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
 * Many small files with {@code commit-interval} at its default: bytes decide the commits, not a count of
 * files (the count was capped at 1,024 files per commit). Real io_uring on real files, the partition's files
 * opened and read ahead. A partition commits once per {@code commit-bytes} of input (a commit reaching the
 * bound on a file's last data takes the file's end too), and a failure in the middle of a commit of many
 * small files resumes at a restart exactly from the last commit: nothing lost, nothing processed twice.
 */
@SpringBootTest(properties = {
        "ringbatch.io.block-size=64KB",
        "ringbatch.pipeline.split-size=64KB",
        "ringbatch.pipeline.commit-bytes=96KB",
        "ringbatch.pipeline.commit-time=1h",
        "ringbatch.workers=1"})
@Import(SmallFilesRestartTest.Config.class)
@Timeout(300)
class SmallFilesCommitBytesTest {
    private static final int FILES = 1500;
    private static final long COMMIT_BYTES = 96 * 1024;
    private static final Path DIR = fresh();
    static Path input;
    static String expected;

    @Autowired
    JobRunner runner;

    @Autowired
    RunStates runStates;

    @Autowired
    Pipeline pipeline;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> DIR);
    }

    @BeforeAll
    static void tree() throws Exception {
        input = Files.createDirectories(DIR.resolve("input/small"));
        SplittableRandom r = new SplittableRandom(23);
        TreeMap<String, String> lines = new TreeMap<>();
        for (int i = 0; i < FILES; i++) {
            String rel = "d" + (i % 5) + "/f" + i + ".txt";
            // 1 byte to 2 KiB: one block each, never empty, so that each file is one process call
            byte[] b = new byte[1 + r.nextInt(2048)];
            r.nextBytes(b);
            Path f = input.resolve(rel);
            Files.createDirectories(f.getParent());
            Files.write(f, b);
            lines.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)) + "  " + rel + "\n");
        }
        expected = String.join("", lines.values());
    }

    @Test
    void theDefaultCommitIntervalLeavesTheCommitsToCommitBytes() throws Exception {
        assertThat(pipeline.commitInterval()).as("the default count").isGreaterThan(FILES);
        String id = "bytes-" + UUID.randomUUID();
        runner.start(definition(id));
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(output(id)).isEqualTo(expected);
        Plan plan = pipeline.files(id).readPlan();
        long items = 0;
        for (StepExecution s : runStates.latestWorkerSteps(id)) {
            Plan.PartitionEntry p = plan.partitions().get(s.getExecutionContext().getInt("partition"));
            // a commit closes once its files' bytes reach commit-bytes: the count of those groups, in order
            int commits = 0;
            long bytes = 0;
            for (int piece = p.firstPiece(); piece < p.endPiece(); piece++) {
                bytes += plan.files().get(plan.pieces().get(piece).file()).size();
                if (bytes >= COMMIT_BYTES) {
                    commits++;
                    bytes = 0;
                }
            }
            if (bytes > 0) {
                commits++;
            }
            assertThat(s.getReadCount()).as("items of a partition of %d files, %d bytes", p.endPiece() - p.firstPiece(),
                    p.bytes()).isEqualTo(commits);
            items += s.getReadCount();
        }
        // about 1 KiB a file: some 90 files a commit, far fewer commits than files (or than 16-file commits)
        assertThat(items).isLessThan(FILES / 50);
    }

    @Test
    void aFailureInTheMiddleOfACommitOfManySmallFilesResumesFromTheLastCommitWithNothingLostOrDoubled()
            throws Exception {
        String id = "bytes-failed-" + UUID.randomUUID();
        SmallFilesRestartTest.FailingChecksum.CALLS.set(0);
        SmallFilesRestartTest.FailingChecksum.OPENED.set(0);
        // the 700th file fails in the middle of a commit: files processed since the last one, the next ones
        // opened and read ahead
        SmallFilesRestartTest.FailingChecksum.failAt = 700;
        try {
            runner.start(definition(id));
            RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
            assertThat(failed.status()).isEqualTo("FAILED");
        } finally {
            SmallFilesRestartTest.FailingChecksum.failAt = -1;
        }
        // the other partitions ran to their ends; the failed one kept what it had committed
        long committed = runStates.state(id).filesDone();
        assertThat(committed).as("files committed before the failure").isPositive().isLessThan(FILES);
        // files processed after the failed partition's last commit (the failing one and some before it): lost
        // with the failure, processed again by the restart
        assertThat(SmallFilesRestartTest.FailingChecksum.OPENED.get()).as("files the failed run processed")
                .isGreaterThan((int) committed + 1);

        SmallFilesRestartTest.FailingChecksum.OPENED.set(0);
        runner.restart(id);
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(SmallFilesRestartTest.FailingChecksum.OPENED.get()).as("files the restart processed")
                .isEqualTo(FILES - (int) committed);
        assertThat(done.filesDone()).isEqualTo(FILES);
        assertThat(output(id)).isEqualTo(expected);
    }

    private static String output(String id) throws IOException {
        return Files.readString(DIR.resolve("output").resolve(id).resolve("checksums.sha256"), StandardCharsets.ISO_8859_1);
    }

    private static JobDefinition definition(String id) {
        return new JobDefinition(id, SmallFilesRestartTest.FailingChecksum.NAME, Map.of("algorithm", "sha256"), input,
                List.of(), List.of(), DIR.resolve("output").resolve(id), false);
    }

    private static Path fresh() {
        try {
            Path dir = Path.of("target", "small-files-commit-bytes-tests").toAbsolutePath();
            FileSystemUtils.deleteRecursively(dir);
            Files.createDirectories(dir.resolve("input"));
            Files.createDirectories(dir.resolve("output"));
            return dir.toRealPath();
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}
