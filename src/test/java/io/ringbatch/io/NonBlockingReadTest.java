package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HexFormat;
import java.util.SplittableRandom;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The io_uring engine keeps a buffered file's descriptor {@code O_NONBLOCK} (no {@code fcntl} per file):
 * real io_uring on real files reads them whole, a file whose pages are not cached too (the kernel hands the
 * read to its workers), and where a read meets EAGAIN (a file system without non-blocking reads) the flag
 * is cleared once and the read goes in again.
 */
@Timeout(60)
class NonBlockingReadTest {
    private static final int O_NONBLOCK = 04000;

    @TempDir
    Path tmp;

    private IoEngine engine;

    @BeforeEach
    void engine() {
        engine = IoEngines.select(IoEngines.Mode.parse("io_uring"), IoOptions.defaults().withBlockSize(64 * 1024)).engine();
    }

    @AfterEach
    void stop() {
        engine.close();
    }

    @Test
    void aBufferedFileIsReadWithItsDescriptorStillNonBlockingCachedOrNot() throws Exception {
        byte[] bytes = new byte[3 * 1024 * 1024 + 17];
        new SplittableRandom(3).nextBytes(bytes);
        Path f = tmp.resolve("f.bin");
        Files.write(f, bytes);
        for (boolean evicted : new boolean[] {false, true}) {
            if (evicted) {
                evict(f);
            }
            try (BlockReader reader = engine.open(InputFile.of(f), 0, bytes.length, 2)) {
                NativeFile file = (NativeFile) ((PrefetchingReader) reader).file;
                assertThat(flags(file.fd) & O_NONBLOCK).as("O_NONBLOCK kept, no fcntl").isEqualTo(O_NONBLOCK);
                MessageDigest md = MessageDigest.getInstance("SHA-256");
                Block b;
                while ((b = reader.next()) != null) {
                    md.update(b.data());
                    b.release();
                }
                assertThat(HexFormat.of().formatHex(md.digest())).as("evicted first: %s", evicted)
                        .isEqualTo(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
            }
        }
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
    }

    @Test
    void aReadThatMeetsEagainClearsTheFlagOnceAndIsTriedAgain() throws Exception {
        Path f = tmp.resolve("g.txt");
        Files.write(f, "some bytes\n".getBytes());
        NativeFile file = NativeFile.open(InputFile.of(f), false, 64 * 1024);
        try {
            assertThat(file.nonBlocking()).isTrue();
            assertThat(flags(file.fd) & O_NONBLOCK).isEqualTo(O_NONBLOCK);
            assertThat(file.makeBlocking()).as("cleared: the read goes in again").isTrue();
            assertThat(flags(file.fd) & O_NONBLOCK).as("blocking now").isZero();
            assertThat(file.nonBlocking()).isFalse();
            assertThat(file.makeBlocking()).as("once: a second EAGAIN is an ordinary retry").isFalse();
        } finally {
            file.close();
        }
        assertThat(file.makeBlocking()).as("closed").isFalse();
    }

    /** The file's status flags as the kernel has them ({@code /proc/self/fdinfo}, octal). */
    private static int flags(int fd) throws Exception {
        for (String line : Files.readAllLines(Path.of("/proc/self/fdinfo/" + fd))) {
            if (line.startsWith("flags:")) {
                return Integer.parseInt(line.substring(6).trim(), 8);
            }
        }
        throw new AssertionError("no flags in fdinfo of " + fd);
    }

    /** Drops the file's pages from the page cache, so that its next read goes to the device. */
    private static void evict(Path f) throws Exception {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(f,
                java.nio.file.StandardOpenOption.WRITE)) {
            ch.force(true); // written back, so that its pages can be dropped
        }
        NativeFile file = NativeFile.open(InputFile.of(f), false, 0);
        try {
            LibC.posix_fadvise(file.fd, 0, 0, 4); // POSIX_FADV_DONTNEED
        } finally {
            file.close();
        }
    }
}
