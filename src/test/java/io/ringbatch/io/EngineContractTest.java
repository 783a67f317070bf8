package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.Parameter;
import org.junit.jupiter.params.ParameterizedClass;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The contract both engines keep, run against each on real files: the io_uring engine on a real ring,
 * the blocking engine on FileChannel. Files live on the build machine's disk (a temporary directory),
 * so O_DIRECT is exercised where that file system allows it. The io_uring engine runs it also as older
 * kernels would have it: without {@code IORING_SETUP_SUBMIT_ALL} (before 5.18), without
 * {@code IORING_SETUP_CLAMP}, and without timed waits in io_uring_enter (before 5.11, where waits are
 * bounded by {@code IORING_OP_TIMEOUT}), each refused in turn through the engine's fault seam.
 */
@Timeout(120)
@ParameterizedClass(name = "{0}")
@ValueSource(strings = {"io_uring", "io_uring-shared", "blocking", "io_uring-no-submit-all", "io_uring-no-clamp",
        "io_uring-shared-no-ext-arg", "io_uring-no-ext-arg"})
class EngineContractTest {
    private static final int MIB = 1 << 20;

    @Parameter
    String engineName;

    @TempDir
    static Path dir;

    private static final Map<Long, Path> FILES = new ConcurrentHashMap<>();
    private final List<IoEngine> engines = new ArrayList<>();

    private IoEngine engine(IoOptions options) {
        IoEngine engine = start(options);
        engines.add(engine);
        return engine;
    }

    /**
     * "io_uring" is the default per-thread topology, "io_uring-shared" the one-ring one; "-no-X" refuses
     * the set-up flag X (or hides the feature EXT_ARG), as a kernel older than the one here would.
     */
    private IoEngine start(IoOptions options) {
        BufferPool.checkOwners = true;
        String name = engineName;
        int refused = name.endsWith("-no-submit-all") ? Uring.SETUP_SUBMIT_ALL
                : name.endsWith("-no-clamp") ? Uring.SETUP_CLAMP : 0;
        int hidden = name.endsWith("-no-ext-arg") ? Uring.FEAT_EXT_ARG : 0;
        if (refused != 0 || hidden != 0) {
            Faults faults = Faults.install();
            faults.refusedSetupFlags = refused;
            faults.hiddenFeatures = hidden;
            name = name.substring(0, name.indexOf("-no-"));
        }
        boolean shared = name.endsWith("-shared");
        String mode = shared ? name.substring(0, name.length() - "-shared".length()) : name;
        options = options.withTopology(shared ? IoOptions.Topology.SHARED : IoOptions.Topology.PER_THREAD);
        IoEngine engine = IoEngines.select(IoEngines.Mode.parse(mode), options).engine();
        assertThat(engine.name()).isEqualTo(mode);
        if (engine instanceof IoUringEngine uring) {
            assertThat(uring.topology()).isEqualTo(options.topology());
            assertThat(uring.features()).doesNotContain(refused == Uring.SETUP_SUBMIT_ALL ? "IORING_SETUP_SUBMIT_ALL"
                    : refused == Uring.SETUP_CLAMP ? "IORING_SETUP_CLAMP" : hidden != 0 ? "IORING_FEAT_EXT_ARG" : "-");
        }
        return engine;
    }

    @AfterEach
    void poolIsWholeAndNothingLeaks() {
        try {
            for (IoEngine engine : engines) {
                assertThat(engine.stats().readersOpen()).as("readers left open").isZero();
                assertThat(engine.pool().available()).as("buffers back in the pool").isEqualTo(engine.pool().capacity());
                assertThat(engine.stats().readsInFlight()).isZero();
                engine.close();
                if (engine instanceof IoUringEngine uring) {
                    assertThat(uring.staleCompletions()).as("completions that named no read").isZero();
                }
            }
            assertThat(openTestFiles()).as("test files still open after close").isEmpty();
            assertThat(BufferPool.ownershipViolations.get()).as("buffers with two owners").isZero();
        } finally {
            Faults.uninstall();
            BufferPool.checkOwners = false;
        }
    }

    /** A file of {@code size} random bytes, made once per size. */
    static Path file(long size) {
        return FILES.computeIfAbsent(size, s -> {
            try {
                Path p = dir.resolve("f-" + s + ".bin");
                byte[] data = new byte[(int) (long) s];
                new Random(s).nextBytes(data);
                Files.write(p, data);
                return p;
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
        });
    }

    /** Reads the reader to its end, checking that blocks come in file order and without gaps. */
    static byte[] readAll(BlockReader reader) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        long expected = reader.start();
        Block block;
        while ((block = reader.next()) != null) {
            assertThat(block.offset()).as("block offset").isEqualTo(expected);
            assertThat(block.length()).isPositive();
            byte[] bytes = new byte[block.length()];
            block.data().get(bytes);
            out.write(bytes);
            expected = block.end();
            block.release();
        }
        assertThat(expected).isEqualTo(reader.end());
        assertThat(reader.position()).isEqualTo(reader.end());
        assertThat(reader.next()).as("after the end, again").isNull();
        return out.toByteArray();
    }

    static Stream<Arguments> sizes() {
        long[] sizes = {0, 1, 4095, 4096, 4097, MIB - 1, MIB, MIB + 1, 64L * MIB + 3};
        return Arrays.stream(sizes).boxed()
                .flatMap(s -> Stream.of(Arguments.of(s, false), Arguments.of(s, true)));
    }

    @ParameterizedTest(name = "size {0}, direct {1}")
    @MethodSource("sizes")
    void readsWholeFilesByteForByte(long size, boolean direct) throws IOException {
        IoEngine engine = engine(IoOptions.defaults().withDirect(direct));
        Path path = file(size);
        try (BlockReader reader = engine.open(path)) {
            assertThat(readAll(reader)).isEqualTo(Files.readAllBytes(path));
            assertThat(reader.stats().bytes()).isEqualTo(size);
            assertThat(reader.stats().blocks()).isEqualTo((size + MIB - 1) / MIB);
        }
    }

    @Test
    void directReadsReallyBypassTheCacheWhereTheFileSystemAllows() throws IOException {
        IoEngine engine = engine(IoOptions.defaults().withDirect(true));
        try (BlockReader reader = engine.open(file(MIB + 1))) {
            // the build machines' temporary directory is ext4 or xfs, both of which take O_DIRECT
            assertThat(reader.direct()).isTrue();
            readAll(reader);
        }
        try (BlockReader reader = engine(IoOptions.defaults()).open(file(MIB + 1))) {
            assertThat(reader.direct()).isFalse();
            readAll(reader);
        }
    }

    @ParameterizedTest(name = "direct {0}")
    @ValueSource(booleans = {false, true})
    void readsRangesThatStartAndEndInsideBlocks(boolean direct) throws IOException {
        IoEngine engine = engine(IoOptions.defaults().withDirect(direct));
        long size = 3L * MIB + 123;
        Path path = file(size);
        byte[] all = Files.readAllBytes(path);
        long[][] ranges = {
                {1, 4095}, {4095, 4097}, {1000, MIB + 5}, {MIB - 1, 2L * MIB + 1}, {5, size}, {size, size},
                {0, 0}, {2L * MIB + 17, size - 1}, {4096, 3L * MIB}, {MIB, 2L * MIB}};
        for (long[] r : ranges) {
            try (BlockReader reader = engine.open(path, r[0], r[1])) {
                assertThat(readAll(reader)).as("range [%d, %d)", r[0], r[1])
                        .isEqualTo(Arrays.copyOfRange(all, (int) r[0], (int) r[1]));
            }
        }
    }

    @Test
    void refusesRangesOutsideTheFile() {
        IoEngine engine = engine(IoOptions.defaults());
        Path path = file(4097);
        assertThatThrownBy(() -> engine.open(path, 0, 4098)).isInstanceOf(IOException.class)
                .hasMessageContaining(path.toString()).hasMessageContaining("beyond the file's size");
        assertThatThrownBy(() -> engine.open(path, 10, 5)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void readsManyFilesAtOnceFromEightThreadsThroughOneEngine() throws Exception {
        // small blocks, so that every file takes many reads and they interleave on the one ring
        IoEngine engine = engine(IoOptions.defaults().withBlockSize(64 * 1024).withReadAhead(4)
                .withBufferPoolSize(256));
        Random random = new Random(42);
        List<Path> files = new ArrayList<>();
        for (int i = 0; i < 72; i++) {
            Path p = dir.resolve("many-" + i + ".bin");
            byte[] data = new byte[random.nextInt(3 * MIB)];
            random.nextBytes(data);
            Files.write(p, data);
            files.add(p);
        }
        ExecutorService threads = Executors.newFixedThreadPool(8);
        try {
            List<Future<Map<Path, String>>> results = new ArrayList<>();
            for (int t = 0; t < 8; t++) {
                List<Path> mine = files.subList(t * 9, t * 9 + 9);
                // each thread keeps its nine readers open together and takes a block from each in turn
                results.add(threads.submit(() -> interleave(engine, mine)));
            }
            for (Future<Map<Path, String>> result : results) {
                for (Map.Entry<Path, String> e : result.get().entrySet()) {
                    assertThat(e.getValue()).as(e.getKey().toString()).isEqualTo(sha256(Files.readAllBytes(e.getKey())));
                }
            }
        } finally {
            threads.shutdownNow();
        }
        assertThat(engine.stats().readersOpened()).isEqualTo(72);
        if (engine instanceof IoUringEngine uring) {
            // one ring for all, or one per thread that read (the test thread made the first)
            assertThat(uring.rings()).isEqualTo(uring.topology() == IoOptions.Topology.SHARED ? 1 : 9);
        }
    }

    private static Map<Path, String> interleave(IoEngine engine, List<Path> paths) throws Exception {
        List<BlockReader> readers = new ArrayList<>();
        List<MessageDigest> digests = new ArrayList<>();
        try {
            for (Path p : paths) {
                readers.add(engine.open(p));
                digests.add(MessageDigest.getInstance("SHA-256"));
            }
            boolean more = true;
            while (more) {
                more = false;
                for (int i = 0; i < readers.size(); i++) {
                    Block block = readers.get(i).next();
                    if (block != null) {
                        digests.get(i).update(block.data());
                        block.release();
                        more = true;
                    }
                }
            }
            Map<Path, String> out = new ConcurrentHashMap<>();
            for (int i = 0; i < paths.size(); i++) {
                out.put(paths.get(i), HexFormat.of().formatHex(digests.get(i).digest()));
            }
            return out;
        } finally {
            readers.forEach(BlockReader::close);
        }
    }

    @Test
    void handsBlocksOutInFileOrderWhenCompletionsArriveOutOfOrder() throws Exception {
        IoEngine engine = engine(IoOptions.defaults().withBlockSize(256 * 1024).withReadAhead(16));
        Path path = dir.resolve("half-cached.bin");
        byte[] data = new byte[16 * MIB];
        new Random(7).nextBytes(data);
        Files.write(path, data);
        long outOfOrder = 0;
        for (int round = 0; round < 5 && outOfOrder == 0; round++) {
            // every other block leaves the page cache: a cached block read after an evicted one finishes first
            for (int b = 0; b < 64; b += 2) {
                evict(path, b * 256L * 1024, 256 * 1024);
            }
            try (BlockReader reader = engine.open(path)) {
                assertThat(readAll(reader)).isEqualTo(data);
            }
            outOfOrder = engine.stats().outOfOrder();
        }
        if (engineName.startsWith("io_uring")) {
            // cached reads complete inline at submission; the evicted front goes to the disk
            assertThat(outOfOrder).as("reads completed out of order").isPositive();
        }
    }

    @Test
    void endOfFileIsNullAndStaysNull() throws IOException {
        IoEngine engine = engine(IoOptions.defaults());
        try (BlockReader reader = engine.open(file(0))) {
            assertThat(reader.next()).isNull();
            assertThat(reader.next()).isNull();
            assertThat(reader.position()).isZero();
        }
    }

    @Test
    void aMissingFileFailsWithItsPathAndErrno() {
        IoEngine engine = engine(IoOptions.defaults());
        Path missing = dir.resolve("no such file");
        assertThatThrownBy(() -> engine.open(missing)).isInstanceOf(IOException.class)
                .hasMessageContaining(missing.toString()).hasMessageContaining("ENOENT");
    }

    @Test
    void aFileNamedByBytesIsNamedInMessageFormWhenItIsMissingOrChanged() throws IOException {
        IoEngine engine = engine(IoOptions.defaults());
        Path sub = Files.createDirectories(dir.resolve("names-" + engineName));
        // each name's bytes and how a message must show it (FileNames.inMessage), written out
        Map<String, String> names = new LinkedHashMap<>();
        names.put(FileNames.of(new byte[] {'c', 'a', 'f', (byte) 0xE9, '.', 'l', 'o', 'g'}), "caf\\xE9.log");
        names.put(FileNames.of(new byte[] {'b', 'a', 'd', (byte) 0xC3, '(', (byte) 0x80, (byte) 0xFF}),
                "bad\\xC3(\\x80\\xFF");
        names.put("new\nline\t.log", "new\\x0Aline\\x09.log");
        try (Dir root = Dir.open(sub)) {
            for (Map.Entry<String, String> name : names.entrySet()) {
                String shown = sub + "/" + name.getValue();
                assertThatThrownBy(() -> engine.open(InputFile.beneath(root, name.getKey(), null), 0, -1, 1))
                        .isInstanceOf(IOException.class).hasMessage(shown + ": ENOENT (errno 2)");
                int fd = root.openFd(name.getKey(), Dir.O_WRONLY | Dir.O_CREAT, 0644);
                Stat stat;
                try {
                    stat = Dir.stat(fd, "test");
                } finally {
                    Dir.closeFd(fd);
                }
                // planned one byte longer than it is: changed since
                InputFile.Expected planned = new InputFile.Expected(stat.size() + 1, stat.mtimeNanos(), stat.ino(),
                        stat.dev(), false);
                assertThatThrownBy(() -> engine.open(InputFile.beneath(root, name.getKey(), planned), 0, -1, 1))
                        .isInstanceOf(IOException.class).hasMessageStartingWith(shown + ": changed while the job ran");
            }
        }
    }

    @Test
    void aDirectoryIsRefusedWithItsPath() throws IOException {
        IoEngine engine = engine(IoOptions.defaults());
        Path sub = Files.createDirectories(dir.resolve("a directory"));
        assertThatThrownBy(() -> engine.open(sub)).isInstanceOf(IOException.class)
                .hasMessageContaining(sub.toString()).hasMessageContaining("EISDIR");
    }

    @Test
    void aFifoIsRefusedWithoutHanging() throws Exception {
        IoEngine engine = engine(IoOptions.defaults());
        Path fifo = dir.resolve("fifo-" + engineName);
        Process mk = new ProcessBuilder("mkfifo", fifo.toString()).start();
        assertThat(mk.waitFor()).isZero();
        assertThatThrownBy(() -> engine.open(fifo)).isInstanceOf(IOException.class)
                .hasMessageContaining(fifo.toString()).hasMessageContaining("not a regular file");
    }

    @ParameterizedTest(name = "direct {0}")
    @ValueSource(booleans = {false, true})
    void aFileTruncatedWhileReadFailsWithItsPath(boolean direct) throws IOException {
        IoEngine engine = engine(IoOptions.defaults().withDirect(direct).withReadAhead(2));
        Path path = dir.resolve("shrinking-" + direct + ".bin");
        Files.write(path, new byte[8 * MIB]);
        try (BlockReader reader = engine.open(path)) {
            reader.next().release();
            try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
                ch.truncate(2L * MIB + 100);
            }
            assertThatThrownBy(() -> {
                Block block;
                while ((block = reader.next()) != null) {
                    block.release(); // the blocks read ahead before the truncation may still arrive
                }
            }).isInstanceOf(IOException.class).hasMessageContaining(path.toString()).hasMessageContaining("truncated");
            // a failed reader keeps failing, it does not pretend the range ended
            assertThatThrownBy(reader::next).isInstanceOf(IOException.class);
        }
    }

    @Test
    void closingWithReadsInFlightThousandTimesLosesNothing() throws IOException {
        IoEngine engine = engine(IoOptions.defaults().withBlockSize(64 * 1024).withReadAhead(8));
        Path path = dir.resolve("close-loop.bin");
        byte[] data = new byte[4 * MIB];
        new Random(3).nextBytes(data);
        Files.write(path, data);
        for (int i = 0; i < 1000; i++) {
            if (i % 4 == 0) {
                evict(path, 0, data.length); // so that the reads really are in flight at close
            }
            BlockReader reader = engine.open(path, (i * 4097L) % MIB, data.length);
            Block held = null;
            if (i % 3 != 0) {
                Block block = reader.next();
                if (i % 2 == 0) {
                    block.release();
                } else {
                    held = block;
                }
            }
            reader.close();
            if (held != null) {
                // a block handed out stays valid after close, until its consumer releases it
                assertThat(engine.pool().available()).as("pool after close %d", i).isEqualTo(engine.pool().capacity() - 1);
                assertThat(held.data().get(0)).isEqualTo(data[(int) held.offset()]);
                held.release();
                held.release();
            }
            assertThat(engine.pool().available()).as("pool after close %d", i).isEqualTo(engine.pool().capacity());
        }
        assertThat(engine.stats().readsInFlight()).isZero();
    }

    @Test
    void closingTheEngineClosesItsReadersAndReleasesEverything() throws IOException {
        long ringsBefore = ringMappings();
        IoEngine engine = start(IoOptions.defaults());
        BlockReader a = engine.open(file(64L * MIB + 3));
        BlockReader b = engine.open(file(MIB + 1));
        a.next();
        b.next();
        engine.close();
        assertThat(engine.pool().available()).isEqualTo(engine.pool().capacity());
        assertThat(engine.stats().readersOpen()).isZero();
        assertThatThrownBy(a::next).isInstanceOf(IOException.class).hasMessageContaining("closed");
        assertThatThrownBy(() -> engine.open(file(1))).isInstanceOf(IOException.class);
        assertThat(ringMappings()).as("io_uring mappings after close").isEqualTo(ringsBefore);
    }

    @Test
    void countsTheTimeConsumersWaited() throws IOException {
        // one read ahead, past the page cache: a consumer that only takes blocks has to wait for the device
        IoEngine engine = engine(IoOptions.defaults().withDirect(true).withReadAhead(1));
        Path path = file(64L * MIB + 3);
        evict(path, 0, 64L * MIB + 3);
        try (BlockReader reader = engine.open(path)) {
            Block block;
            while ((block = reader.next()) != null) {
                block.release();
            }
            ReaderStats stats = reader.stats();
            assertThat(stats.blocks()).isEqualTo(65);
            assertThat(stats.waits()).isPositive();
            assertThat(stats.waitNanos()).isPositive();
            assertThat(engine.stats().waits()).isEqualTo(stats.waits());
            assertThat(engine.stats().waitNanos()).isEqualTo(stats.waitNanos());
        }
    }

    /** Drops a file's pages from the page cache (they are clean, so the kernel lets them go). */
    static void evict(Path path, long offset, long length) throws IOException {
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.force(true);
        }
        NativeFile f = NativeFile.open(InputFile.of(path), false);
        try {
            LibC.posix_fadvise(f.fd, offset, length, 4 /* POSIX_FADV_DONTNEED */);
        } finally {
            f.close();
        }
    }

    /** The descriptors of this process that point into the test's directory. */
    static List<String> openTestFiles() {
        List<String> open = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : (Iterable<Path>) fds::iterator) {
                try {
                    Path target = Files.readSymbolicLink(fd);
                    if (target.startsWith(dir)) {
                        open.add(target.toString());
                    }
                } catch (IOException gone) {
                    // closed while we looked: not open
                }
            }
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
        return open;
    }

    static long ringMappings() throws IOException {
        try (Stream<String> lines = Files.lines(Path.of("/proc/self/maps"))) {
            return lines.filter(l -> l.contains("io_uring")).count();
        }
    }

    static String sha256(byte[] data) throws Exception {
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
    }

    static String sha256(ByteBuffer data) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        md.update(data);
        return HexFormat.of().formatHex(md.digest());
    }
}
