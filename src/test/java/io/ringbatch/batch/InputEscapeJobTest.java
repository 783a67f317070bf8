package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import io.ringbatch.io.Swaps;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * Jobs against a tree that someone inside it changes under them; whatever the timing, a job fails or
 * lists the file, and nothing outside its root is read. A root whose parent became a link to a directory
 * outside the input roots is refused at the start and at a restart after a stop; a directory or a file
 * swapped for a link between planning and opening (at exactly that moment, through the test seam) fails
 * the job, or is listed with skipUnreadable; and a thread swapping for two seconds against jobs that run
 * one after the other never gets a byte of the secret into an output. Each with openat2 and without.
 */
@RunnerTest
@Timeout(180)
class InputEscapeJobTest {
    private static final String SECRET = "TOPSECRET outside the root";

    @Autowired
    JobRunner runner;

    private Path outputs = TestDirs.runner().resolve("output");

    @AfterEach
    void reset() {
        Swaps.beforeOpen(null);
        Swaps.useOpenat2(true);
        CopyOperation.delayMillis = 0;
    }

    /**
     * {@code input/InputEscapeJobTest/<case>/data} with a few files and {@code sub/target.txt}, and a
     * directory outside the input roots holding the secret under the same names.
     */
    private Path tree(String name) throws IOException {
        Path data = Files.createDirectories(TestDirs.runner().resolve("input/InputEscapeJobTest/" + name + "/data"));
        for (int i = 0; i < 6; i++) {
            Files.writeString(data.resolve("a-" + i + ".txt"), "inside " + i + "\n");
        }
        Files.createDirectories(data.resolve("sub"));
        Files.writeString(data.resolve("sub/target.txt"), "inside target\n");
        Path outside = Files.createDirectories(TestDirs.runner().resolve("outside/" + name + "/data/sub"));
        Files.writeString(outside.resolve("target.txt"), SECRET + "\n");
        Files.writeString(outside.getParent().resolve("a-0.txt"), SECRET + "\n");
        return data;
    }

    private String start(Path root, boolean skipUnreadable) throws JobRunnerException {
        String id = "escape-" + UUID.randomUUID();
        runner.start(new JobDefinition(id, "copy-whole", Map.of(), root, List.of(), List.of(), outputs.resolve(id),
                skipUnreadable));
        return id;
    }

    /** The root's parent becomes a link to a directory outside the input roots with the same layout. */
    private static void swapParentForLink(Path root) throws IOException {
        Path parent = root.getParent();
        Path name = parent.getFileName();
        Files.move(parent, parent.resolveSibling(name + ".moved"));
        Files.createSymbolicLink(parent, TestDirs.runner().resolve("outside").resolve(name));
    }

    private void assertNothingOutsideWasRead(String id) throws IOException {
        Path out = outputs.resolve(id);
        if (!Files.exists(out)) {
            return;
        }
        try (Stream<Path> files = Files.walk(out)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(new String(Files.readAllBytes(f), StandardCharsets.ISO_8859_1)).as(f.toString())
                        .doesNotContain(SECRET);
            }
        }
    }

    @ParameterizedTest(name = "openat2={0}")
    @ValueSource(booleans = {true, false})
    void aRootThatLeftTheInputRootsIsRefusedAtStartAndAtRestart(boolean openat2) throws Exception {
        Swaps.useOpenat2(openat2);
        // at the start: the plan step opens the root again and sees where it leads
        Path first = tree("start-" + openat2);
        swapParentForLink(first);
        String refused = start(first, false);
        RunState failed = PipelineTest.awaitEnd(runner, refused, Duration.ofSeconds(60));
        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.error()).contains("now resolves to").contains("outside ringbatch.input-roots");
        assertNothingOutsideWasRead(refused);

        // stopped after planning, swapped, restarted: each partition opens the root again and refuses it
        Path second = tree("restart-" + openat2);
        CopyOperation.delayMillis = 50;
        String id = start(second, false);
        Awaitility.await("job " + id + " committed a chunk").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(10)).until(() -> runner.state(id).bytesDone() > 0);
        runner.stop(id);
        assertThat(PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60)).status()).isEqualTo("STOPPED");
        CopyOperation.delayMillis = 0;
        swapParentForLink(second);
        runner.restart(id);
        RunState restarted = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
        assertThat(restarted.status()).isEqualTo("FAILED");
        assertThat(restarted.error()).contains("now resolves to").contains("outside ringbatch.input-roots");
        assertNothingOutsideWasRead(id);
    }

    @ParameterizedTest(name = "openat2={0}")
    @ValueSource(booleans = {true, false})
    void aSwapBetweenPlanningAndOpeningFailsTheJobOrListsTheFile(boolean openat2) throws Exception {
        Swaps.useOpenat2(openat2);
        Path root = tree("seam-" + openat2);
        Files.createSymbolicLink(root.resolve("dir-link"), TestDirs.runner().resolve("outside/seam-" + openat2 + "/data/sub"));
        Files.createSymbolicLink(root.resolve("file-link"),
                TestDirs.runner().resolve("outside/seam-" + openat2 + "/data/a-0.txt"));
        // the directory on the way becomes a link just before the file beneath it is opened
        Swaps.beforeOpen(rel -> {
            if (rel.equals("sub/target.txt")) {
                Swaps.exchange(root.resolve("sub"), root.resolve("dir-link"));
            }
        });
        String failedId = start(root, false);
        RunState failed = PipelineTest.awaitEnd(runner, failedId, Duration.ofSeconds(60));
        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.error()).contains("sub/target.txt").contains("symbolic link");
        assertThat(outputs.resolve(failedId)).doesNotExist();
        Swaps.exchange(root.resolve("sub"), root.resolve("dir-link"));

        // the file itself becomes a link; with skipUnreadable the job lists it and does the rest
        Swaps.beforeOpen(rel -> {
            if (rel.equals("a-0.txt")) {
                Swaps.exchange(root.resolve("a-0.txt"), root.resolve("file-link"));
            }
        });
        String listedId = start(root, true);
        RunState done = PipelineTest.awaitEnd(runner, listedId, Duration.ofSeconds(60));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
        String report = Files.readString(outputs.resolve(listedId).resolve("job-report.json"));
        assertThat(report).contains("a-0.txt").contains("symbolic link");
        // the copying test operation makes an empty file for a piece it was given no bytes of
        assertThat(outputs.resolve(listedId).resolve("a-0.txt")).isEmptyFile();
        assertThat(outputs.resolve(listedId).resolve("sub/target.txt")).hasContent("inside target\n");
        assertNothingOutsideWasRead(listedId);
    }

    @ParameterizedTest(name = "openat2={0}")
    @ValueSource(booleans = {true, false})
    void aThreadSwappingLinksForTwoSecondsNeverLeaksTheSecret(boolean openat2) throws Exception {
        Swaps.useOpenat2(openat2);
        Path root = tree("race-" + openat2);
        Path outsideData = TestDirs.runner().resolve("outside/race-" + openat2 + "/data");
        Files.createSymbolicLink(root.resolve("dir-link"), outsideData.resolve("sub"));
        Files.createSymbolicLink(root.resolve("file-link"), outsideData.resolve("a-0.txt"));
        long until = System.nanoTime() + Duration.ofSeconds(2).toNanos();
        CompletableFuture<Integer> swapper = CompletableFuture.supplyAsync(() -> {
            int swaps = 0;
            while (System.nanoTime() < until) {
                Swaps.exchange(root.resolve("sub"), root.resolve("dir-link"));
                Swaps.exchange(root.resolve("a-0.txt"), root.resolve("file-link"));
                swaps += 2;
            }
            return swaps;
        });
        List<String> ids = new ArrayList<>();
        while (!swapper.isDone()) {
            String id = start(root, ids.size() % 2 == 0);
            ids.add(id);
            RunState state = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
            assertThat(state.status()).as("job %s: %s", id, state.error()).isIn("COMPLETED", "FAILED");
            assertNothingOutsideWasRead(id);
        }
        assertThat(swapper.get()).isPositive();
        assertThat(ids).isNotEmpty();
    }
}
