package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Opens ahead of use ({@link IoEngine#openAhead}) on real small files, against each engine: io_uring with
 * its opens and stats through the ring, io_uring as a kernel without those operations would have it
 * (the probe says no, or each open completes with EINVAL: both open synchronously), and the blocking
 * engine (synchronous). Every engine reads the same bytes; a file passed over, a lookahead closed with its
 * opens still in the kernel, and an engine closed under a lookahead leave no descriptor open (counted in
 * {@code /proc/self/fd}); an open that fails names the file.
 */
@Timeout(120)
@ParameterizedClass(name = "{0}")
@ValueSource(strings = {"io_uring", "io_uring-no-ring-opens", "io_uring-open-einval", "blocking"})
class OpenAheadTest {
    private static final int FILES = 300;

    @Parameter
    String engineName;

    @TempDir
    static Path tmp;

    private static Path root;
    private static final List<String> NAMES = new ArrayList<>();
    private static final List<String> SHA = new ArrayList<>();
    private IoEngine engine;

    @BeforeAll
    static void files() throws Exception {
        root = Files.createDirectories(tmp.resolve("root"));
        SplittableRandom random = new SplittableRandom(21);
        for (int i = 0; i < FILES; i++) {
            String name = String.format("d%02d/f%04d.bin", i % 17, i);
            Path f = root.resolve(name);
            Files.createDirectories(f.getParent());
            byte[] bytes = new byte[random.nextInt(8193)]; // 0-8 KiB, as the many-small-files benchmark
            random.nextBytes(bytes);
            Files.write(f, bytes);
            NAMES.add(name);
            SHA.add(HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes)));
        }
    }

    private IoEngine start() {
        String name = engineName;
        if (name.equals("io_uring-no-ring-opens")) {
            Faults.install().noRingOpens = true;
            name = "io_uring";
        } else if (name.equals("io_uring-open-einval")) {
            Faults.install().ringOpenResult = -Errno.EINVAL;
            name = "io_uring";
        }
        engine = IoEngines.select(IoEngines.Mode.parse(name), IoOptions.defaults()).engine();
        return engine;
    }

    @AfterEach
    void stop() {
        if (engine != null) {
            engine.close();
        }
        Faults.uninstall();
    }

    private List<InputFile> inputs(Dir dir, List<String> names) throws IOException {
        List<InputFile> out = new ArrayList<>();
        for (String n : names) {
            Stat s = dir.stat(n);
            out.add(InputFile.beneath(dir, n, new InputFile.Expected(s.size(), s.mtimeNanos(), s.ino(), s.dev(), true)));
        }
        return out;
    }

    private static String sha(IoEngine engine, InputFile input) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (BlockReader reader = engine.open(input, 0, -1, 1)) {
            Block b;
            while ((b = reader.next()) != null) {
                md.update(b.data());
                b.release();
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    /**
     * The process's descriptors of files beneath {@link #root}: those a lookahead opens. Other descriptors
     * of this JVM (other tests' contexts, their rings, logs) come and go on their own and are not counted.
     */
    private static long openDescriptors() throws IOException {
        long n = 0;
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    if (Files.readSymbolicLink(fd).startsWith(root.toRealPath())) {
                        n++;
                    }
                } catch (IOException gone) {
                    // closed since the listing
                }
            }
        }
        return n;
    }

    @Test
    void everyFileReadsTheSameOpenedAheadOrNot() throws Exception {
        IoEngine e = start();
        try (Dir dir = Dir.open(root)) {
            List<InputFile> inputs = inputs(dir, NAMES);
            long fds = openDescriptors();
            List<String> got = new ArrayList<>();
            try (IoEngine.Lookahead ahead = e.openAhead(inputs.iterator())) {
                for (InputFile input : inputs) {
                    got.add(sha(e, input));
                }
            }
            assertThat(got).containsExactlyElementsOf(SHA);
            assertThat(openDescriptors()).isEqualTo(fds);
            if (e instanceof IoUringEngine u) {
                boolean ring = engineName.equals("io_uring");
                assertThat(u.ringOpens()).isEqualTo(!engineName.equals("io_uring-no-ring-opens"));
                assertThat(u.openedAhead()).isEqualTo(ring ? FILES : 0);
                // the kernel "without" the op: every open went in, came back EINVAL, and was done synchronously
                assertThat(u.openedInline()).isEqualTo(engineName.equals("io_uring-open-einval") ? FILES : 0);
                assertThat(u.lookaheads()).isZero();
            }
        }
    }

    @Test
    void filesPassedOverAndFilesNeverTakenAreClosed() throws Exception {
        IoEngine e = start();
        try (Dir dir = Dir.open(root)) {
            List<InputFile> inputs = inputs(dir, NAMES);
            long fds = openDescriptors();
            try (IoEngine.Lookahead ahead = e.openAhead(inputs.iterator())) {
                // every third file is taken: the two before each were opened ahead and are passed over
                for (int i = 2; i < 100; i += 3) {
                    assertThat(sha(e, inputs.get(i))).isEqualTo(SHA.get(i));
                }
                // a file the lookahead does not name (it is behind): opened synchronously, read the same
                assertThat(sha(e, inputs.get(0))).isEqualTo(SHA.get(0));
            }
            assertThat(openDescriptors()).as("no descriptor left of the files opened ahead and not taken")
                    .isEqualTo(fds);
        }
    }

    @Test
    void aLookaheadClosedWithItsOpensInTheKernelLeaksNoDescriptor() throws Exception {
        IoEngine e = start();
        try (Dir dir = Dir.open(root)) {
            List<InputFile> inputs = inputs(dir, NAMES);
            long fds = openDescriptors();
            for (int round = 0; round < 20; round++) {
                // opened, nothing reaped yet: their completions come after the close has begun
                e.openAhead(inputs.subList(round, round + 40).iterator()).close();
            }
            assertThat(openDescriptors()).isEqualTo(fds);
            if (e instanceof IoUringEngine u) {
                assertThat(u.lookaheads()).isZero();
                assertThat(u.openedAhead()).isZero();
            }
        }
    }

    @Test
    void anEngineClosedUnderALookaheadLeaksNoDescriptor() throws Exception {
        IoEngine e = start();
        try (Dir dir = Dir.open(root)) {
            List<InputFile> inputs = inputs(dir, NAMES);
            long fds = openDescriptors();
            IoEngine.Lookahead ahead = e.openAhead(inputs.iterator());
            assertThat(sha(e, inputs.get(0))).isEqualTo(SHA.get(0)); // the window behind it is open or opening
            e.close();
            ahead.close(); // after the engine: idempotent, throws nothing
            assertThat(openDescriptors()).isEqualTo(fds);
        }
    }

    @Test
    void anOpenThatFailsNamesTheFileAndTheNextFilesStillRead() throws Exception {
        IoEngine e = start();
        Path gone = root.resolve("gone.bin");
        Files.write(gone, new byte[10]);
        Path changed = root.resolve("changed.bin");
        Files.write(changed, new byte[10]);
        try (Dir dir = Dir.open(root)) {
            List<InputFile> inputs = new ArrayList<>(inputs(dir, List.of("gone.bin", "changed.bin")));
            inputs.addAll(inputs(dir, NAMES.subList(0, 5)));
            Files.delete(gone); // after the plan, before the open
            Files.write(root.resolve("other.bin"), new byte[10]); // the same size, another inode
            Files.move(root.resolve("other.bin"), changed, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            long fds = openDescriptors();
            try (IoEngine.Lookahead ahead = e.openAhead(inputs.iterator())) {
                assertThatThrownBy(() -> sha(e, inputs.get(0))).isInstanceOf(NoSuchFileException.class)
                        .hasMessageContaining("gone.bin");
                assertThatThrownBy(() -> sha(e, inputs.get(1))).isInstanceOf(IOException.class)
                        .hasMessageContaining("changed.bin").hasMessageContaining("changed while the job ran")
                        .hasMessageContaining("inode");
                for (int i = 0; i < 5; i++) {
                    assertThat(sha(e, inputs.get(2 + i))).isEqualTo(SHA.get(i));
                }
            }
            assertThat(openDescriptors()).isEqualTo(fds);
            if (e instanceof IoUringEngine u) {
                // through the ring: the failed open and the changed file's check (on the ring's statx of the
                // descriptor it opened) were the ring's, not a fallback's; with opens answered EINVAL only
                // the six that the kernel opened went the synchronous way (gone.bin's ENOENT stands)
                assertThat(u.openedAhead()).isEqualTo(engineName.equals("io_uring") ? 6 : 0);
                assertThat(u.openedInline()).isEqualTo(engineName.equals("io_uring-open-einval") ? 6 : 0);
            }
        }
    }
}
