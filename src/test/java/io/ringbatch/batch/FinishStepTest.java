package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * The finish step by descriptor beneath the output root: run again after its rename (a failure between
 * the rename and the step's commit) it completes with the output it put in place; a stop after the
 * rename is refused and the job completes at once, one before it leaves no output; and a link planted
 * where the output or the staging directory goes redirects no write.
 */
@RunnerTest
@Timeout(120)
class FinishStepTest {
    static Path input;
    static Path outputs;

    @Autowired
    JobRunner runner;

    @BeforeAll
    static void tree() throws IOException {
        input = Files.createDirectories(TestDirs.runner().resolve("input/FinishStepTest"));
        outputs = TestDirs.runner().resolve("output");
        Files.writeString(input.resolve("a.txt"), "one\ntwo\n");
        Files.createDirectories(input.resolve("sub"));
        Files.writeString(input.resolve("sub/b.txt"), "three\n");
    }

    @Test
    void aFinishRunAgainAfterItsRenameCompletesWithTheSameOutput() throws Exception {
        String id = "finish-" + UUID.randomUUID();
        FinishTasklet.afterRename = job -> {
            throw new IllegalStateException("the test's failure right after the rename");
        };
        try {
            runner.start(definition(id, outputs.resolve(id)));
            RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
            assertThat(failed.status()).isEqualTo("FAILED");
        } finally {
            FinishTasklet.afterRename = null;
        }
        // the state a stop or SIGTERM after the rename leaves: the output is complete and in place
        Map<String, String> before = contents(outputs.resolve(id));
        assertThat(before).containsKeys("counts.tsv", "job-report.json");
        assertThat(before.get("job-report.json")).contains("\"jobId\" : \"" + id + "\"");

        runner.restart(id);
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(contents(outputs.resolve(id))).isEqualTo(before);
        assertThat(outputs.resolve("." + id + ".ringbatch-staging")).doesNotExist();
    }

    @Test
    void aStopThatLandsAfterTheRenameIsRefusedAndTheJobEndsCompletedAtOnce() throws Exception {
        String id = "finish-stop-" + UUID.randomUUID();
        java.util.concurrent.atomic.AtomicReference<JobRunnerException> refused = new java.util.concurrent.atomic.AtomicReference<>();
        FinishTasklet.afterRename = job -> {
            try {
                runner.stop(job);
            } catch (JobRunnerException e) {
                refused.set(e);
            }
        };
        RunState ended;
        try {
            runner.start(definition(id, outputs.resolve(id)));
            ended = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
        } finally {
            FinishTasklet.afterRename = null;
        }
        assertThat(refused.get()).as("the stop after the rename").isNotNull();
        assertThat(refused.get().conflict()).isTrue();
        assertThat(refused.get()).hasMessageContaining("completing");
        assertThat(ended.status()).as(ended.error()).isEqualTo("COMPLETED");
        assertThat(ended.executions()).hasSize(1);
        assertThat(Files.readString(outputs.resolve(id).resolve("counts.tsv"))).contains("a.txt", "sub/b.txt");
        assertThatThrownBy(() -> runner.stop(id)).isInstanceOf(JobRunnerException.class);
    }

    @Test
    void aStopThatLandsBeforeTheRenameLeavesNoOutputAndTheRestartCompletes() throws Exception {
        String id = "finish-early-stop-" + UUID.randomUUID();
        FinishTasklet.beforeRename = job -> {
            try {
                runner.stop(job);
            } catch (JobRunnerException e) {
                throw new IllegalStateException(e);
            }
        };
        RunState stopped;
        try {
            runner.start(definition(id, outputs.resolve(id)));
            stopped = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
        } finally {
            FinishTasklet.beforeRename = null;
        }
        assertThat(stopped.status()).isEqualTo("STOPPED");
        assertThat(outputs.resolve(id)).doesNotExist();
        assertThat(outputs.resolve("." + id + ".ringbatch-staging")).doesNotExist();
        runner.restart(id);
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        assertThat(Files.readString(outputs.resolve(id).resolve("counts.tsv"))).contains("a.txt", "sub/b.txt");
    }

    /** Both ways beneath the root: openat2, and component by component with O_NOFOLLOW. */
    @ParameterizedTest(name = "openat2={0}")
    @ValueSource(booleans = {true, false})
    void aLinkWhereTheOutputOrItsStagingGoesRedirectsNothing(boolean openat2) throws Exception {
        Path outside = Files.createDirectories(TestDirs.runner().resolve("outside-" + UUID.randomUUID()));
        if (!openat2) {
            System.setProperty("ringbatch.io.openat2", "false");
        }
        try {
            // the output's parent is a link to a directory outside the root: the job fails, writing nothing
            String parent = "linked-" + UUID.randomUUID();
            Files.createSymbolicLink(outputs.resolve(parent), outside);
            String linked = "finish-linked-" + UUID.randomUUID();
            runner.start(definition(linked, outputs.resolve(parent).resolve(linked)));
            RunState failed = PipelineTest.awaitEnd(runner, linked, Duration.ofMinutes(1));
            assertThat(failed.status()).isEqualTo("FAILED");
            assertThat(failed.error()).contains("symbolic link");
            assertThat(contents(outside)).isEmpty();

            // a link planted where the staging directory is made is removed as itself, never followed
            String staged = "finish-staged-" + UUID.randomUUID();
            Path planted = outputs.resolve("." + staged + ".ringbatch-staging");
            Files.createSymbolicLink(planted, outside);
            runner.start(definition(staged, outputs.resolve(staged)));
            RunState done = PipelineTest.awaitEnd(runner, staged, Duration.ofMinutes(1));
            assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
            assertThat(contents(outside)).isEmpty();
            assertThat(outputs.resolve(staged).resolve("counts.tsv")).isRegularFile();
            assertThat(Files.exists(planted, java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
        } finally {
            System.clearProperty("ringbatch.io.openat2");
        }
    }

    @Test
    void theReportNamesASkippedFileByDisplayFormAndExactBytesAsValidJson() throws Exception {
        String latin1 = io.ringbatch.io.FileNames.of(new byte[] {'d', 'i', 'r', ':', ' ', '/', 'c', 'a', 'f',
                (byte) 0xE9, '.', 'l', 'o', 'g'});
        var skipped = FinishTasklet.skipped(List.of(latin1 + ": input file changed while the job ran"),
                List.of("dir", latin1));
        byte[] json = JobFiles.JSON.writeValueAsBytes(Map.of("skipped", skipped));
        // strict UTF-8 decoding: the report is valid JSON text whatever the names' bytes
        String text = java.nio.charset.StandardCharsets.UTF_8.newDecoder()
                .decode(java.nio.ByteBuffer.wrap(json)).toString();
        var item = JobFiles.JSON.readTree(text).path("skipped").get(0);
        assertThat(item.path("name").asString()).isEqualTo("dir: /caf\\xE9.log");
        assertThat(io.ringbatch.io.FileNames.fromBase64(item.path("nameBase64").asString())).isEqualTo(latin1);
        assertThat(item.path("reason").asString()).isEqualTo("input file changed while the job ran");
    }

    @Test
    void aSkippedFilesReasonIsTextAsTheMessageSaidIt() throws Exception {
        // the reason is a message, names in it in FileNames.inMessage form: shown as it is, not decoded again
        // (which turned "naïve" into "na\xEFve" and failed the report on a name outside Latin-1)
        String utf8 = io.ringbatch.io.FileNames.ofText("日本語/naïve.log");
        String newline = "new\nline.log";
        String reason = "/in/" + io.ringbatch.io.FileNames.inMessage(utf8) + ": changed while the job ran";
        var skipped = FinishTasklet.skipped(List.of(utf8 + ": " + reason,
                newline + ": /in/" + io.ringbatch.io.FileNames.inMessage(newline) + ": is a directory",
                "not/planned\n\u00e9: gone"), List.of(utf8, newline));
        var report = JobFiles.JSON.readTree(JobFiles.JSON.writeValueAsBytes(Map.of("skipped", skipped)));
        assertThat(report.path("skipped").get(0).path("name").asString()).isEqualTo("日本語/naïve.log");
        assertThat(report.path("skipped").get(0).path("reason").asString())
                .isEqualTo("/in/日本語/naïve.log: changed while the job ran");
        assertThat(report.path("skipped").get(1).path("name").asString()).isEqualTo("new\nline.log");
        assertThat(report.path("skipped").get(1).path("reason").asString())
                .isEqualTo("/in/new\\x0Aline.log: is a directory");
        // no planned path: the whole entry as text, one line
        assertThat(report.path("skipped").get(2).path("name").isNull()).isTrue();
        assertThat(report.path("skipped").get(2).path("reason").asString()).isEqualTo("not/planned\\x0Aé: gone");
    }

    private static JobDefinition definition(String id, Path output) {
        return new JobDefinition(id, "wc", Map.of(), input, List.of(), List.of(), output, false);
    }

    /** Every regular file below dir (no link followed), by relative path, with its text. */
    private static Map<String, String> contents(Path dir) throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path f : s.filter(p -> Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)).toList()) {
                out.put(dir.relativize(f).toString(), Files.readString(f));
            }
        }
        return out;
    }
}
