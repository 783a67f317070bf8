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
 * one. Each with openat2 and once more with the component-by-component fallback.
 */
@Timeout(60)
@ParameterizedClass(name = "{0}, openat2={1}")
@CsvSource({"io_uring, true", "io_uring, false", "blocking, true", "blocking, false"})
class InputEscapeTest {
    private static final String SECRET = "TOPSECRET outside the root\n";

    @Parameter(0)
    String engineName;

    @Parameter(1)
    boolean openat2;

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
        try (BlockReader reader = engine.open(InputFile.beneath(dir, "sub/f.txt", expected), 0, -1, 1)) {
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
        try (Dir dir = Dir.open(root)) {
            assertThat(readAll(dir, planned(dir))).isEqualTo("inside\n");
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
