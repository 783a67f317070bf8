package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Lookups beneath a held directory on real files: every way out (a link anywhere, "..", an absolute
 * path, a component swapped for a link after the directory was opened, a swap at the moment of the
 * open) is refused, once with openat2 and once component by component with O_NOFOLLOW.
 */
@Timeout(30)
@ParameterizedClass(name = "openat2={0}")
@ValueSource(booleans = {true, false})
class DirTest {
    @Parameter
    boolean openat2;

    @TempDir
    Path tmp;

    private Path root;
    private Path outside;

    @BeforeEach
    void tree() throws IOException {
        Swaps.useOpenat2(openat2);
        root = Files.createDirectories(tmp.resolve("root"));
        outside = Files.createDirectories(tmp.resolve("outside"));
        Files.writeString(outside.resolve("secret"), "secret\n");
        Files.createDirectories(root.resolve("a/b"));
        Files.writeString(root.resolve("a/b/f"), "inside\n");
        Files.createSymbolicLink(root.resolve("a/dirlink"), outside);
        Files.createSymbolicLink(root.resolve("a/filelink"), outside.resolve("secret"));
        Files.createSymbolicLink(root.resolve("a/up"), Path.of("../../outside"));
    }

    @AfterEach
    void reset() {
        Swaps.beforeOpen(null);
        Swaps.useOpenat2(true);
    }

    @Test
    void theSwitchChoosesTheWay() {
        String[] version = System.getProperty("os.version").split("[.-]");
        boolean kernelHasIt = Integer.parseInt(version[0]) * 1000 + Integer.parseInt(version[1]) >= 5006;
        assertThat(Dir.openat2()).isEqualTo(openat2 && kernelHasIt);
    }

    @Test
    void opensAndStatsBeneathTheRoot() throws IOException {
        try (Dir dir = Dir.open(root)) {
            int fd = dir.openFd("a/b/f", Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
            try {
                Stat stat = Dir.stat(fd, "f");
                assertThat(stat.isRegular()).isTrue();
                assertThat(stat.size()).isEqualTo(7);
                assertThat(stat.ino()).isEqualTo(Files.getAttribute(root.resolve("a/b/f"), "unix:ino"));
                assertThat(stat.dev()).isEqualTo(Files.getAttribute(root.resolve("a/b/f"), "unix:dev"));
                assertThat(stat.mtimeNanos() / 1_000_000)
                        .isEqualTo(Files.getLastModifiedTime(root.resolve("a/b/f")).toMillis());
                assertThat(stat).isEqualTo(dir.stat("a/b/f"));
                try (FileChannel channel = FileChannel.open(Dir.procPath(fd))) {
                    ByteBuffer buf = ByteBuffer.allocate(64);
                    channel.read(buf);
                    assertThat(new String(buf.array(), 0, buf.position(), StandardCharsets.UTF_8)).isEqualTo("inside\n");
                }
            } finally {
                Dir.closeFd(fd);
            }
            try (Dir b = dir.dir("a/b")) {
                assertThat(b.list()).containsExactly(new Dir.Entry("f", Dir.DT_REG));
                assertThat(b.resolvedPath()).isEqualTo(FileNames.ofText(root.resolve("a/b").toRealPath().toString()));
                assertThat(b.stat().isDirectory()).isTrue();
            }
            assertThat(dir.stat("a/dirlink").isSymlink()).isTrue();
            assertThatThrownBy(() -> dir.stat("a/missing")).isInstanceOf(NoSuchFileException.class);
        }
    }

    @Test
    void namesAreBytesWhateverTheLocale() throws IOException {
        String latin1 = FileNames.of("caf\u00e9\n\\.txt".getBytes(StandardCharsets.ISO_8859_1));
        try (Dir dir = Dir.open(root)) {
            Dir.closeFd(dir.openFd(latin1, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_EXCL, 0644));
            assertThatThrownBy(() -> dir.openFd(latin1, Dir.O_WRONLY | Dir.O_CREAT | Dir.O_EXCL, 0644))
                    .isInstanceOf(FileAlreadyExistsException.class);
            List<Dir.Entry> entries = dir.list();
            assertThat(entries).extracting(Dir.Entry::name).containsExactlyInAnyOrder("a", latin1);
            assertThat(FileNames.raw(latin1)).containsSequence((byte) 0xe9, (byte) '\n');
            assertThat(dir.stat(latin1).size()).isZero();
        }
    }

    @Test
    void aLinkAnywhereIsRefused() throws IOException {
        try (Dir dir = Dir.open(root)) {
            for (String rel : List.of("a/dirlink/secret", "a/filelink", "a/up/secret", "a/up")) {
                assertThatThrownBy(() -> Dir.closeFd(dir.openFd(rel, Dir.O_RDONLY | Dir.O_NONBLOCK, 0)))
                        .as(rel).isInstanceOf(IOException.class).hasMessageContaining("symbolic link");
            }
            assertThatThrownBy(() -> dir.dir("a/dirlink")).isInstanceOf(IOException.class)
                    .hasMessageContaining("symbolic link");
            assertThatThrownBy(() -> dir.stat("a/dirlink/secret")).hasMessageContaining("symbolic link");
            // O_CREAT through a link would write outside: refused too, and nothing was created
            assertThatThrownBy(() -> dir.openFd("a/dirlink/planted", Dir.O_WRONLY | Dir.O_CREAT, 0644))
                    .hasMessageContaining("symbolic link");
            assertThatThrownBy(() -> dir.openFd("a/filelink", Dir.O_WRONLY | Dir.O_TRUNC, 0))
                    .hasMessageContaining("symbolic link");
            assertThat(Files.exists(outside.resolve("planted"))).isFalse();
            assertThat(Files.readString(outside.resolve("secret"))).isEqualTo("secret\n");
        }
    }

    @Test
    void dotDotAndAbsolutePathsAreRefused() throws IOException {
        try (Dir dir = Dir.open(root); Dir b = dir.dir("a/b")) {
            for (String rel : List.of("..", "../outside/secret", "a/../../outside/secret", "/etc/passwd", "", "a\0b")) {
                assertThatThrownBy(() -> dir.openFd(rel, Dir.O_RDONLY, 0)).as(rel).isInstanceOf(IOException.class)
                        .hasMessageContaining("refused");
            }
            assertThatThrownBy(() -> b.dir("..")).hasMessageContaining("refused");
            assertThatThrownBy(() -> b.mkdir("../escape", 0755)).hasMessageContaining("refused");
        }
    }

    @Test
    void aDirectorySwappedForALinkAfterTheRootWasOpenedIsRefused() throws IOException {
        try (Dir dir = Dir.open(root)) {
            Files.move(root.resolve("a"), tmp.resolve("a.old"));
            Files.createSymbolicLink(root.resolve("a"), outside);
            assertThatThrownBy(() -> dir.openFd("a/secret", Dir.O_RDONLY, 0)).hasMessageContaining("symbolic link");
            assertThatThrownBy(() -> dir.dir("a")).hasMessageContaining("symbolic link");
        }
    }

    @Test
    void aSwapAtTheMomentOfTheOpenIsRefused() throws IOException {
        Path file = root.resolve("a/b/f");
        Path dirB = root.resolve("a/b");
        Path fileLink = Files.createSymbolicLink(root.resolve("a/link-to-secret"), outside.resolve("secret"));
        Path dirLink = Files.createSymbolicLink(root.resolve("a/link-to-outside"), outside);
        Files.writeString(outside.resolve("f"), "secret\n");
        try (Dir dir = Dir.open(root)) {
            // the file itself becomes a link (the exchange is atomic: the name always exists)
            Swaps.beforeOpen(rel -> Swaps.exchange(file, fileLink));
            assertThatThrownBy(() -> dir.openFd("a/b/f", Dir.O_RDONLY | Dir.O_NONBLOCK, 0))
                    .hasMessageContaining("symbolic link");
            Swaps.exchange(file, fileLink);
            // a directory on the way becomes a link
            Swaps.beforeOpen(rel -> Swaps.exchange(dirB, dirLink));
            assertThatThrownBy(() -> dir.openFd("a/b/f", Dir.O_RDONLY | Dir.O_NONBLOCK, 0))
                    .hasMessageContaining("symbolic link");
        }
    }

    @Test
    void aFifoOpensWithoutBlockingAndShowsWhatItIs() throws Exception {
        Process mkfifo = new ProcessBuilder("mkfifo", root.resolve("a/fifo").toString()).start();
        assertThat(mkfifo.waitFor(10, TimeUnit.SECONDS)).isTrue();
        assertThat(mkfifo.exitValue()).isZero();
        try (Dir dir = Dir.open(root)) {
            int fd = dir.openFd("a/fifo", Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
            try {
                Stat stat = Dir.stat(fd, "a/fifo");
                assertThat(stat.isFifo()).isTrue();
                assertThat(stat.typeName()).isEqualTo("FIFO");
            } finally {
                Dir.closeFd(fd);
            }
        }
    }

    @Test
    void writesRenamesAndDeletesStayBeneath() throws IOException {
        Files.createDirectories(root.resolve("tree/sub"));
        Files.writeString(root.resolve("tree/sub/x"), "x");
        Files.createSymbolicLink(root.resolve("tree/sub/out"), outside);
        try (Dir dir = Dir.open(root)) {
            dir.mkdir("new", 0755);
            assertThatThrownBy(() -> dir.mkdir("new", 0755)).isInstanceOf(FileAlreadyExistsException.class);
            assertThatThrownBy(() -> dir.mkdir("a/dirlink/new", 0755)).hasMessageContaining("symbolic link");
            try (Dir target = dir.dir("new")) {
                dir.rename("a/b/f", target, "g");
                assertThatThrownBy(() -> dir.rename("new/g", dir, "a/dirlink/g")).hasMessageContaining("symbolic link");
            }
            assertThat(Files.readString(root.resolve("new/g"))).isEqualTo("inside\n");
            dir.delete("new/g");
            dir.delete("new");
            assertThat(Files.exists(root.resolve("new"))).isFalse();
            // the tree goes, the link in it goes as a link, and what it pointed at stays
            dir.deleteTree("tree");
            dir.deleteTree("tree");
            assertThat(Files.exists(root.resolve("tree"))).isFalse();
            assertThat(Files.readString(outside.resolve("secret"))).isEqualTo("secret\n");
            // a link as the tree itself: removed as a link
            dir.deleteTree("a/dirlink");
            assertThat(Files.exists(outside.resolve("secret"))).isTrue();
        }
    }
}
