package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import java.util.UUID;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Each partition attempt's own work files, on the real pipeline: a new attempt starts from the committed
 * prefix of the last one whatever lies past it, the finish step reads exactly the committed lengths, and a
 * stop raised on another instance (the marker in the shared work directory) stops the partitions here.
 */
@RunnerTest
@Timeout(300)
class AttemptFilesTest {
    private static final byte[] GARBAGE = "GARBAGE past the commit, which nothing may read\n".repeat(50)
            .getBytes(StandardCharsets.US_ASCII);
    static Path input;
    static Path outputs;

    @Autowired
    JobRunner runner;

    @Autowired
    RunStates runStates;

    @Autowired
    Pipeline pipeline;

    @BeforeAll
    static void tree() throws IOException {
        input = Files.createDirectories(TestDirs.runner().resolve("input/AttemptFilesTest"));
        outputs = TestDirs.runner().resolve("output");
        Random r = new Random(7);
        for (int i = 0; i < 8; i++) {
            StringBuilder sb = new StringBuilder();
            while (sb.length() < 400_000 + i * 10_000) {
                int len = r.nextInt(120);
                for (int k = 0; k < len; k++) {
                    sb.append((char) ('a' + r.nextInt(26)));
                }
                sb.append('\n');
            }
            Path f = input.resolve(String.format("d%d/file-%02d.txt", i % 3, i));
            Files.createDirectories(f.getParent());
            Files.writeString(f, sb, StandardCharsets.US_ASCII);
        }
    }

    @Test
    void aRestartStartsFromTheCommittedPrefixWhateverLiesPastItInTheOldAttemptsFiles() throws Exception {
        String id = null;
        List<StepExecution> given = List.of();
        // a failure late enough that a failed partition has committed part of a piece's output
        for (int failAt : new int[] {20, 26, 31, 37, 43, 50}) {
            CopyOperation.CALLS.set(0);
            CopyOperation.failAt = failAt;
            try {
                id = submit("copy-lines");
                assertThat(await(id).status()).isEqualTo("FAILED");
            } finally {
                CopyOperation.failAt = -1;
            }
            given = runStates.latestWorkerSteps(id).stream().filter(s -> s.getStatus() != BatchStatus.COMPLETED)
                    .filter(s -> s.getExecutionContext().containsKey(PartitionState.OUTPUT_FILE)).toList();
            if (!given.isEmpty()) {
                break;
            }
        }
        assertThat(given).as("a failed attempt that committed part of a piece's output").isNotEmpty();
        Path work = pipeline.files(id).dir();
        // what a worker that was given up might still write: garbage past every commit of every attempt
        try (Stream<Path> s = Stream.concat(Files.list(work.resolve("parts")), Files.list(work.resolve("pieces")))) {
            for (Path f : s.toList()) {
                Files.write(f, GARBAGE, StandardOpenOption.APPEND);
            }
        }
        Set<String> oldRecords = new TreeSet<>();
        for (StepExecution s : runStates.latestWorkerSteps(id)) {
            if (s.getStatus() != BatchStatus.COMPLETED) {
                oldRecords.add(s.getExecutionContext().getString(PartitionState.RECORDS_FILE));
            }
        }

        runner.restart(id);
        RunState done = await(id);
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertCopies(outputs.resolve(id));
        for (StepExecution s : runStates.latestWorkerSteps(id)) {
            ExecutionContext ctx = s.getExecutionContext();
            assertThat(s.getStatus()).isEqualTo(BatchStatus.COMPLETED);
            // each attempt wrote files of its own: the new attempts did not write into the old ones
            assertThat(ctx.getLong(PartitionState.ATTEMPT)).isEqualTo(s.getId());
            assertThat(ctx.getString(PartitionState.RECORDS_FILE))
                    .isEqualTo(JobFiles.recordsName(ctx.getInt("partition"), s.getId()));
        }
        // the given-up attempts' record files went when the output was in place
        for (String name : oldRecords) {
            assertThat(work.resolve(name)).as("record file of an attempt given up").doesNotExist();
        }
    }

    @Test
    void theFinishStepReadsExactlyTheCommittedLengthsNotTheFilesSizes() throws Exception {
        for (String operation : List.of("copy-whole", "gzip")) {
            String id = operation + "-" + UUID.randomUUID();
            FinishTasklet.beforeRename = job -> {
                throw new IllegalStateException("the test's failure before the rename");
            };
            try {
                runner.start(definition(id, operation, operation.equals("gzip") ? Map.of("level", "1") : Map.of()));
                assertThat(await(id).status()).isEqualTo("FAILED");
            } finally {
                FinishTasklet.beforeRename = null;
            }
            // every work file made longer than its attempt committed, as an NFS client's cached size or a
            // worker still writing would make it
            Path work = pipeline.files(id).dir();
            int grown = 0;
            try (Stream<Path> s = Stream.concat(Files.list(work.resolve("parts")),
                    Files.exists(work.resolve("pieces")) ? Files.list(work.resolve("pieces")) : Stream.empty())) {
                for (Path f : s.toList()) {
                    Files.write(f, GARBAGE, StandardOpenOption.APPEND);
                    grown++;
                }
            }
            assertThat(grown).isGreaterThan(8);
            runner.restart(id);
            RunState done = await(id);
            assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
            if (operation.equals("gzip")) {
                for (Path f : inputs()) {
                    Path gz = outputs.resolve(id).resolve(input.relativize(f) + ".gz");
                    try (InputStream in = new GZIPInputStream(Files.newInputStream(gz))) {
                        assertThat(in.readAllBytes()).as("zcat of %s", gz).isEqualTo(Files.readAllBytes(f));
                    }
                }
            } else {
                assertCopies(outputs.resolve(id));
                assertThat(Files.readString(outputs.resolve(id).resolve("unterminated.txt"))).isEmpty();
            }
        }
    }

    @Test
    void aStopRaisedOnAnotherInstanceStopsThePartitionsHereAndTheRestartCompletes() throws Exception {
        String id = "copy-bytes-" + UUID.randomUUID();
        CopyOperation.delayMillis = 250; // some 15 s for the whole job without a stop
        try {
            runner.start(definition(id, "copy-bytes", Map.of()));
            Awaitility.await("job " + id + " committed a chunk").atMost(Duration.ofSeconds(30))
                    .pollInterval(Duration.ofMillis(10)).until(() -> runner.state(id).bytesDone() > 0);
            // another instance's registry on the same work directory: nothing of this process's stop is raised,
            // neither its flag nor Spring Batch's status, which a partition sees only at a commit
            new StopRegistry(pipeline.workDir()).raise(id);
            RunState stopped = Awaitility.await("partitions stopped by the marker").atMost(Duration.ofSeconds(3))
                    .pollInterval(Duration.ofMillis(20)).until(() -> runner.state(id),
                            s -> List.of("STOPPED", "FAILED", "COMPLETED").contains(s.status()));
            assertThat(stopped.status()).as(stopped.error()).isEqualTo("STOPPED");
            assertThat(stopped.bytesDone()).isLessThan(stopped.bytesTotal());
        } finally {
            CopyOperation.delayMillis = 0;
        }
        runner.restart(id);
        assertThat(pipeline.files(id).dir().resolve(StopRegistry.MARKER)).as("reset by the restart").doesNotExist();
        RunState done = await(id);
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertCopies(outputs.resolve(id));
    }

    private String submit(String operation) throws Exception {
        String id = operation + "-" + UUID.randomUUID();
        runner.start(definition(id, operation, Map.of()));
        return id;
    }

    private static JobDefinition definition(String id, String operation, Map<String, String> params) {
        return new JobDefinition(id, operation, params, input, List.of(), List.of(), outputs.resolve(id), false);
    }

    private RunState await(String id) {
        return PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
    }

    private static List<Path> inputs() throws IOException {
        try (Stream<Path> s = Files.walk(input)) {
            return new ArrayList<>(s.filter(Files::isRegularFile).toList());
        }
    }

    private static void assertCopies(Path out) throws IOException {
        List<Path> files = inputs();
        assertThat(files).hasSize(8);
        for (Path f : files) {
            Path copy = out.resolve(input.relativize(f).toString());
            assertThat(copy).as("copy of %s", f).exists();
            assertThat(Files.mismatch(f, copy)).as("first differing byte of %s", input.relativize(f)).isEqualTo(-1);
        }
    }
}
