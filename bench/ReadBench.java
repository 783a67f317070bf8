import com.sun.jna.LastErrorException;
import com.sun.jna.Library;
import com.sun.jna.Native;
import com.sun.jna.Pointer;
import io.ringbatch.io.Block;
import io.ringbatch.io.BlockReader;
import io.ringbatch.io.EngineStats;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The read benchmark: reads one generated set of files with the ringbatch engines and
 * their peers, cold and warm, and runs fio over the same files as the reference.
 * <p>
 * Run with the JDK's source launcher, the project's classes and runtime dependencies on the class
 * path ({@code bench/run-read.sh} does all of it):
 * <pre>
 *   java -cp target/classes:$(deps) bench/ReadBench.java --size 4g --seed 42 --modes cold,warm
 * </pre>
 * {@code --help} lists the options. See bench/README.md for what each reader does.
 */
public final class ReadBench {

    static final long KiB = 1L << 10;
    static final long MiB = 1L << 20;
    static final long GiB = 1L << 30;
    static final int PAGE = 4096;
    static final String MANIFEST = "manifest.tsv";
    static final String MANIFEST_VERSION = "ReadBench data set v1";

    // ------------------------------------------------------------------------------------------
    // libc through JNA: mmap, madvise, mincore and friends, for the mmap reader and the cache probe
    // ------------------------------------------------------------------------------------------

    /** The few libc calls the bench needs that java.nio does not offer. Addresses are plain longs. */
    public interface CLib extends Library {
        CLib C = Native.load("c", CLib.class);

        int O_RDONLY = 0;
        int O_CLOEXEC = 0x80000;
        int PROT_READ = 0x1;
        int MAP_SHARED = 0x01;
        int MADV_WILLNEED = 3;

        int open(String path, int flags) throws LastErrorException;

        int close(int fd) throws LastErrorException;

        long mmap(long addr, long length, int prot, int flags, int fd, long offset) throws LastErrorException;

        int munmap(long addr, long length) throws LastErrorException;

        int madvise(long addr, long length, int advice) throws LastErrorException;

        int mincore(long addr, long length, byte[] vec) throws LastErrorException;

        int geteuid();
    }

    /** A read-only shared mapping of a whole file; {@code size == 0} maps nothing. */
    static final class Mapping implements AutoCloseable {
        final long address;
        final long size;

        Mapping(Path path, long size) throws IOException {
            this.size = size;
            if (size == 0) {
                this.address = 0;
                return;
            }
            int fd;
            try {
                fd = CLib.C.open(path.toString(), CLib.O_RDONLY | CLib.O_CLOEXEC);
            } catch (LastErrorException e) {
                throw new IOException(path + ": open: errno " + e.getErrorCode(), e);
            }
            try {
                this.address = CLib.C.mmap(0, size, CLib.PROT_READ, CLib.MAP_SHARED, fd, 0);
            } catch (LastErrorException e) {
                throw new IOException(path + ": mmap: errno " + e.getErrorCode(), e);
            } finally {
                CLib.C.close(fd); // the mapping keeps the file referenced
            }
        }

        /** A direct ByteBuffer over {@code [offset, offset + length)} of the mapping. */
        ByteBuffer view(long offset, int length) {
            return new Pointer(address + offset).getByteBuffer(0, length);
        }

        void willNeed(long offset, long length) {
            if (length > 0) {
                CLib.C.madvise(address + offset, length, CLib.MADV_WILLNEED);
            }
        }

        /** Pages of the mapping that are in the page cache. */
        long residentPages() {
            if (size == 0) {
                return 0;
            }
            byte[] vec = new byte[(int) ((size + PAGE - 1) / PAGE)];
            CLib.C.mincore(address, size, vec);
            long n = 0;
            for (byte b : vec) {
                n += b & 1;
            }
            return n;
        }

        @Override
        public void close() {
            if (size > 0) {
                CLib.C.munmap(address, size);
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Options
    // ------------------------------------------------------------------------------------------

    static final List<String> ALL_READERS = List.of(
            "fio-uring", "fio-psync", "ring-uring", "ring-uring-shared", "ring-blocking", "filechannel", "afc", "mmap");

    static final Map<String, String> LABELS = Map.of(
            "fio-uring", "fio io_uring (reference)",
            "fio-psync", "fio psync",
            "ring-uring", "ringbatch io_uring engine (ring per thread)",
            "ring-uring-shared", "ringbatch io_uring engine (one shared ring)",
            "ring-blocking", "ringbatch blocking engine",
            "filechannel", "FileChannel thread-per-core",
            "afc", "AsynchronousFileChannel",
            "mmap", "mmap + madvise(WILLNEED)");

    static final class Options {
        long size = 4 * GiB;
        long seed = 42;
        boolean cold = true;
        boolean warm = true;
        List<String> readers = ALL_READERS;
        int threads = Runtime.getRuntime().availableProcessors();
        int blockSize = (int) MiB;
        int depth = 8;
        int runs = 1;
        boolean xor = true;
        boolean prime = true;
        boolean planOnly;
        Path dataRoot = Path.of("bench/work/data");
        Path workDir = Path.of("bench/work");
        Path markdown;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                String v = null;
                int eq = a.indexOf('=');
                if (a.startsWith("--") && eq > 0) {
                    v = a.substring(eq + 1);
                    a = a.substring(0, eq);
                }
                switch (a) {
                    case "--help", "-h" -> {
                        usage();
                        System.exit(0);
                    }
                    case "--no-prime" -> o.prime = false;
                    case "--plan" -> o.planOnly = true;
                    default -> {
                        if (v == null) {
                            if (i + 1 >= args.length) {
                                throw new IllegalArgumentException(a + " needs a value");
                            }
                            v = args[++i];
                        }
                        o.set(a, v);
                    }
                }
            }
            return o;
        }

        void set(String name, String v) {
            switch (name) {
                case "--size" -> size = parseBytes(v);
                case "--seed" -> seed = Long.parseLong(v);
                case "--modes" -> {
                    List<String> m = Arrays.asList(v.toLowerCase(Locale.ROOT).split(","));
                    for (String s : m) {
                        if (!s.equals("cold") && !s.equals("warm")) {
                            throw new IllegalArgumentException("--modes takes cold, warm or cold,warm: " + v);
                        }
                    }
                    cold = m.contains("cold");
                    warm = m.contains("warm");
                }
                case "--readers" -> {
                    if (v.equals("all")) {
                        readers = ALL_READERS;
                    } else {
                        List<String> r = Arrays.asList(v.split(","));
                        for (String s : r) {
                            if (!ALL_READERS.contains(s)) {
                                throw new IllegalArgumentException("unknown reader '" + s + "'; readers: "
                                        + String.join(",", ALL_READERS));
                            }
                        }
                        readers = ALL_READERS.stream().filter(r::contains).toList();
                    }
                }
                case "--threads" -> threads = Integer.parseInt(v);
                case "--block-size" -> blockSize = (int) parseBytes(v);
                case "--depth" -> depth = Integer.parseInt(v);
                case "--runs" -> runs = Integer.parseInt(v);
                case "--touch" -> {
                    if (!v.equals("xor") && !v.equals("page")) {
                        throw new IllegalArgumentException("--touch takes xor or page: " + v);
                    }
                    xor = v.equals("xor");
                }
                case "--data" -> dataRoot = Path.of(v);
                case "--work" -> workDir = Path.of(v);
                case "--markdown" -> markdown = Path.of(v);
                default -> throw new IllegalArgumentException("unknown option " + name + " (see --help)");
            }
            if (threads < 1 || depth < 1 || runs < 1 || blockSize < PAGE || blockSize % PAGE != 0 || size < MiB) {
                throw new IllegalArgumentException("need threads, depth, runs >= 1, a block size that is a multiple"
                        + " of 4 KiB, and a size of at least 1 MiB");
            }
        }

        static void usage() {
            System.out.println("""
                    ReadBench: read one generated file set with ringbatch's engines, their peers and fio.

                      --size N        total size of the data set (default 4g; k, m, g suffixes are binary)
                      --seed N        seed of the data set (default 42); sizes and bytes follow from it
                      --modes M       cold,warm (default), cold or warm; cold needs root (drop_caches)
                      --readers R     all (default) or a comma list of:
                                      fio-uring,fio-psync,ring-uring,ring-blocking,filechannel,afc,mmap
                      --threads N     consumer threads and fio jobs (default: the cores the JVM sees)
                      --block-size N  bytes per read (default 1m)
                      --depth N       reads in flight per reader / fio job (default 8)
                      --runs N        runs per reader and mode; the median is reported (default 1)
                      --touch T       xor (default): XOR every 8-byte word and check it against the
                                      data set's manifest; page: read one word per 4 KiB page only
                      --no-prime      skip the untimed first full read after a cache drop
                      --plan          print the data set's plan (files, sizes) and exit; writes nothing
                      --data DIR      where data sets live (default bench/work/data)
                      --work DIR      scratch space for fio job files and links (default bench/work)
                      --markdown F    also write the results as Markdown to F
                    """);
        }
    }

    static long parseBytes(String v) {
        String s = v.trim().toLowerCase(Locale.ROOT).replace("ib", "").replace("b", "");
        long unit = 1;
        char last = s.isEmpty() ? ' ' : s.charAt(s.length() - 1);
        switch (last) {
            case 'k' -> unit = KiB;
            case 'm' -> unit = MiB;
            case 'g' -> unit = GiB;
            case 't' -> unit = 1024 * GiB;
            default -> {
            }
        }
        if (unit != 1) {
            s = s.substring(0, s.length() - 1);
        }
        return (long) (Double.parseDouble(s) * unit);
    }

    // ------------------------------------------------------------------------------------------
    // The data set
    // ------------------------------------------------------------------------------------------

    record FileEntry(int index, Path path, long size, long xor) {
    }

    record DataSet(Path dir, List<FileEntry> files, long total, long seed, boolean generated) {
        /** Largest first, so that the long files do not end the run on one thread. */
        List<FileEntry> readOrder() {
            List<FileEntry> order = new ArrayList<>(files);
            order.sort(Comparator.comparingLong(FileEntry::size).reversed().thenComparingInt(FileEntry::index));
            return order;
        }

        long largest() {
            return files.stream().mapToLong(FileEntry::size).max().orElse(0);
        }
    }

    /**
     * The file sizes for a total and a seed: two large files of total/8 each (512 MiB at the default
     * 4 GiB), then sizes drawn log-uniformly from 64 KiB to 64 MiB, at byte granularity so that most
     * files end inside a block, until the total is reached; the order is shuffled.
     */
    static long[] planSizes(long total, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        long min = 64 * KiB;
        long max = 64 * MiB;
        List<Long> sizes = new ArrayList<>();
        long big = total / 8;
        if (big >= min) {
            sizes.add(big);
            sizes.add(big);
        }
        long rest = total - 2 * (big >= min ? big : 0);
        double lo = Math.log(min);
        double hi = Math.log(max);
        while (rest > 0) {
            long s = (long) Math.exp(lo + random.nextDouble() * (hi - lo));
            if (s >= rest || rest - s < min) {
                s = rest;
            }
            sizes.add(s);
            rest -= s;
        }
        Collections.shuffle(sizes, new Random(seed));
        return sizes.stream().mapToLong(Long::longValue).toArray();
    }

    static void printPlan(Options o) {
        long[] sizes = planSizes(o.size, o.seed);
        long[] bounds = {MiB, 16 * MiB, 64 * MiB, Long.MAX_VALUE};
        String[] names = {"< 1 MiB", "1-16 MiB", "16-64 MiB", ">= 64 MiB"};
        long[] count = new long[bounds.length];
        long[] bytes = new long[bounds.length];
        long whole = 0;
        for (long s : sizes) {
            int k = 0;
            while (s >= bounds[k]) {
                k++;
            }
            count[k]++;
            bytes[k] += s;
            whole += s / o.blockSize * o.blockSize;
        }
        System.out.printf(Locale.ROOT, "%d files, %.0f MiB (seed %d); largest %.0f MiB%n", sizes.length,
                o.size / (double) MiB, o.seed, Arrays.stream(sizes).max().orElse(0) / (double) MiB);
        for (int k = 0; k < bounds.length; k++) {
            System.out.printf(Locale.ROOT, "  %-10s %4d files %8.0f MiB%n", names[k], count[k], bytes[k] / (double) MiB);
        }
        System.out.printf(Locale.ROOT, "bytes in whole %d KiB blocks (what fio reads): %.1f%%%n", o.blockSize / KiB,
                100.0 * whole / o.size);
    }

    static DataSet dataSet(Options o) throws IOException {
        Path dir = o.dataRoot.resolve(String.format(Locale.ROOT, "%dMiB-seed%d", o.size / MiB, o.seed))
                .toAbsolutePath().normalize();
        if (o.size % MiB != 0) {
            dir = o.dataRoot.resolve("%dB-seed%d".formatted(o.size, o.seed)).toAbsolutePath().normalize();
        }
        String header = "# " + MANIFEST_VERSION + " size=" + o.size + " seed=" + o.seed;
        Path manifest = dir.resolve(MANIFEST);
        if (Files.isRegularFile(manifest)) {
            List<String> lines = Files.readAllLines(manifest, StandardCharsets.UTF_8);
            if (!lines.isEmpty() && lines.get(0).equals(header)) {
                List<FileEntry> files = new ArrayList<>();
                boolean whole = true;
                for (String line : lines.subList(1, lines.size())) {
                    String[] f = line.split("\t");
                    Path p = dir.resolve(f[0]);
                    long size = Long.parseLong(f[1]);
                    if (!Files.isRegularFile(p) || Files.size(p) != size) {
                        whole = false;
                        break;
                    }
                    files.add(new FileEntry(files.size(), p, size, Long.parseUnsignedLong(f[2], 16)));
                }
                if (whole) {
                    return new DataSet(dir, files, o.size, o.seed, false);
                }
            }
            System.out.println("data set in " + dir + " is incomplete or stale: generating it again");
        }
        return generate(dir, header, o);
    }

    static DataSet generate(Path dir, String header, Options o) throws IOException {
        if (Files.isDirectory(dir)) {
            try (var old = Files.list(dir)) {
                for (Path p : old.toList()) {
                    String n = p.getFileName().toString();
                    if (n.endsWith(".bin") || n.startsWith(MANIFEST)) {
                        Files.delete(p);
                    }
                }
            }
        }
        Files.createDirectories(dir);
        long[] sizes = planSizes(o.size, o.seed);
        System.out.printf(Locale.ROOT, "generating %d files, %.0f MiB, seed %d, in %s%n",
                sizes.length, o.size / (double) MiB, o.seed, dir);
        long t0 = System.nanoTime();
        ByteBuffer chunk = ByteBuffer.allocateDirect((int) MiB).order(ByteOrder.LITTLE_ENDIAN);
        List<FileEntry> files = new ArrayList<>();
        StringBuilder m = new StringBuilder(header).append('\n');
        long written = 0;
        long nextReport = o.size / 10;
        for (int i = 0; i < sizes.length; i++) {
            String name = String.format(Locale.ROOT, "f%05d.bin", i);
            Path p = dir.resolve(name);
            SplittableRandom random = new SplittableRandom(o.seed * 0x9E3779B97F4A7C15L + i);
            long xor = 0;
            try (FileChannel ch = FileChannel.open(p, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.TRUNCATE_EXISTING)) {
                for (long off = 0; off < sizes[i]; off += MiB) {
                    int len = (int) Math.min(MiB, sizes[i] - off);
                    chunk.clear();
                    while (chunk.remaining() >= 8) {
                        chunk.putLong(random.nextLong());
                    }
                    chunk.clear().limit(len);
                    xor ^= touch(chunk, off, true);
                    while (chunk.hasRemaining()) {
                        ch.write(chunk, off + chunk.position());
                    }
                }
            }
            files.add(new FileEntry(i, p, sizes[i], xor));
            m.append(name).append('\t').append(sizes[i]).append('\t').append(Long.toHexString(xor)).append('\n');
            written += sizes[i];
            if (written >= nextReport) {
                System.out.printf(Locale.ROOT, "  %3.0f%%%n", 100.0 * written / o.size);
                while (nextReport <= written) {
                    nextReport += o.size / 10;
                }
            }
        }
        sync();
        Path tmp = dir.resolve(MANIFEST + ".tmp");
        Files.writeString(tmp, m, StandardCharsets.UTF_8);
        Files.move(tmp, dir.resolve(MANIFEST), StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        System.out.printf(Locale.ROOT, "generated in %.1f s%n", (System.nanoTime() - t0) / 1e9);
        return new DataSet(dir, files, o.size, o.seed, true);
    }

    // ------------------------------------------------------------------------------------------
    // Touching the data: every reader does the same work per byte
    // ------------------------------------------------------------------------------------------

    /**
     * XOR of the file's little-endian 8-byte words that fall in {@code data} (position 0 to limit),
     * {@code fileOffset} being the file offset of {@code data.get(0)}; bytes of a word that lie outside
     * count as zero, so the XOR of all blocks of a file is the file's XOR however it was cut. With
     * {@code xor == false}, reads one word per 4 KiB page instead (enough to fault an mmap in).
     */
    static long touch(ByteBuffer data, long fileOffset, boolean xor) {
        ByteBuffer b = data.order(ByteOrder.LITTLE_ENDIAN);
        int n = b.limit();
        long x = 0;
        if (!xor) {
            for (int i = (int) ((PAGE - fileOffset % PAGE) % PAGE); i + 8 <= n; i += PAGE) {
                x ^= b.getLong(i);
            }
            return x;
        }
        int i = 0;
        while (i < n && ((fileOffset + i) & 7) != 0) {
            x ^= (b.get(i) & 0xffL) << (8 * ((fileOffset + i) & 7));
            i++;
        }
        int end8 = i + ((n - i) & ~7);
        for (; i < end8; i += 8) {
            x ^= b.getLong(i);
        }
        for (; i < n; i++) {
            x ^= (b.get(i) & 0xffL) << (8 * ((fileOffset + i) & 7));
        }
        return x;
    }

    // ------------------------------------------------------------------------------------------
    // Running readers on threads
    // ------------------------------------------------------------------------------------------

    /** One consumer thread's reader; reads a whole file and returns the XOR of what it touched. */
    interface FileReader {
        long read(FileEntry f, long[] bytes) throws Exception;
    }

    record Measured(long bytes, long nanos, long[] xors, long[] bytesPerFile, String note) {
    }

    /**
     * Runs {@code threads} consumers over a shared queue of files (largest first). Per-thread set-up
     * happens before the clock starts; the clock stops when the last file is done.
     */
    static Measured runThreads(DataSet set, int threads, Supplier<FileReader> perThread) throws Exception {
        List<FileEntry> order = set.readOrder();
        int n = set.files().size();
        long[] xors = new long[n];
        long[] bytes = new long[n];
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            Thread w = new Thread(() -> {
                FileReader reader;
                try {
                    reader = perThread.get();
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    ready.countDown();
                    return;
                }
                ready.countDown();
                try {
                    go.await();
                    int i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < n) {
                        FileEntry f = order.get(i);
                        long[] got = new long[1];
                        xors[f.index()] = reader.read(f, got);
                        bytes[f.index()] = got[0];
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-reader-" + t);
            workers.add(w);
            w.start();
        }
        ready.await();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        long nanos = System.nanoTime() - t0;
        if (failure.get() != null) {
            Throwable e = failure.get();
            throw e instanceof Exception ex ? ex : new RuntimeException(e);
        }
        return new Measured(Arrays.stream(bytes).sum(), nanos, xors, bytes, "");
    }

    static Measured ringbatch(DataSet set, Options o, IoEngines.Mode mode, IoOptions.Topology topology)
            throws Exception {
        IoOptions options = IoOptions.defaults()
                .withTopology(topology)
                .withBlockSize(o.blockSize)
                .withReadAhead(o.depth)
                .withBufferPoolSize(Math.max(128, 2 * o.threads * o.depth));
        IoEngine engine = IoEngines.select(mode, options).engine();
        try {
            LongAdder waitNanos = new LongAdder();
            Measured m = runThreads(set, o.threads, () -> (f, bytes) -> {
                long x = 0;
                try (BlockReader reader = engine.open(f.path())) {
                    Block b;
                    while ((b = reader.next()) != null) {
                        x ^= touch(b.data(), b.offset(), o.xor);
                        bytes[0] += b.length();
                        b.release();
                    }
                    waitNanos.add(reader.stats().waitNanos());
                }
                return x;
            });
            EngineStats s = engine.stats();
            String note = String.format(Locale.ROOT, "consumers waited %.0f%% of their time",
                    100.0 * waitNanos.sum() / ((double) o.threads * m.nanos()));
            if (s.buffersInUse() != 0 || s.readersOpen() != 0 || s.readsInFlight() != 0) {
                note += String.format(Locale.ROOT, "; LEAK after the run: %d buffers in use, %d readers open,"
                        + " %d reads in flight", s.buffersInUse(), s.readersOpen(), s.readsInFlight());
            }
            return new Measured(m.bytes(), m.nanos(), m.xors(), m.bytesPerFile(), note);
        } finally {
            engine.close();
        }
    }

    /** Positional 1 MiB reads into one direct buffer per thread; the kernel's read-ahead only. */
    static Measured fileChannel(DataSet set, Options o) throws Exception {
        return runThreads(set, o.threads, () -> {
            ByteBuffer buffer = ByteBuffer.allocateDirect(o.blockSize);
            return (f, bytes) -> {
                long x = 0;
                try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ)) {
                    long off = 0;
                    while (true) {
                        buffer.clear();
                        while (buffer.hasRemaining() && ch.read(buffer, off + buffer.position()) >= 0) {
                            // a short read is followed by another, until the buffer is full or the file ends
                        }
                        buffer.flip();
                        if (buffer.limit() == 0) {
                            break;
                        }
                        x ^= touch(buffer, off, o.xor);
                        off += buffer.limit();
                        bytes[0] += buffer.limit();
                    }
                }
                return x;
            };
        });
    }

    /**
     * {@code depth} reads outstanding per file, handed out in file order; on Linux the JDK runs them
     * as blocking preads on its internal thread pool.
     */
    static Measured asyncFileChannel(DataSet set, Options o) throws Exception {
        return runThreads(set, o.threads, () -> {
            ByteBuffer[] buffers = new ByteBuffer[o.depth];
            for (int i = 0; i < buffers.length; i++) {
                buffers[i] = ByteBuffer.allocateDirect(o.blockSize);
            }
            @SuppressWarnings("unchecked")
            Future<Integer>[] pending = new Future[o.depth];
            return (f, bytes) -> {
                long x = 0;
                long blocks = (f.size() + o.blockSize - 1) / o.blockSize;
                try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(f.path(), StandardOpenOption.READ)) {
                    long issued = 0;
                    for (; issued < Math.min(o.depth, blocks); issued++) {
                        pending[(int) (issued % o.depth)] = start(ch, buffers[(int) (issued % o.depth)], issued, f, o);
                    }
                    for (long k = 0; k < blocks; k++) {
                        int slot = (int) (k % o.depth);
                        ByteBuffer b = buffers[slot];
                        long off = k * o.blockSize;
                        pending[slot].get();
                        while (b.hasRemaining()) { // short read: read the rest
                            if (ch.read(b, off + b.position()).get() < 0) {
                                throw new IOException(f.path() + ": ended early at " + (off + b.position()));
                            }
                        }
                        b.flip();
                        x ^= touch(b, off, o.xor);
                        bytes[0] += b.limit();
                        if (issued < blocks) {
                            pending[slot] = start(ch, b, issued, f, o);
                            issued++;
                        }
                    }
                }
                return x;
            };
        });
    }

    static Future<Integer> start(AsynchronousFileChannel ch, ByteBuffer b, long block, FileEntry f, Options o) {
        long off = block * o.blockSize;
        b.clear().limit((int) Math.min(o.blockSize, f.size() - off));
        return ch.read(b, off);
    }

    /**
     * Maps the whole file and walks it block by block; {@code madvise(MADV_WILLNEED)} keeps
     * {@code depth} blocks ahead of the block being touched, as the other readers keep reads in flight.
     */
    static Measured mmap(DataSet set, Options o) throws Exception {
        long window = (long) o.depth * o.blockSize;
        return runThreads(set, o.threads, () -> (f, bytes) -> {
            long x = 0;
            try (Mapping map = new Mapping(f.path(), f.size())) {
                long advised = Math.min(f.size(), window);
                map.willNeed(0, advised);
                for (long off = 0; off < f.size(); off += o.blockSize) {
                    long want = Math.min(f.size(), off + o.blockSize + window);
                    if (want > advised) {
                        map.willNeed(advised, want - advised);
                        advised = want;
                    }
                    int len = (int) Math.min(o.blockSize, f.size() - off);
                    x ^= touch(map.view(off, len), off, o.xor);
                    bytes[0] += len;
                }
            }
            return x;
        });
    }

    // ------------------------------------------------------------------------------------------
    // fio
    // ------------------------------------------------------------------------------------------

    static String fioVersion() {
        try {
            Process p = new ProcessBuilder("fio", "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            return p.waitFor() == 0 ? out : null;
        } catch (IOException | InterruptedException e) {
            return null;
        }
    }

    /**
     * One fio job per consumer thread; the files are split between the jobs by bytes (largest first,
     * each to the least loaded job). A job sees its files through a directory of hard links
     * ({@code opendir}), because a {@code filename=} list is limited to 4 KiB. Hard links share the
     * inode, so the page cache is the same.
     */
    static List<Path> fioJobDirs(DataSet set, Options o) throws IOException {
        Path root = o.workDir.resolve("fio-jobs").resolve(set.dir().getFileName()).toAbsolutePath().normalize();
        deleteTree(root);
        int jobs = Math.min(o.threads, set.files().size());
        List<Path> dirs = new ArrayList<>();
        long[] load = new long[jobs];
        for (int j = 0; j < jobs; j++) {
            Path d = root.resolve("job" + j);
            Files.createDirectories(d);
            dirs.add(d);
        }
        for (FileEntry f : set.readOrder()) {
            int least = 0;
            for (int j = 1; j < jobs; j++) {
                if (load[j] < load[least]) {
                    least = j;
                }
            }
            load[least] += f.size();
            Files.createLink(dirs.get(least).resolve(f.path().getFileName()), f.path());
        }
        return dirs;
    }

    static final Pattern FIO_READ = Pattern.compile(
            "\"read\"\\s*:\\s*\\{\\s*\"io_bytes\"\\s*:\\s*(\\d+).*?\"bw_bytes\"\\s*:\\s*(\\d+).*?\"runtime\"\\s*:\\s*(\\d+)",
            Pattern.DOTALL);
    static final Pattern FIO_ERROR = Pattern.compile("\"error\"\\s*:\\s*(\\d+)");

    static Measured fio(DataSet set, Options o, List<Path> jobDirs, String engine) throws Exception {
        Path job = o.workDir.resolve("fio-" + engine + ".fio").toAbsolutePath();
        Path out = o.workDir.resolve("fio-" + engine + ".json").toAbsolutePath();
        StringBuilder s = new StringBuilder();
        s.append("; written by bench/ReadBench.java\n[global]\n")
                .append("rw=read\n")
                .append("bs=").append(o.blockSize).append('\n')
                .append("ioengine=").append(engine).append('\n');
        if (!engine.equals("psync")) {
            s.append("iodepth=").append(o.depth).append('\n');
        }
        s.append("direct=0\n")
                .append("invalidate=0\n") // cold and warm are set up by ReadBench, not by fio
                .append("file_service_type=sequential\n")
                .append("thread\n")
                .append("group_reporting\n");
        for (int j = 0; j < jobDirs.size(); j++) {
            s.append("\n[job").append(j).append("]\nopendir=").append(jobDirs.get(j)).append('\n');
        }
        Files.writeString(job, s);
        Files.deleteIfExists(out);
        Process p = new ProcessBuilder("fio", "--readonly", "--output-format=json", "--output=" + out, job.toString())
                .redirectErrorStream(true).start();
        String console = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        int rc = p.waitFor();
        String text = Files.exists(out) ? Files.readString(out) : "";
        int json = text.indexOf("\n{");
        json = text.startsWith("{") ? 0 : json;
        if (rc != 0 || json < 0) {
            throw new IOException("fio " + engine + " failed (exit " + rc + "): " + (console + text).strip());
        }
        String body = text.substring(json);
        Matcher e = FIO_ERROR.matcher(body);
        while (e.find()) {
            if (!e.group(1).equals("0")) {
                throw new IOException("fio " + engine + " reported error " + e.group(1) + "; see " + out);
            }
        }
        Matcher m = FIO_READ.matcher(body);
        if (!m.find()) {
            throw new IOException("fio " + engine + ": no read statistics in " + out);
        }
        long ioBytes = Long.parseLong(m.group(1));
        long bw = Long.parseLong(m.group(2));
        long nanos = bw == 0 ? Long.parseLong(m.group(3)) * 1_000_000L : (long) (ioBytes * 1e9 / bw);
        String note = String.format(Locale.ROOT, "read %.1f%% of the bytes (whole %d KiB blocks only)",
                100.0 * ioBytes / set.total(), o.blockSize / KiB);
        return new Measured(ioBytes, nanos, null, null, note);
    }

    // ------------------------------------------------------------------------------------------
    // Page cache: drop, probe, prime
    // ------------------------------------------------------------------------------------------

    static void sync() {
        try {
            new ProcessBuilder("sync").inheritIO().start().waitFor();
        } catch (IOException | InterruptedException e) {
            throw new IllegalStateException("sync failed: " + e, e);
        }
    }

    /** null when the page cache was dropped, else why it could not be. */
    static String dropCaches() {
        if (CLib.C.geteuid() != 0) {
            return "not running as root (euid " + CLib.C.geteuid() + ")";
        }
        sync();
        try {
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
            return null;
        } catch (IOException e) {
            return "writing /proc/sys/vm/drop_caches failed: " + e;
        }
    }

    /** The fraction of the data set's pages in the page cache (mincore over a mapping of each file). */
    static double residency(DataSet set) throws IOException {
        long pages = 0;
        long resident = 0;
        for (FileEntry f : set.files()) {
            try (Mapping m = new Mapping(f.path(), f.size())) {
                pages += (f.size() + PAGE - 1) / PAGE;
                resident += m.residentPages();
            }
        }
        return pages == 0 ? 1.0 : (double) resident / pages;
    }

    /** Reads everything once with plain FileChannel reads, untimed except for the log line. */
    static void primeRead(DataSet set, Options o, String why) throws Exception {
        Measured m = fileChannel(set, o);
        System.out.printf(Locale.ROOT, "  (untimed %s: read %.0f MiB at %.0f MiB/s)%n", why, m.bytes() / (double) MiB,
                mibps(m.bytes(), m.nanos()));
    }

    // ------------------------------------------------------------------------------------------
    // Main: plan, run, report
    // ------------------------------------------------------------------------------------------

    record Run(double mibps, long bytes, long nanos, double cachedBefore, String check, String note) {
    }

    static double mibps(long bytes, long nanos) {
        return nanos <= 0 ? 0 : bytes / (double) MiB / (nanos / 1e9);
    }

    public static void main(String[] args) throws Exception {
        Options o;
        try {
            o = Options.parse(args);
        } catch (IllegalArgumentException e) {
            System.err.println("ReadBench: " + e.getMessage());
            System.exit(2);
            return;
        }
        if (o.planOnly) {
            printPlan(o);
            return;
        }
        Files.createDirectories(o.workDir);
        DataSet set = dataSet(o);
        warmUpJit(o);
        long largest = set.largest();
        System.out.printf(Locale.ROOT, "data set: %d files, %.0f MiB, largest %.0f MiB, seed %d, in %s%s%n",
                set.files().size(), set.total() / (double) MiB, largest / (double) MiB, set.seed(), set.dir(),
                set.generated() ? " (just generated)" : " (reused)");
        System.out.printf(Locale.ROOT, "threads %d, block %d KiB, depth %d, runs %d, touch %s%n",
                o.threads, o.blockSize / KiB, o.depth, o.runs, o.xor ? "xor of every word (checked)" : "one word per page");

        long memTotal = memTotalBytes();
        if (o.warm && memTotal > 0 && set.total() > memTotal * 0.7) {
            System.out.printf(Locale.ROOT, "WARNING: the data set (%.0f MiB) is close to or above memory (%.0f MiB):"
                    + " warm runs will not be fully cached%n", set.total() / (double) MiB, memTotal / (double) MiB);
        }

        String coldRefused = null;
        if (o.cold) {
            coldRefused = dropCaches();
            if (coldRefused != null) {
                System.out.println();
                System.out.println("*** COLD RUNS SKIPPED: cannot drop the page cache: " + coldRefused + ".");
                System.out.println("*** Run as root for cold numbers; running warm only.");
                System.out.println();
            } else {
                double r = residency(set);
                System.out.printf(Locale.ROOT, "page cache dropped (sync; echo 3 > /proc/sys/vm/drop_caches):"
                        + " %.1f%% of the data set still cached%n", 100 * r);
                if (r > 0.05) {
                    System.out.println("WARNING: dropping the page cache did not evict the data set; cold numbers are not cold");
                }
                if (o.prime) {
                    // A first read after generation may differ (for example a virtual disk's host cache):
                    // every measured cold run should meet the same state below the guest.
                    primeRead(set, o, "first read after a cache drop");
                }
            }
        }
        boolean doCold = o.cold && coldRefused == null;
        String fio = o.readers.stream().anyMatch(r -> r.startsWith("fio")) ? fioVersion() : null;
        List<Path> jobDirs = fio != null ? fioJobDirs(set, o) : List.of();
        if (fio == null && o.readers.stream().anyMatch(r -> r.startsWith("fio"))) {
            System.out.println("fio not found on PATH: fio rows skipped (apt-get install fio)");
        }
        if (fio != null) {
            System.out.println(fio + ": " + jobDirs.size() + " jobs over the same files");
        }

        Map<String, Map<String, List<Run>>> results = new LinkedHashMap<>();
        Map<String, String> errors = new LinkedHashMap<>();
        List<String> modes = new ArrayList<>();
        if (doCold) {
            modes.add("cold");
        }
        if (o.warm) {
            modes.add("warm");
        }
        for (String reader : o.readers) {
            if (reader.startsWith("fio") && fio == null) {
                errors.put(reader, "fio not installed");
                continue;
            }
            for (int run = 1; run <= o.runs; run++) {
                for (String mode : modes) {
                    double cached;
                    if (mode.equals("cold")) {
                        String refused = dropCaches();
                        if (refused != null) {
                            throw new IllegalStateException("dropping the page cache stopped working: " + refused);
                        }
                        cached = residency(set);
                    } else {
                        cached = residency(set);
                        if (cached < 0.99) {
                            primeRead(set, o, "warm-up read");
                            cached = residency(set);
                        }
                    }
                    Measured m;
                    try {
                        m = measure(reader, set, o, jobDirs);
                    } catch (Exception e) {
                        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
                        System.out.printf(Locale.ROOT, "[%s] %-28s FAILED: %s%n", mode, LABELS.get(reader), msg);
                        errors.put(reader, msg);
                        continue;
                    }
                    String check = verify(set, m, o);
                    Run r = new Run(mibps(m.bytes(), m.nanos()), m.bytes(), m.nanos(), cached, check, m.note());
                    results.computeIfAbsent(reader, k -> new LinkedHashMap<>())
                            .computeIfAbsent(mode, k -> new ArrayList<>()).add(r);
                    System.out.printf(Locale.ROOT, "[%s] %-28s %9.1f MiB/s  (%.0f MiB in %.2f s; %.0f%% cached before; %s)%s%n",
                            mode, LABELS.get(reader), r.mibps(), r.bytes() / (double) MiB, r.nanos() / 1e9,
                            100 * cached, check, r.note().isEmpty() ? "" : " " + r.note());
                }
            }
        }

        String table = table(results, errors, modes);
        System.out.println();
        System.out.println(table);
        if (o.markdown != null) {
            StringBuilder md = new StringBuilder();
            if (set.total() < GiB) {
                md.append("**Smoke run**: the data set is smaller than 1 GiB, so these numbers show that the")
                        .append(" harness works end to end, not how fast the engine is.\n\n");
            }
            md.append("## Parameters\n\n");
            md.append(String.format(Locale.ROOT, "- data set: %d files, %.0f MiB in all (seed %d): two of %.0f MiB, the rest"
                            + " 64 KiB..64 MiB log-uniform at byte granularity; `%s`%n",
                    set.files().size(), set.total() / (double) MiB, set.seed(), (set.total() / 8) / (double) MiB, set.dir()));
            md.append(String.format(Locale.ROOT, "- %d consumer threads (fio: %d jobs), %d KiB reads, %d reads in flight"
                            + " per reader (fio `iodepth=%d`; psync has one)%n",
                    o.threads, jobDirs.size(), o.blockSize / KiB, o.depth, o.depth));
            md.append("- Java readers touch the data: ").append(o.xor
                    ? "XOR of every 8-byte word, checked per file against the generator's manifest"
                    : "one 8-byte word per 4 KiB page (not checked)").append("; fio does not touch it\n");
            md.append("- cold: ").append(doCold
                    ? "`sync; echo 3 > /proc/sys/vm/drop_caches` before each cold run (\"cached before\" is what mincore saw)"
                    : "**not run**: " + (o.cold ? coldRefused : "not asked for")).append('\n');
            md.append("- warm: the data set is in the page cache (read before if it was not)\n");
            md.append(String.format(Locale.ROOT, "- %d run(s) per cell; the median is shown%n", o.runs));
            md.append("\n## Results\n\n").append(table).append('\n');
            Files.writeString(o.markdown, md);
        }
        boolean bad = results.values().stream().flatMap(m -> m.values().stream()).flatMap(List::stream)
                .anyMatch(r -> r.check().startsWith("MISMATCH") || r.note().contains("LEAK"));
        if (bad || !errors.isEmpty()) {
            System.out.println("ReadBench: some readers failed, read wrong data or leaked: see above");
            System.exit(1);
        }
    }

    static Measured measure(String reader, DataSet set, Options o, List<Path> jobDirs) throws Exception {
        return switch (reader) {
            case "fio-uring" -> fio(set, o, jobDirs, "io_uring");
            case "fio-psync" -> fio(set, o, jobDirs, "psync");
            case "ring-uring" -> ringbatch(set, o, IoEngines.Mode.IO_URING, IoOptions.Topology.PER_THREAD);
            case "ring-uring-shared" -> ringbatch(set, o, IoEngines.Mode.IO_URING, IoOptions.Topology.SHARED);
            case "ring-blocking" -> ringbatch(set, o, IoEngines.Mode.BLOCKING, IoOptions.Topology.PER_THREAD);
            case "filechannel" -> fileChannel(set, o);
            case "afc" -> asyncFileChannel(set, o);
            case "mmap" -> mmap(set, o);
            default -> throw new IllegalArgumentException(reader);
        };
    }

    /** Bytes per file and, with xor touching, the XOR per file against the manifest. */
    static String verify(DataSet set, Measured m, Options o) {
        if (m.xors() == null) {
            return "not checked";
        }
        int bad = 0;
        String first = null;
        for (FileEntry f : set.files()) {
            boolean ok = m.bytesPerFile()[f.index()] == f.size() && (!o.xor || m.xors()[f.index()] == f.xor());
            if (!ok) {
                bad++;
                if (first == null) {
                    first = f.path().getFileName() + " (" + m.bytesPerFile()[f.index()] + " of " + f.size() + " bytes)";
                }
            }
        }
        if (bad > 0) {
            return "MISMATCH in " + bad + " files, first " + first;
        }
        return o.xor ? "ok" : "sizes ok";
    }

    static double median(List<Run> runs) {
        double[] v = runs.stream().mapToDouble(Run::mibps).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
    }

    static String table(Map<String, Map<String, List<Run>>> results, Map<String, String> errors, List<String> modes) {
        Map<String, Double> reference = new LinkedHashMap<>();
        Map<String, List<Run>> fioRuns = results.getOrDefault("fio-uring", Map.of());
        for (String mode : modes) {
            List<Run> r = fioRuns.get(mode);
            if (r != null && !r.isEmpty()) {
                reference.put(mode, median(r));
            }
        }
        StringBuilder t = new StringBuilder("| reader |");
        StringBuilder rule = new StringBuilder("|---|");
        for (String mode : modes) {
            t.append(' ').append(mode).append(" MiB/s | ").append(mode).append(" ÷ fio io_uring |");
            rule.append("---:|---:|");
        }
        t.append(" cached before | data check | notes |\n");
        rule.append("---|---|---|\n");
        t.append(rule);
        for (String reader : ALL_READERS) {
            Map<String, List<Run>> byMode = results.get(reader);
            if (byMode == null) {
                if (errors.containsKey(reader)) {
                    t.append("| ").append(LABELS.get(reader)).append(" |");
                    t.append(" – | – |".repeat(modes.size()));
                    t.append(" | | failed: ").append(errors.get(reader).replace('|', '/').replace('\n', ' ')).append(" |\n");
                }
                continue;
            }
            t.append("| ").append(LABELS.get(reader)).append(" |");
            List<String> cached = new ArrayList<>();
            List<String> checks = new ArrayList<>();
            List<String> notes = new ArrayList<>();
            for (String mode : modes) {
                List<Run> runs = byMode.get(mode);
                if (runs == null || runs.isEmpty()) {
                    t.append(" – | – |");
                    continue;
                }
                double med = median(runs);
                Double ref = reference.get(mode);
                t.append(String.format(Locale.ROOT, " %.0f | %s |", med,
                        ref == null || ref == 0 ? "–" : String.format(Locale.ROOT, "%.2f", med / ref)));
                cached.add(mode + " " + runs.stream().map(r -> String.format(Locale.ROOT, "%.0f%%", 100 * r.cachedBefore()))
                        .distinct().collect(Collectors.joining("/")));
                runs.stream().map(Run::check).distinct().forEach(c -> {
                    if (!checks.contains(c)) {
                        checks.add(c);
                    }
                });
                if (runs.size() > 1) {
                    notes.add(mode + " runs " + runs.stream().map(r -> String.format(Locale.ROOT, "%.0f", r.mibps()))
                            .collect(Collectors.joining(", ")));
                }
                String note = runs.get(runs.size() - 1).note();
                if (!note.isEmpty()) {
                    notes.add(reader.startsWith("fio") ? note : mode + ": " + note);
                }
            }
            t.append(' ').append(String.join(", ", cached)).append(" | ")
                    .append(String.join("; ", checks)).append(" | ")
                    .append(String.join("; ", notes.stream().distinct().toList()).replace('|', '/')).append(" |\n");
        }
        return t.toString();
    }

    static volatile long sink;

    /** Compiles the touch loop before anything is timed: small data sets would time the JIT otherwise. */
    static void warmUpJit(Options o) {
        ByteBuffer b = ByteBuffer.allocateDirect(o.blockSize);
        ByteBuffer r = b.asReadOnlyBuffer();
        long x = 0;
        for (int i = 0; i < 3000; i++) {
            x ^= touch(i % 2 == 0 ? b : r, i * (long) o.blockSize + (i % 3), o.xor);
        }
        sink = x;
    }

    static long memTotalBytes() {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
                if (line.startsWith("MemTotal:")) {
                    return Long.parseLong(line.replaceAll("\\D", "")) * KiB;
                }
            }
        } catch (IOException | NumberFormatException e) {
            // not Linux, or an odd /proc: no warning then
        }
        return 0;
    }

    static void deleteTree(Path root) throws IOException {
        if (!Files.exists(root)) {
            return;
        }
        try (var walk = Files.walk(root)) {
            for (Path p : walk.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        } catch (UncheckedIOException e) {
            throw e.getCause();
        }
    }

}
