package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Both engines open input beneath a root held by descriptor and check what they opened, so a swap made
 * at the worst moment (through the seam just before the open, with an atomic exchange) is refused or
 * failed as changed, and nothing outside the root is read: a file swapped for a link, a directory on the
 * way swapped for a link, a FIFO swapped in for a file (no hang), another file renamed over the planned
 * one. Each with openat2 and once more with the component-by-component fallback, and with the file opened
 * ahead through the ring ({@link IoEngine#openAhead}: IORING_OP_OPENAT2 and STATX of the descriptor), where
 * the same swaps must meet the same refusals.
 */
@Timeout(60)
@ParameterizedClass(name = "{0}, openat2={1}, ahead={2}")
@CsvSource({"io_uring, true, false", "io_uring, false, false", "blocking, true, false", "blocking, false, false",
        "io_uring, true, true", "io_uring, false, true", "blocking, true, true"})
class InputEscapeTest {
    private static final String SECRET = "TOPSECRET outside the root\n";

    @Parameter(0)
    String engineName;

    @Parameter(1)
    boolean openat2;

    @Parameter(2)
    boolean ahead;

    @TempDir
    Path tmp;

    private Path root;
    private Path outside;
    private IoEngine engine;

    @BeforeEach
    void tree() throws IOException {
        Swaps.useOpenat2(openat2);
        root = Files.createDirectories(tmp.resolve("root"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("f.txt"), SECRET);
        Files.createDirectories(root.resolve("sub"));
        Files.writeString(root.resolve("sub/f.txt"), "inside\n");
        Files.createSymbolicLink(root.resolve("file-link"), outside.resolve("f.txt"));
        Files.createSymbolicLink(root.resolve("dir-link"), outside);
        engine = IoEngines.select(IoEngines.Mode.parse(engineName), IoOptions.defaults()).engine();
        assertThat(engine.name()).isEqualTo(engineName);
    }

    @AfterEach
    void reset() {
        Swaps.beforeOpen(null);
        Swaps.useOpenat2(true);
        assertThat(engine.stats().readersOpen()).isZero();
        engine.close();
    }

    /** What the plan saw of sub/f.txt. */
    private InputFile.Expected planned(Dir dir) throws IOException {
        Stat s = dir.stat("sub/f.txt");
        return new InputFile.Expected(s.size(), s.mtimeNanos(), s.ino(), s.dev(), true);
    }

    private String readAll(Dir dir, InputFile.Expected expected) throws IOException {
        InputFile input = InputFile.beneath(dir, "sub/f.txt", expected);
        long inlineBefore = engine instanceof IoUringEngine u ? u.openedInline() : 0;
        try (IoEngine.Lookahead lookahead = ahead ? engine.openAhead(java.util.List.of(input).iterator())
                : IoEngine.Lookahead.NONE) {
            return read(input);
        } finally {
            if (engine instanceof IoUringEngine u && ahead && openat2) {
                // the ring's open was the one that ran (or refused), not the synchronous fallback
                assertThat(u.ringOpens()).isTrue();
                assertThat(u.openedInline()).isEqualTo(inlineBefore);
            }
        }
    }

    private String read(InputFile input) throws IOException {
        try (BlockReader reader = engine.open(input, 0, -1, 1)) {
            StringBuilder out = new StringBuilder();
            Block b;
            while ((b = reader.next()) != null) {
                byte[] bytes = new byte[b.length()];
                b.data().get(bytes);
                out.append(new String(bytes, StandardCharsets.UTF_8));
                b.release();
            }
            return out.toString();
        }
    }

    @Test
    void theUntouchedFileIsRead() throws IOException {
        long aheadBefore = engine instanceof IoUringEngine u ? u.openedAhead() : 0;
        try (Dir dir = Dir.open(root)) {
            assertThat(readAll(dir, planned(dir))).isEqualTo("inside\n");
        }
        if (engine instanceof IoUringEngine u) {
            assertThat(u.openedAhead() - aheadBefore).isEqualTo(ahead && openat2 ? 1 : 0);
        }
    }

    @Test
    void aFileSwappedForALinkAtTheOpenIsRefused() throws IOException {
        try (Dir dir = Dir.open(root)) {
            InputFile.Expected expected = planned(dir);
            Swaps.beforeOpen(rel -> Swaps.exchange(root.resolve("sub/f.txt"), root.resolve("file-link")));
            assertThatThrownBy(() -> readAll(dir, expected)).isInstanceOf(IOException.class)
                    .hasMessageContaining("sub/f.txt").hasMessageContaining("symbolic link")
                    .hasMessageNotContaining("TOPSECRET");
            assertThat(Files.isSymbolicLink(root.resolve("sub/f.txt"))).as("the swap happened").isTrue();
        }
    }

    @Test
    void aDirectorySwappedForALinkAtTheOpenIsRefused() throws IOException {
        try (Dir dir = Dir.open(root)) {
            InputFile.Expected expected = planned(dir);
            Swaps.beforeOpen(rel -> Swaps.exchange(root.resolve("sub"), root.resolve("dir-link")));
            assertThatThrownBy(() -> readAll(dir, expected)).isInstanceOf(IOException.class)
                    .hasMessageContaining("symbolic link");
            assertThat(Files.isSymbolicLink(root.resolve("sub"))).as("the swap happened").isTrue();
        }
    }

    @Test
    void aFifoSwappedInFailsTheFileWithoutHanging() throws Exception {
        Process mkfifo = new ProcessBuilder("mkfifo", root.resolve("fifo").toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS)).isTrue();
        try (Dir dir = Dir.open(root)) {
            InputFile.Expected expected = planned(dir);
            Swaps.beforeOpen(rel -> Swaps.exchange(root.resolve("sub/f.txt"), root.resolve("fifo")));
            // nobody writes to the FIFO: a blocking open or read would hang here until the timeout
            assertThatThrownBy(() -> readAll(dir, expected)).isInstanceOf(IOException.class)
                    .hasMessageContaining("not a regular file").hasMessageContaining("FIFO");
        }
    }

    @Test
    void anotherFileRenamedOverThePlannedOneFailsAsChanged() throws IOException {
        Files.writeString(root.resolve("other.txt"), "OTHER!\n"); // the same size, another inode
        try (Dir dir = Dir.open(root)) {
            InputFile.Expected expected = planned(dir);
            Swaps.beforeOpen(rel -> Swaps.exchange(root.resolve("sub/f.txt"), root.resolve("other.txt")));
            assertThatThrownBy(() -> readAll(dir, expected)).isInstanceOf(IOException.class)
                    .hasMessageContaining("changed while the job ran").hasMessageContaining("inode");
        }
    }

    @Test
    void aSecondHardLinkMadeAfterPlanningIsRefused() throws IOException {
        try (Dir dir = Dir.open(root)) {
            InputFile.Expected expected = planned(dir);
            Files.createLink(outside.resolve("alias"), root.resolve("sub/f.txt"));
            assertThatThrownBy(() -> readAll(dir, expected)).isInstanceOf(IOException.class)
                    .hasMessageContaining("has 2 hard links");
        }
    }
}
