package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.TestDirs;
import io.ringbatch.operation.ChecksumOperation;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.ParameterSpec;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
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
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Import;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * Many small files through the real pipeline (io_uring, the partition's files read one after another with
 * a window opened ahead): a commit holds {@code commit-interval} files of one block each, and a job that
 * fails in the middle of a batch of small files (files opened and read ahead, files processed since the
 * last commit) resumes at a restart exactly from its last commit: every file the failed run had not
 * committed is processed once more, no committed one again, and the output equals {@code sha256sum}'s,
 * each file once.
 */
@SpringBootTest(properties = {
        "ringbatch.io.block-size=64KB",
        "ringbatch.pipeline.split-size=64KB",
        "ringbatch.pipeline.commit-interval=16",
        "ringbatch.pipeline.commit-bytes=64MB",
        "ringbatch.pipeline.commit-time=1h",
        "ringbatch.workers=1"})
@Import(SmallFilesRestartTest.Config.class)
@Timeout(300)
class SmallFilesRestartTest {
    private static final int FILES = 600;
    private static final int COMMIT_FILES = 16;
    private static final Path DIR = TestDirs.make("small-files-restart-tests");
    static Path input;
    /** sha256sum's lines over the input, in path-byte order. */
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
        expected = writeTree(input, FILES, 7, 4096, 11);
    }

    /**
     * {@code files} files of 1 byte to {@code maxBytes} (one block each; never empty, so that each file is one
     * process call) in {@code folders} folders, from the seed; returns sha256sum's lines over them, in
     * path-byte order.
     */
    static String writeTree(Path input, int files, int folders, int maxBytes, long seed) throws Exception {
        SplittableRandom r = new SplittableRandom(seed);
        TreeMap<String, String> lines = new TreeMap<>();
        for (int i = 0; i < files; i++) {
            String rel = "d" + (i % folders) + "/f" + i + ".txt";
            byte[] b = new byte[1 + r.nextInt(maxBytes)];
            r.nextBytes(b);
            Path f = input.resolve(rel);
            Files.createDirectories(f.getParent());
            Files.write(f, b);
            lines.put(rel, HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(b)) + "  " + rel + "\n");
        }
        return String.join("", lines.values());
    }

    @Test
    void aCommitHoldsCommitIntervalFilesOfOneBlock() throws Exception {
        String id = "small-" + UUID.randomUUID();
        runner.start(definition(id));
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(output(id)).isEqualTo(expected);
        Plan plan = pipeline.files(id).readPlan();
        assertThat(plan.partitions()).as("several partitions").hasSizeGreaterThan(1);
        for (StepExecution s : runStates.latestWorkerSteps(id)) {
            Plan.PartitionEntry p = plan.partitions().get(s.getExecutionContext().getInt("partition"));
            int files = p.endPiece() - p.firstPiece();
            // an item is a commit: commit-interval files, the empty item that ends each file not counted
            assertThat(s.getReadCount()).as("items of a partition of %d files", files)
                    .isEqualTo((files + COMMIT_FILES - 1) / COMMIT_FILES);
        }
    }

    @Test
    void aFailureInTheMiddleOfABatchOfSmallFilesResumesFromTheLastCommitWithNothingLostOrDoubled()
            throws Exception {
        String id = "small-failed-" + UUID.randomUUID();
        FailingChecksum.CALLS.set(0);
        FailingChecksum.OPENED.set(0);
        // one worker, partitions of 150-odd files run one after another: the 250th file fails in the middle of
        // a partition, files processed since its last commit and the next ones opened and read ahead
        FailingChecksum.failAt = 250;
        try {
            runner.start(definition(id));
            RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
            assertThat(failed.status()).isEqualTo("FAILED");
        } finally {
            FailingChecksum.failAt = -1;
        }
        long committed = runStates.state(id).filesDone();
        assertThat(committed).as("files committed before the failure").isPositive().isLessThan(FILES);
        assertThat(FailingChecksum.OPENED.get()).as("files the failed run processed")
                .isGreaterThan((int) committed);

        FailingChecksum.OPENED.set(0);
        runner.restart(id);
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(2));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        // exactly the files not committed, each once: none of the committed ones again
        assertThat(FailingChecksum.OPENED.get()).as("files the restart processed").isEqualTo(FILES - (int) committed);
        assertThat(done.filesDone()).isEqualTo(FILES);
        assertThat(output(id)).isEqualTo(expected);
    }

    private static String output(String id) throws IOException {
        return output(DIR, id);
    }

    /** The job's {@code checksums.sha256} under {@code dir}'s output root. */
    static String output(Path dir, String id) throws IOException {
        return Files.readString(dir.resolve("output").resolve(id).resolve("checksums.sha256"), StandardCharsets.ISO_8859_1);
    }

    private static JobDefinition definition(String id) {
        return definition(DIR, input, id);
    }

    /** A sha256 job of {@link FailingChecksum} over {@code input}, its output under {@code dir}'s output root. */
    static JobDefinition definition(Path dir, Path input, String id) {
        return new JobDefinition(id, FailingChecksum.NAME, Map.of("algorithm", "sha256"), input, List.of(), List.of(),
                dir.resolve("output").resolve(id), false);
    }

    /** The checksum operation, counting the pieces it opens; the n-th process call of the JVM fails once. */
    static final class FailingChecksum implements Operation {
        static final String NAME = "checksum-failing";
        static final AtomicInteger CALLS = new AtomicInteger();
        static final AtomicInteger OPENED = new AtomicInteger();
        static volatile int failAt = -1;
        private final ChecksumOperation checksum = new ChecksumOperation();

        @Override
        public String name() {
            return NAME;
        }

        @Override
        public String description() {
            return "checksum that fails once (test)";
        }

        @Override
        public List<ParameterSpec> parameters() {
            return checksum.parameters();
        }

        @Override
        public Map<String, String> validate(Map<String, Object> params) {
            return checksum.validate(params);
        }

        @Override
        public Split split() {
            return checksum.split();
        }

        @Override
        public boolean resumableMidPiece() {
            return checksum.resumableMidPiece();
        }

        @Override
        public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) throws IOException {
            OPENED.incrementAndGet();
            PieceProcessor inner = checksum.open(params, piece, resume);
            return new PieceProcessor() {
                @Override
                public void process(ByteBuffer data, FragmentSink out) throws IOException {
                    if (CALLS.incrementAndGet() == failAt) {
                        throw new IOException("checksum: the failure the test asked for");
                    }
                    inner.process(data, out);
                }

                @Override
                public void finish(FragmentSink out) throws IOException {
                    inner.finish(out);
                }
            };
        }

        @Override
        public void merge(Map<String, String> params, MergeInput in) throws IOException {
            checksum.merge(params, in);
        }

        @Override
        public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
            return checksum.outputNames(params, inputPaths);
        }
    }

    static class Config {
        @Bean
        Operation failingChecksum() {
            return new FailingChecksum();
        }
    }
}
