package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RunnerTest;
import io.ringbatch.TestDirs;
import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.Swaps;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import java.util.stream.Stream;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.JsonNode;

/**
 * Jobs against a tree that someone inside it changes under them; whatever the timing, a job fails or
 * lists the file, and nothing outside its root is read. A root whose parent became a link to a directory
 * outside the input roots is refused at the start and at a restart after a stop; a directory or a file
 * swapped for a link between planning and opening (at exactly that moment, through the test seam) fails
 * the job, or is listed with skipUnreadable; and a thread swapping for two seconds against jobs that run
 * one after the other never gets a byte of the secret into an output. Each with openat2 and without.
 * <p>
 * And the names in what such a job says: over a tree with a Latin-1 name, an invalid UTF-8 one, one with
 * a newline (beneath a root with a newline in its own path), a file changed or removed at its open, a
 * file with two hard links and a root that left the input roots make a job's error, and the reasons of
 * {@code job-report.json}, name each file in the form of {@link FileNames#inMessage}: one line, the
 * bytes that are not UTF-8 and the control characters as {@code \xHH}.
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

    // ---- names in messages ------------------------------------------------------------------------

    /** "caf\xE9.log": Latin-1, not UTF-8. */
    private static final String LATIN1 = FileNames.of(new byte[] {'c', 'a', 'f', (byte) 0xE9, '.', 'l', 'o', 'g'});
    /** "bad\xC3(\x80\xFF.log": a truncated sequence, a lone continuation byte, a byte UTF-8 never has. */
    private static final String INVALID = FileNames.of(new byte[] {'b', 'a', 'd', (byte) 0xC3, '(', (byte) 0x80,
            (byte) 0xFF, '.', 'l', 'o', 'g'});
    private static final String NEWLINE = "new\nline.log";
    /** Valid UTF-8 with letters from Latin-1's range: a message must show it as it is. */
    private static final String UTF8 = FileNames.ofText("naïve café.log");
    /** 255 bytes, the longest name: its .gz would not be a name. */
    private static final String LONGEST = "L".repeat(251) + ".log";
    /** How each of the awkward names must look in a message: written out, not computed. */
    private static final Map<String, String> IN_MESSAGE = Map.of(LATIN1, "caf\\xE9.log", INVALID,
            "bad\\xC3(\\x80\\xFF.log", NEWLINE, "new\\x0Aline.log", UTF8, "naïve café.log");

    /**
     * {@code input/InputEscapeJobTest/<case>/names\nroot/data} (a newline in the root's own path too) with
     * the awkward names and a plain file, each written by descriptor: a Path cannot carry the bytes.
     */
    private Path namesTree(String name) throws IOException {
        Path data = Files.createDirectories(
                TestDirs.runner().resolve("input/InputEscapeJobTest/" + name + "/names\nroot/data"));
        for (String file : List.of(LATIN1, INVALID, NEWLINE, UTF8, LONGEST, "plain.log")) {
            write(data, file, "word,n\nneedle,1\n");
        }
        return data;
    }

    private static void write(Path root, String rel, String content) throws IOException {
        try (Dir dir = Dir.open(root)) {
            int fd = dir.openFd(rel, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_TRUNC, 0644);
            try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE)) {
                ch.write(ByteBuffer.wrap(content.getBytes(StandardCharsets.UTF_8)));
            } finally {
                Dir.closeFd(fd);
            }
        }
    }

    /** At the first open of each name in {@code names}, after the plan recorded it: {@code change} runs. */
    private static void atFirstOpen(Set<String> names, Consumer<String> change) {
        Set<String> done = ConcurrentHashMap.newKeySet();
        Swaps.beforeOpen(rel -> {
            // marked first: the change's own opens come through here too
            if (names.contains(rel) && done.add(rel)) {
                change.accept(rel);
            }
        });
    }

    private static Consumer<String> appendTo(Path root) {
        return rel -> {
            try (Dir dir = Dir.open(root)) {
                int fd = dir.openFd(rel, Dir.O_WRONLY, 0);
                try (FileChannel ch = FileChannel.open(Dir.procPath(fd), StandardOpenOption.WRITE,
                        StandardOpenOption.APPEND)) {
                    ch.write(ByteBuffer.wrap("changed after planning\n".getBytes(StandardCharsets.UTF_8)));
                } finally {
                    Dir.closeFd(fd);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        };
    }

    /** One line of text: no line break of any kind, no U+FFFD, no lone surrogate. */
    private static void assertOneCleanLine(String message) {
        assertThat(message).isNotNull();
        assertThat(java.util.regex.Pattern.compile("\\R").matcher(message).find()).as(message).isFalse();
        assertThat(message).as(message).doesNotContain("\uFFFD");
        assertThat(message.chars().noneMatch(Character::isISOControl)).as(message).isTrue();
        assertThat(new String(message.getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8)).as(message)
                .isEqualTo(message);
    }

    @Test
    void aFileChangedBetweenPlanningAndReadingFailsTheJobNamingItInMessageForm() throws Exception {
        Path root = namesTree("changed");
        String rootShown = root.toString().replace("\n", "\\x0A");
        for (String name : List.of(LATIN1, INVALID, NEWLINE, UTF8)) {
            atFirstOpen(Set.of(name), appendTo(root));
            String id = start(root, false);
            RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
            assertThat(failed.status()).as(failed.error()).isEqualTo("FAILED");
            assertThat(failed.error()).contains(rootShown + "/" + IN_MESSAGE.get(name)
                    + ": changed while the job ran (size ");
            assertOneCleanLine(failed.error());
            assertThat(outputs.resolve(id)).doesNotExist();
        }
    }

    @Test
    void withSkipUnreadableTheReportListsEachNameByDisplayAndBytesAndItsReasonInMessageForm() throws Exception {
        Path root = namesTree("skipped");
        String rootShown = root.toString().replace("\n", "\\x0A");
        // at their opens: the Latin-1 file is gone (unreadable), the others grew (changed)
        atFirstOpen(Set.of(LATIN1, INVALID, NEWLINE, UTF8), rel -> {
            if (rel.equals(LATIN1)) {
                try (Dir dir = Dir.open(root)) {
                    dir.delete(rel);
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            } else {
                appendTo(root).accept(rel);
            }
        });
        String id = "names-" + UUID.randomUUID();
        runner.start(new JobDefinition(id, "gzip", Map.of(), root, List.of(), List.of(), outputs.resolve(id), true));
        RunState done = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
        assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");

        byte[] json = Files.readAllBytes(outputs.resolve(id).resolve(FinishTasklet.REPORT));
        // strictly valid UTF-8, then JSON
        String text = StandardCharsets.UTF_8.newDecoder().decode(ByteBuffer.wrap(json)).toString();
        JsonNode skipped = JobFiles.JSON.readTree(text).path("skipped");
        Map<String, JsonNode> byName = new HashMap<>();
        for (JsonNode item : skipped) {
            String bytes = FileNames.fromBase64(item.path("nameBase64").asString());
            assertThat(item.path("name").asString()).isEqualTo(FileNames.display(bytes));
            assertOneCleanLine(item.path("reason").asString());
            byName.put(bytes, item);
        }
        assertThat(byName.keySet()).containsExactlyInAnyOrder(LATIN1, INVALID, NEWLINE, UTF8, LONGEST);
        assertThat(byName.get(LATIN1).path("name").asString()).isEqualTo("caf\\xE9.log");
        assertThat(byName.get(INVALID).path("name").asString()).isEqualTo("bad\\xC3(\\x80\\xFF.log");
        assertThat(byName.get(NEWLINE).path("name").asString()).isEqualTo("new\nline.log");
        assertThat(byName.get(UTF8).path("name").asString()).isEqualTo("naïve café.log");
        assertThat(byName.get(LATIN1).path("reason").asString())
                .isEqualTo(rootShown + "/caf\\xE9.log: ENOENT (errno 2)");
        for (String changed : List.of(INVALID, NEWLINE, UTF8)) {
            assertThat(byName.get(changed).path("reason").asString())
                    .startsWith(rootShown + "/" + IN_MESSAGE.get(changed) + ": changed while the job ran (size ");
        }
        assertThat(byName.get(LONGEST).path("reason").asString())
                .isEqualTo("not processed: its output's name would be 258 bytes long, and a file name has at most 255");
        assertThat(outputs.resolve(id).resolve("plain.log.gz")).isRegularFile();
    }

    @Test
    void aFileWithTwoLinksFailsThePlanNamingItInMessageForm() throws Exception {
        Path root = namesTree("links");
        Files.createLink(root.resolveSibling("elsewhere"), root.resolve(NEWLINE));
        String id = start(root, false);
        RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.error()).contains("input file new\\x0Aline.log has 2 hard links");
        assertOneCleanLine(failed.error());
    }

    @Test
    void aRootThatLeftTheInputRootsIsNamedInMessageForm() throws Exception {
        Path root = tree("left\nthe roots");
        swapParentForLink(root);
        String id = start(root, false);
        RunState failed = PipelineTest.awaitEnd(runner, id, Duration.ofSeconds(60));
        assertThat(failed.status()).isEqualTo("FAILED");
        assertThat(failed.error()).contains("input root " + root.toString().replace("\n", "\\x0A")
                + " now resolves to ").contains("/outside/left\\x0Athe roots/data, outside ringbatch.input-roots");
        assertOneCleanLine(failed.error());
    }
}
