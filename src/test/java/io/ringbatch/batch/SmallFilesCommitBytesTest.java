package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.TestDirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
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
    private static final Path DIR = TestDirs.make("small-files-commit-bytes-tests");
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
        expected = SmallFilesRestartTest.writeTree(input, FILES, 5, 2048, 23);
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
        return SmallFilesRestartTest.output(DIR, id);
    }

    private static JobDefinition definition(String id) {
        return SmallFilesRestartTest.definition(DIR, input, id);
    }
}
