package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A partition's readers of many small files, one after another ({@link IoEngine#sequence}), on real files
 * and each engine: with io_uring the next files are opened beneath the root and their first reads submitted
 * a window ahead (the blocking engine opens each when asked), and every file reads exactly its bytes; a file
 * changed since it was planned, or swapped for a link, fails at its own open with the reason while the files
 * around it read, and so does one changed after it was opened ahead, before it is reached; ranges passed
 * over and a sequence closed with reads in flight leave no descriptor open and every buffer back in the pool.
 */
@Timeout(120)
@ParameterizedClass(name = "{0}")
@ValueSource(strings = {"io_uring", "blocking"})
class FileSequenceTest {
    private static final int FILES = 200;

    @Parameter
    String engineName;

    @TempDir
    Path tmp;

    private Path root;
    private final List<String> names = new ArrayList<>();
    private final List<String> sha = new ArrayList<>();
    private IoEngine engine;

    @BeforeEach
    void files() throws Exception {
        root = Files.createDirectories(tmp.resolve("root"));
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < FILES; i++) {
            String name = String.format("d%02d/f%04d.txt", i % 9, i);
            Path f = root.resolve(name);
            Files.createDirectories(f.getParent());
            // 0-8 KiB, a few over a block of 4 KiB so that a file takes more than one read
            byte[] bytes = new byte[random.nextInt(8193)];
            random.nextBytes(bytes);
            Files.write(f, bytes);
            names.add(name);
            sha.add(sha(bytes));
        }
        engine = IoEngines.select(IoEngines.Mode.parse(engineName), IoOptions.defaults().withBlockSize(4096)).engine();
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
    }

    private List<FileSequence.Range> ranges(Dir dir, List<String> of) throws IOException {
        List<FileSequence.Range> out = new ArrayList<>();
        for (String n : of) {
            Stat s = dir.stat(n);
            out.add(new FileSequence.Range(InputFile.beneath(dir, n,
                    new InputFile.Expected(s.size(), s.mtimeNanos(), s.ino(), s.dev(), true)), 0, s.size()));
        }
        return out;
    }

    @Test
    void everyFileReadsItsBytesAndTheNextFilesAreOpenedAndReadAhead() throws Exception {
        try (Dir dir = Dir.open(root)) {
            List<FileSequence.Range> ranges = ranges(dir, names);
            try (FileSequence seq = engine.sequence(ranges.iterator(), 2)) {
                for (int i = 0; i < FILES; i++) {
                    FileSequence.Range r = ranges.get(i);
                    // a new InputFile for the same file, as a partition makes one per piece: matched by name
                    InputFile same = InputFile.beneath(dir, names.get(i), expected(dir, names.get(i)));
                    BlockReader reader = seq.open(same, r.start(), r.end());
                    if (i == 0 && ahead()) {
                        // the first open opened a window of files, each with its first read submitted
                        EngineStats s = engine.stats();
                        assertThat(s.readersOpened()).isEqualTo(ReadAheadSequence.WINDOW);
                        assertThat(s.readsInFlight() + s.reads()).as("first reads of the window, submitted")
                                .isGreaterThanOrEqualTo(ReadAheadSequence.WINDOW - countEmpty(0, ReadAheadSequence.WINDOW));
                    } else if (i == 0) {
                        assertThat(engine.stats().readersOpened()).as("the blocking engine opens when asked").isEqualTo(1);
                    }
                    assertThat(read(reader)).as(names.get(i)).isEqualTo(sha.get(i));
                    reader.close();
                }
            }
            assertThat(engine.stats().readersOpened()).as("each file opened once").isEqualTo(FILES);
        }
        assertThat(engine.stats().readersOpen()).isZero();
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
        assertThat(openDescriptors()).isZero();
    }

    @Test
    void aFileChangedOrSwappedForALinkFailsAtItsOwnOpenAndTheOthersRead() throws Exception {
        try (Dir dir = Dir.open(root)) {
            List<FileSequence.Range> ranges = ranges(dir, names);
            // after the plan: file 5 grows, file 9 becomes a link to file 0
            Files.write(root.resolve(names.get(5)), new byte[] {1, 2, 3}, java.nio.file.StandardOpenOption.APPEND);
            Files.delete(root.resolve(names.get(9)));
            Files.createSymbolicLink(root.resolve(names.get(9)), root.resolve(names.get(0)));
            try (FileSequence seq = engine.sequence(ranges.iterator(), 2)) {
                for (int i = 0; i < 20; i++) {
                    FileSequence.Range r = ranges.get(i);
                    if (i == 5) {
                        assertThatThrownBy(() -> seq.open(r.file(), r.start(), r.end()))
                                .isInstanceOf(IOException.class).hasMessageContaining(names.get(5))
                                .hasMessageContaining("changed while the job ran");
                        continue;
                    }
                    if (i == 9) {
                        assertThatThrownBy(() -> seq.open(r.file(), r.start(), r.end()))
                                .isInstanceOf(IOException.class).hasMessageContaining(names.get(9));
                        continue;
                    }
                    try (BlockReader reader = seq.open(r.file(), r.start(), r.end())) {
                        assertThat(read(reader)).as(names.get(i)).isEqualTo(sha.get(i));
                    }
                }
            }
        }
        assertThat(engine.stats().readersOpen()).isZero();
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
        assertThat(openDescriptors()).isZero();
    }

    @Test
    void rangesPassedOverOrNeverTakenAreClosedAndAnUnexpectedRangeIsOpenedThen() throws Exception {
        try (Dir dir = Dir.open(root)) {
            List<FileSequence.Range> ranges = ranges(dir, names);
            try (FileSequence seq = engine.sequence(ranges.iterator(), 2)) {
                FileSequence.Range first = ranges.get(0);
                try (BlockReader reader = seq.open(first.file(), first.start(), first.end())) {
                    assertThat(read(reader)).isEqualTo(sha.get(0));
                }
                // a range the sequence did not expect (the rest of a file's last line, say): opened now, and
                // the files opened ahead stay for later
                FileSequence.Range third = ranges.get(3);
                long half = third.end() / 2;
                try (BlockReader reader = seq.open(third.file(), half, third.end())) {
                    assertThat(reader.start()).isEqualTo(half);
                    drain(reader);
                }
                // files 1-6 left out: passed over, closed; 7 comes from the window
                FileSequence.Range seventh = ranges.get(7);
                long openedBefore = engine.stats().readersOpened();
                try (BlockReader reader = seq.open(seventh.file(), seventh.start(), seventh.end())) {
                    assertThat(read(reader)).isEqualTo(sha.get(7));
                }
                assertThat(engine.stats().readersOpened()).as("7 was opened ahead, not again")
                        .isEqualTo(openedBefore + (ahead() ? 0 : 1));
                // closed with a window of files opened, their reads submitted
            }
        }
        assertThat(engine.stats().readersOpen()).isZero();
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
        assertThat(openDescriptors()).isZero();
    }

    @Test
    void aFileChangedAfterItWasOpenedAheadFailsAsChangedWhenItIsReached() throws Exception {
        try (Dir dir = Dir.open(root)) {
            List<FileSequence.Range> ranges = ranges(dir, names);
            try (FileSequence seq = engine.sequence(ranges.iterator(), 2)) {
                FileSequence.Range first = ranges.get(0);
                try (BlockReader reader = seq.open(first.file(), first.start(), first.end())) {
                    assertThat(read(reader)).isEqualTo(sha.get(0));
                }
                // files 1-15 are open (io_uring) with their first reads done or in flight; 3 changes now
                Files.write(root.resolve(names.get(3)), new byte[] {9}, java.nio.file.StandardOpenOption.APPEND);
                for (int i = 1; i < 6; i++) {
                    FileSequence.Range r = ranges.get(i);
                    if (i == 3) {
                        assertThatThrownBy(() -> seq.open(r.file(), r.start(), r.end()))
                                .isInstanceOf(IOException.class).hasMessageContaining(names.get(3))
                                .hasMessageContaining("changed while the job ran");
                        continue;
                    }
                    try (BlockReader reader = seq.open(r.file(), r.start(), r.end())) {
                        assertThat(read(reader)).as(names.get(i)).isEqualTo(sha.get(i));
                    }
                }
            }
        }
        assertThat(engine.stats().readersOpen()).isZero();
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
        assertThat(openDescriptors()).isZero();
    }

    /** Whether the engine opens ranges ahead (io_uring) or when asked (blocking). */
    private boolean ahead() {
        return engine instanceof IoUringEngine;
    }

    private int countEmpty(int from, int to) throws IOException {
        int n = 0;
        for (int i = from; i < to; i++) {
            if (Files.size(root.resolve(names.get(i))) == 0) {
                n++;
            }
        }
        return n;
    }

    private static InputFile.Expected expected(Dir dir, String name) throws IOException {
        Stat s = dir.stat(name);
        return new InputFile.Expected(s.size(), s.mtimeNanos(), s.ino(), s.dev(), true);
    }

    private static String read(BlockReader reader) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        Block b;
        while ((b = reader.next()) != null) {
            md.update(b.data());
            b.release();
        }
        return HexFormat.of().formatHex(md.digest());
    }

    private static void drain(BlockReader reader) throws IOException {
        Block b;
        while ((b = reader.next()) != null) {
            b.release();
        }
    }

    private static String sha(byte[] bytes) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
    }

    /** The process's descriptors of files beneath {@link #root}: those the sequence opened. */
    private long openDescriptors() throws IOException {
        long n = 0;
        Path real = root.toRealPath();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).startsWith(real)) {
                        n++;
                    }
                } catch (IOException gone) {
                    // closed meanwhile (the listing's own descriptor)
                }
            }
        }
        return n;
    }
}
