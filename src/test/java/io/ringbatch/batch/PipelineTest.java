package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * The pipeline's mechanics on the real H2 file database, the real engine and real files, with small
 * blocks, ranges and chunks so that a small tree exercises every boundary: each file must come out of a
 * copying operation byte for byte, with whole files, byte ranges and line ranges, and after a failure
 * half-way and a restart.
 */
@RunnerTest
@Timeout(300)
class PipelineTest {
    static Path input;
    static Path outputs;

    @Autowired
    JobRunner runner;

    @Autowired
    RunStates runStates;

    @BeforeAll
    static void tree() throws IOException {
        input = Files.createDirectories(TestDirs.runner().resolve("input/PipelineTest"));
        outputs = TestDirs.runner().resolve("output");
        Random r = new Random(11);
        write("empty.txt", new byte[0]);
        write("one.txt", "x".getBytes());
        write("nested/deeper/page.bin", random(r, 4096));
        write("nested/page-plus.bin", random(r, 4097));
        write("block.txt", lines(r, 64 * 1024, false));
        write("with space é.txt", lines(r, 300_000, true));
        write("crlf.txt", crlfLines(r, 150_000));
        write("no-final-newline.txt", lines(r, 500_000, false));
        // a line longer than a block, and longer than a range
        byte[] longLine = new byte[700_000];
        java.util.Arrays.fill(longLine, (byte) 'a');
        longLine[longLine.length - 1] = '\n';
        byte[] mixed = concat(lines(r, 100_000, true), longLine, lines(r, 300_000, true));
        write("long-line.txt", mixed);
        write("big.txt", lines(r, 3_000_000, true));
        write("newlines-only.txt", "\n\n\n\n".repeat(100_000).getBytes());
        write("binary.bin", random(r, 1_000_000));
    }

    @Test
    void wholeFilesComeThroughByteForByte() throws Exception {
        assertCopies(run("copy-whole"));
    }

    @Test
    void byteRangesComeThroughByteForByte() throws Exception {
        assertCopies(run("copy-bytes"));
    }

    @Test
    void lineRangesOwnEveryLineExactlyOnce() throws Exception {
        Path out = run("copy-lines");
        assertCopies(out);
        // only a file's very last line may arrive without its newline: once per file that lacks a final one
        List<String> unterminated = Files.readAllLines(out.resolve("unterminated.txt")).stream()
                .filter(l -> !l.isEmpty()).toList();
        List<String> files = unterminated.stream().map(l -> l.substring(0, l.lastIndexOf('@'))).toList();
        assertThat(files).doesNotHaveDuplicates().contains("no-final-newline.txt");
        for (String f : files) {
            byte[] bytes = Files.readAllBytes(input.resolve(f));
            assertThat(bytes[bytes.length - 1]).as("%s ends with a newline, yet a call ended without one", f)
                    .isNotEqualTo((byte) '\n');
        }
    }

    @Test
    void partitionsAreHandedOutLargestFirst() throws Exception {
        String id = submit("copy-whole");
        assertThat(await(id).status()).isEqualTo("COMPLETED");
        Plan plan = new JobFiles(TestDirs.runner().resolve("jobs"), id).readPlan();
        // the planner aims at 4 partitions per worker (2 here): the tree makes more partitions than
        // workers, so that some are handed out only after others have ended
        assertThat(plan.partitions()).hasSizeGreaterThan(2 * 2);
        assertThat(plan.partitions().stream().map(Plan.PartitionEntry::bytes).distinct().count())
                .as("partitions of different sizes").isGreaterThan(2);
        List<org.springframework.batch.core.step.StepExecution> steps = new ArrayList<>(runStates.latestWorkerSteps(id));
        assertThat(steps).hasSize(plan.partitions().size());
        // a FIFO executor hands out the k-th task no earlier than the (k-1)-th. Two workers that take tasks
        // at about the same time may stamp their start times in either order, but a step that started
        // after another had ended was handed out after it: it must not be larger
        int compared = 0;
        for (var a : steps) {
            for (var b : steps) {
                if (b.getStartTime().isAfter(a.getEndTime())) {
                    compared++;
                    assertThat(bytes(plan, b)).as("%s started after %s ended", b.getStepName(), a.getStepName())
                            .isLessThanOrEqualTo(bytes(plan, a));
                }
            }
        }
        assertThat(compared).as("pairs of partitions where one started after the other ended").isPositive();
    }

    private static long bytes(Plan plan, org.springframework.batch.core.step.StepExecution s) {
        return plan.partitions().get(s.getExecutionContext().getInt("partition")).bytes();
    }

    @Test
    void aFailedJobRestartsWhereItStoppedAndTheOutputIsTheSame() throws Exception {
        CopyOperation.CALLS.set(0);
        CopyOperation.failAt = 40;
        String id = submit("copy-lines");
        RunState failed = await(id);
        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.error()).contains("the failure the test asked for");
        assertThat(failed.bytesDone()).isLessThan(failed.bytesTotal());
        CopyOperation.failAt = -1;
        runner.restart(id);
        RunState done = await(id);
        assertThat(done.status()).isEqualTo("COMPLETED");
        assertThat(done.executions()).hasSize(2);
        assertThat(done.bytesDone()).isEqualTo(done.bytesTotal());
        assertCopies(outputs.resolve(id));
    }

    /**
     * A block's output is written as it is processed, before the commit that counts it: a failure leaves
     * output of the pieces its chunk started, which the restart must not append to.
     */
    @ParameterizedTest
    @ValueSource(ints = {3, 5, 8, 13, 21, 34, 55})
    void aFailedChunkLeavesNothingInTheOutputOfItsRestart(int failAt) throws Exception {
        CopyOperation.CALLS.set(0);
        CopyOperation.failAt = failAt;
        String id = submit("copy-whole");
        RunState failed = await(id);
        assertThat(failed.status()).isEqualTo("FAILED");
        CopyOperation.failAt = -1;
        runner.restart(id);
        assertThat(await(id).status()).isEqualTo("COMPLETED");
        assertCopies(outputs.resolve(id));
    }

    @Test
    void aStoppedJobEndsStoppedAndItsRestartFinishesTheSameOutput() throws Exception {
        CopyOperation.delayMillis = 15;
        String id;
        try {
            id = submit("copy-bytes");
            awaitProgress(id);
            runner.stop(id);
            RunState stopped = await(id);
            assertThat(stopped.status()).isEqualTo("STOPPED");
            assertThat(stopped.bytesDone()).isPositive().isLessThan(stopped.bytesTotal());
            assertThat(outputs.resolve(id)).doesNotExist();
            assertThatThrownBy(() -> runner.stop(id)).isInstanceOf(JobRunnerException.class)
                    .matches(e -> ((JobRunnerException) e).conflict());
        } finally {
            CopyOperation.delayMillis = 0;
        }
        runner.restart(id);
        RunState done = await(id);
        assertThat(done.status()).isEqualTo("COMPLETED");
        assertCopies(outputs.resolve(id));
        assertThatThrownBy(() -> runner.restart(id)).isInstanceOf(JobRunnerException.class)
                .hasMessageContaining("complete");
        assertThatThrownBy(() -> runner.abandon(id)).isInstanceOf(JobRunnerException.class);
    }

    @Test
    void aStoppedJobCanBeAbandonedAndThenNeverRestarts() throws Exception {
        CopyOperation.delayMillis = 15;
        String id;
        try {
            id = submit("copy-whole");
            awaitProgress(id);
            runner.stop(id);
            assertThat(await(id).status()).isEqualTo("STOPPED");
        } finally {
            CopyOperation.delayMillis = 0;
        }
        runner.abandon(id);
        assertThat(runner.state(id).status()).isEqualTo("ABANDONED");
        assertThatThrownBy(() -> runner.restart(id)).isInstanceOf(JobRunnerException.class)
                .hasMessageContaining("abandoned");
    }

    @Test
    void aFileChangedWhileTheJobRunsFailsItByName(@TempDir Path scratch) throws Exception {
        Path root = changingTree();
        CopyOperation.delayMillis = 30;
        try {
            String id = "changed-" + UUID.randomUUID();
            runner.start(new JobDefinition(id, "copy-whole", Map.of(), root, List.of(), List.of(), outputs.resolve(id),
                    false));
            awaitProgress(id);
            Files.writeString(root.resolve("z-last.txt"), "changed after planning\n");
            RunState failed = await(id);
            assertThat(failed.status()).isEqualTo("FAILED");
            assertThat(failed.error()).contains("z-last.txt").contains("changed while the job ran");
            assertThat(outputs.resolve(id)).doesNotExist();
        } finally {
            CopyOperation.delayMillis = 0;
        }
    }

    @Test
    void withSkipUnreadableAChangedFileIsListedAndTheRestCompletes() throws Exception {
        Path root = changingTree();
        CopyOperation.delayMillis = 30;
        String id = "skipped-" + UUID.randomUUID();
        try {
            runner.start(new JobDefinition(id, "copy-whole", Map.of(), root, List.of(), List.of(), outputs.resolve(id),
                    true));
            awaitProgress(id);
            Files.writeString(root.resolve("z-last.txt"), "changed after planning\n");
        } finally {
            CopyOperation.delayMillis = 0;
        }
        RunState done = await(id);
        assertThat(done.status()).isEqualTo("COMPLETED");
        String report = Files.readString(outputs.resolve(id).resolve("job-report.json"));
        assertThat(report).contains("z-last.txt").contains("changed while the job ran");
        assertThat(outputs.resolve(id).resolve("a-00.txt")).exists();
        assertThat(outputs.resolve(id).resolve("a-19.txt")).exists();
    }

    /** A tree whose last file (by path) is read well after the job starts. */
    private static Path changingTree() throws IOException {
        // small enough for one partition, so that its files are read one after the other
        Path root = Files.createDirectories(input.resolve("changing-" + UUID.randomUUID()));
        Random r = new Random(5);
        for (int i = 0; i < 20; i++) {
            Files.write(root.resolve(String.format("a-%02d.txt", i)), lines(r, 1000, true));
        }
        Files.writeString(root.resolve("z-last.txt"), "planned\n");
        return root;
    }

    /** Waits until the job has committed something. */
    private void awaitProgress(String id) {
        Awaitility.await("job " + id + " committed a chunk").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
                .until(() -> runner.state(id).bytesDone() > 0);
    }

    private Path run(String operation) throws Exception {
        String id = submit(operation);
        RunState state = await(id);
        assertThat(state.status()).as("job %s: %s", id, state.error()).isEqualTo("COMPLETED");
        assertThat(state.filesDone()).isEqualTo(state.filesTotal()).isEqualTo(12);
        assertThat(state.partitions()).hasSizeGreaterThan(2);
        return outputs.resolve(id);
    }

    private String submit(String operation) throws Exception {
        String id = operation + "-" + UUID.randomUUID();
        runner.start(new JobDefinition(id, operation, Map.of(), input, List.of(), List.of("changing-*/**"), outputs.resolve(id),
                false));
        return id;
    }

    private RunState await(String id) {
        return awaitEnd(runner, id, Duration.ofMinutes(2));
    }

    /** Polls the job's state until it has ended (any final status), or fails after {@code timeout}. */
    static RunState awaitEnd(JobRunner runner, String id, Duration timeout) {
        return Awaitility.await("job " + id + " ended").atMost(timeout).pollInterval(Duration.ofMillis(50))
                .until(() -> runner.state(id), s -> s.status() != null
                        && List.of("COMPLETED", "FAILED", "STOPPED", "ABANDONED").contains(s.status()));
    }

    private static void assertCopies(Path out) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(input)) {
            files = s.filter(Files::isRegularFile).filter(f -> !input.relativize(f).toString().startsWith("changing-"))
                    .toList();
        }
        assertThat(files).hasSize(12);
        for (Path f : files) {
            Path copy = out.resolve(input.relativize(f).toString());
            assertThat(copy).as("copy of %s", f).exists();
            assertThat(Files.mismatch(f, copy)).as("first differing byte of %s", input.relativize(f)).isEqualTo(-1);
        }
        assertThat(out.resolve("job-report.json")).exists();
    }

    private static void write(String name, byte[] data) throws IOException {
        Path p = input.resolve(name);
        Files.createDirectories(p.getParent());
        Files.write(p, data);
    }

    private static byte[] random(Random r, int n) {
        byte[] b = new byte[n];
        r.nextBytes(b);
        return b;
    }

    private static byte[] lines(Random r, int size, boolean finalNewline) {
        StringBuilder sb = new StringBuilder();
        while (sb.length() < size) {
            int len = r.nextInt(200);
            for (int i = 0; i < len; i++) {
                sb.append((char) ('a' + r.nextInt(26)));
            }
            sb.append('\n');
        }
        byte[] b = sb.substring(0, size).getBytes(StandardCharsets.ISO_8859_1);
        if (finalNewline) {
            b[b.length - 1] = '\n';
        } else if (b[b.length - 1] == '\n') {
            b[b.length - 1] = 'z';
        }
        return b;
    }

    private static byte[] crlfLines(Random r, int size) {
        return new String(lines(r, size, true), StandardCharsets.ISO_8859_1).replace("\n", "\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[]... parts) {
        List<Byte> out = new ArrayList<>();
        int n = 0;
        for (byte[] p : parts) {
            n += p.length;
        }
        byte[] all = new byte[n];
        int at = 0;
        for (byte[] p : parts) {
            System.arraycopy(p, 0, all, at, p.length);
            at += p.length;
        }
        return all;
    }
}
