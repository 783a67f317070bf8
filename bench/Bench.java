// The performance benchmark: the same work through ringbatch (the packaged jar, over REST)
// and through what a user would pick instead, on one generated tree, cold and warm, with the I/O time
// alone and the CPU time alone measured on the same files. Run by bench/run.sh; see bench/README.md.
import io.ringbatch.io.Block;
import io.ringbatch.io.BlockReader;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import io.ringbatch.operation.ChecksumOperation;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.GrepOperation;
import io.ringbatch.operation.GzipOperation;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.PieceProcessor;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.channels.AsynchronousFileChannel;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.atomic.LongAdder;
import java.util.zip.GZIPInputStream;

public class Bench {
    static final long MiB = 1 << 20;
    static final int BLOCK = 1 << 20;
    static final int DEPTH = 8;
    static final String PASSWORD = "bench-secret";
    static final int WARM_UP_JOBS = 5;
    static final String DATA_VERSION = "Bench data set v1";
    static final List<String> ALL_PEERS = List.of("ringbatch", "spring-batch", "filechannel", "afc", "mmap", "gnu",
            "pigz");
    static final Map<String, String> LABELS = Map.of(
            "ringbatch", "ringbatch job (REST, jar)",
            "spring-batch", "stock Spring Batch job",
            "filechannel", "FileChannel thread-per-core",
            "afc", "AsynchronousFileChannel",
            "mmap", "mmap + madvise(WILLNEED)",
            "gnu", "GNU tool, xargs -P",
            "pigz", "pigz -p nproc, xargs -P (gzip only)");

    // ------------------------------------------------------------------------------------------
    // Options
    // ------------------------------------------------------------------------------------------

    static final class Options {
        long size = 4L << 30;
        long seed = 42;
        int threads = Runtime.getRuntime().availableProcessors();
        List<String> ops = List.of("sha256", "crc32c", "grep", "gzip");
        List<String> modes = List.of("cold", "warm");
        List<String> peers = ALL_PEERS;
        String pattern = "[0-9]{3}x[a-c]";
        String heap = "512m";
        String jar;
        Path results = Path.of("bench/RESULTS.md");
        boolean jfr;
        int sse = 100;
        List<String> serviceArgs = new ArrayList<>();
        /** The many-small-files data set (bench/run-small.sh): this many files of 0-8 KiB; 0: the large-file set. */
        int smallFiles;
        /** Runs per cell; the table gives the median (by wall time). */
        int runs = 1;
        /** Files per GNU invocation ({@code xargs -n}). */
        int xargsN = 16;

        static Options parse(String[] args) {
            Options o = new Options();
            for (int i = 0; i < args.length; i++) {
                String a = args[i];
                switch (a) {
                    case "--size" -> o.size = parseSize(args[++i]);
                    case "--seed" -> o.seed = Long.parseLong(args[++i]);
                    case "--threads" -> o.threads = Integer.parseInt(args[++i]);
                    case "--ops" -> o.ops = List.of(args[++i].split(","));
                    case "--modes" -> o.modes = List.of(args[++i].split(","));
                    case "--peers" -> o.peers = List.of(args[++i].split(","));
                    case "--pattern" -> o.pattern = args[++i];
                    case "--heap" -> o.heap = args[++i];
                    case "--jar" -> o.jar = args[++i];
                    case "--results" -> o.results = Path.of(args[++i]);
                    case "--jfr" -> o.jfr = true;
                    case "--sse" -> o.sse = Integer.parseInt(args[++i]);
                    case "--service-arg" -> o.serviceArgs.add(args[++i]);
                    case "--small-files" -> o.smallFiles = Integer.parseInt(args[++i]);
                    case "--runs" -> o.runs = Integer.parseInt(args[++i]);
                    case "--xargs-n" -> o.xargsN = Integer.parseInt(args[++i]);
                    default -> throw new IllegalArgumentException("unknown option " + a + " (see bench/README.md)");
                }
            }
            for (String p : o.peers) {
                if (!ALL_PEERS.contains(p)) {
                    throw new IllegalArgumentException("unknown peer " + p + "; peers: " + ALL_PEERS);
                }
            }
            for (String op : o.ops) {
                if (!List.of("sha256", "crc32c", "grep", "gzip", "wc", "noop").contains(op)) {
                    throw new IllegalArgumentException("unknown op " + op + "; ops: sha256, crc32c, grep, gzip, wc, noop");
                }
            }
            return o;
        }
    }

    static long parseSize(String v) {
        v = v.toLowerCase(Locale.ROOT).trim();
        long m = v.endsWith("g") ? 1L << 30 : v.endsWith("m") ? 1L << 20 : v.endsWith("k") ? 1L << 10 : 1;
        return Long.parseLong(v.replaceAll("[gmk]$", "")) * m;
    }

    // ------------------------------------------------------------------------------------------
    // The data set
    // ------------------------------------------------------------------------------------------

    record FileEntry(int index, String rel, Path path, long size, boolean text) {
    }

    record DataSet(Path root, List<FileEntry> files, long bytes) {
        /** Largest first, as every Java peer takes them (so that a big file does not start last). */
        List<FileEntry> readOrder() {
            List<FileEntry> l = new ArrayList<>(files);
            l.sort(Comparator.comparingLong(FileEntry::size).reversed().thenComparing(FileEntry::rel));
            return l;
        }
    }

    /**
     * The plan of the tree, from the seed alone: three files over 512 MiB at 4 GiB (two text, one
     * binary; 14% of the size each), then files drawn log-uniformly between 4 KiB and 64 MiB, four in
     * five text, with a few empty ones, until the size is reached.
     */
    static List<long[]> plan(long size, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        List<long[]> plan = new ArrayList<>(); // {size, text 1/0}
        long big = size * 14 / 100;
        long total = 0;
        for (int i = 0; i < 3; i++) {
            long s = big + r.nextInt(1 << 20);
            plan.add(new long[]{s, i < 2 ? 1 : 0});
            total += s;
        }
        double lo = Math.log(4 << 10);
        double hi = Math.log(64L << 20);
        while (total < size) {
            long s = plan.size() % 97 == 5 ? 0 : (long) Math.exp(lo + r.nextDouble() * (hi - lo));
            s = Math.min(s, size - total);
            plan.add(new long[]{s, r.nextInt(5) < 4 ? 1 : 0});
            total += s;
        }
        return plan;
    }

    /**
     * The many-small-files set: {@code n} text files of 0 to 8 KiB (uniform; 4 KiB on average, 391 MiB at
     * 100,000), in 1,000 folders {@code d0..d999} (fewer for a small n, about 100 files each), from the seed.
     */
    static List<FileEntry> smallFiles(Path root, int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        int folders = Math.max(10, Math.min(1000, n / 100));
        List<FileEntry> files = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            String rel = "d" + (i % folders) + "/f" + i + ".txt";
            files.add(new FileEntry(i, rel, root.resolve(rel), r.nextInt(8193), true));
        }
        return files;
    }

    static DataSet dataSet(Options o) throws IOException {
        Path base = Path.of("bench/work/data").toAbsolutePath();
        Path root = o.smallFiles > 0 ? base.resolve("small-" + o.smallFiles + "-seed" + o.seed)
                : base.resolve("tree-" + (o.size >> 20) + "MiB-seed" + o.seed);
        List<FileEntry> files = new ArrayList<>();
        if (o.smallFiles > 0) {
            files = smallFiles(root, o.smallFiles, o.seed);
        } else {
            List<long[]> plan = plan(o.size, o.seed);
            for (int i = 0; i < plan.size(); i++) {
                boolean text = plan.get(i)[1] == 1;
                String rel = "d" + (i % 11) + "/s" + (i % 3) + "/f" + i + (text ? ".txt" : ".bin");
                files.add(new FileEntry(i, rel, root.resolve(rel), plan.get(i)[0], text));
            }
        }
        long bytes = files.stream().mapToLong(FileEntry::size).sum();
        Path manifest = root.resolveSibling(root.getFileName() + ".manifest"); // outside the tree the jobs read
        String expected = DATA_VERSION + " " + o.seed + " " + files.size() + " " + bytes + "\n";
        boolean ok = Files.exists(manifest) && Files.readString(manifest).equals(expected);
        if (ok) {
            for (FileEntry f : files) {
                if (!Files.isRegularFile(f.path()) || Files.size(f.path()) != f.size()) {
                    ok = false;
                    break;
                }
            }
        }
        if (!ok) {
            deleteTree(root);
            long t0 = System.nanoTime();
            System.out.printf(Locale.ROOT, "generating %d files, %d MiB, seed %d, in %s%n", files.size(), bytes >> 20,
                    o.seed, root);
            for (FileEntry f : files) {
                Files.createDirectories(f.path().getParent());
                write(f, o.seed);
            }
            Files.writeString(manifest, expected);
            System.out.printf(Locale.ROOT, "generated in %.0f s%n", (System.nanoTime() - t0) / 1e9);
        }
        return new DataSet(root, files, bytes);
    }

    /**
     * Text: lines of 20 to 320 characters over letters, digits, spaces and 'x', so that the grep
     * pattern matches now and then; one line in 50 ends in CRLF. Binary: uniform random bytes.
     */
    static void write(FileEntry f, long seed) throws IOException {
        SplittableRandom r = new SplittableRandom(seed * 1_000_003L + f.index());
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789x     ".getBytes(StandardCharsets.US_ASCII);
        byte[] buf = new byte[1 << 20];
        try (OutputStream out = new BufferedOutputStream(Files.newOutputStream(f.path()), (int) Math.min(1 << 20,
                Math.max(512, f.size())))) {
            long left = f.size();
            if (!f.text()) {
                while (left > 0) {
                    int n = (int) Math.min(buf.length, left);
                    for (int i = 0; i < n; i += 8) {
                        long v = r.nextLong();
                        for (int k = 0; k < 8 && i + k < n; k++) {
                            buf[i + k] = (byte) (v >>> (8 * k));
                        }
                    }
                    out.write(buf, 0, n);
                    left -= n;
                }
                return;
            }
            int fill = 0;
            while (left > 0) {
                int len = (int) Math.min(20 + r.nextInt(300), left);
                if (fill + len + 2 > buf.length) {
                    out.write(buf, 0, fill);
                    fill = 0;
                }
                int text = Math.max(0, len - 1);
                for (int i = 0; i < text; i++) {
                    buf[fill++] = alphabet[r.nextInt(alphabet.length)];
                }
                if (len > 1 && r.nextInt(50) == 0) {
                    buf[fill - 1] = '\r';
                }
                if (len >= 1) {
                    buf[fill++] = '\n';
                }
                left -= len;
            }
            out.write(buf, 0, fill);
        }
    }

    // ------------------------------------------------------------------------------------------
    // The work: one operation as ringbatch, the in-process peers and GNU run it
    // ------------------------------------------------------------------------------------------

    record Work(String name, String label, Operation op, Map<String, String> params, String restParams, String gnu,
                String gnuLabel) {
        boolean lines() {
            return op != null && op.split() == Operation.Split.LINES;
        }
    }

    /** Every file of the tree in byte order, 16 at a time to {@code nproc} shells at once: append the command. */
    static String xargs(int nproc) {
        return xargs(nproc, 16);
    }

    /** Every file of the tree in byte order, {@code n} at a time to {@code nproc} shells at once. */
    static String xargs(int nproc, int n) {
        return "find . -type f -printf '%P\\0' | LC_ALL=C sort -z | xargs -0 -P " + nproc + " -n " + n + " sh -c ";
    }

    static Work work(String name, Options o, int nproc) {
        // Each invocation writes its own part file, concatenated at the end: processes sharing one
        // output file interleave their buffered writes in the middle of lines.
        String xargs = xargs(nproc, o.xargsN);
        String gather = " && cat \"$OUT\"/part.* > \"$OUT/gnu.txt\"";
        return switch (name) {
            case "sha256" -> new Work(name, "checksum sha256", new ChecksumOperation(),
                    new ChecksumOperation().validate(Map.of("algorithm", "sha256")), "{\"algorithm\":\"sha256\"}",
                    xargs + "'sha256sum \"$@\" > \"$OUT/part.$$\"' sh" + gather, "`xargs -P " + nproc + " sha256sum`");
            case "crc32c" -> new Work(name, "checksum crc32c", new ChecksumOperation(),
                    new ChecksumOperation().validate(Map.of("algorithm", "crc32c")), "{\"algorithm\":\"crc32c\"}",
                    xargs + "'cksum -a crc \"$@\" > \"$OUT/part.$$\"' sh" + gather,
                    "`xargs -P " + nproc + " cksum -a crc` (CRC-32: no GNU tool computes CRC-32C)");
            case "grep" -> new Work(name, "grep `" + o.pattern + "`", new GrepOperation(),
                    new GrepOperation().validate(Map.of("pattern", o.pattern)),
                    "{\"pattern\":\"" + o.pattern.replace("\\", "\\\\").replace("\"", "\\\"") + "\"}",
                    // grep exits 1 when a batch has no match; the pattern comes in $PATTERN
                    xargs + "'grep -a -E -Hn -e \"$PATTERN\" \"$@\" > \"$OUT/part.$$\"; test $? -le 1' sh" + gather,
                    "`xargs -P " + nproc + " grep -a -E -Hn`");
            case "gzip" -> new Work(name, "gzip -6", new GzipOperation(), new GzipOperation().validate(Map.of("level", 6)),
                    "{\"level\":6}",
                    xargs + "'for f; do mkdir -p \"$OUT/${f%/*}\"; gzip -6 -n -c \"$f\" > \"$OUT/$f.gz\"; done' sh",
                    "`xargs -P " + nproc + " gzip -6 -n`");
            case "wc" -> new Work(name, "wc", new io.ringbatch.operation.WcOperation(),
                    new io.ringbatch.operation.WcOperation().validate(Map.of()), "{}",
                    xargs + "'wc \"$@\" > \"$OUT/part.$$\"' sh" + gather, "`xargs -P " + nproc + " wc`");
            case "noop" -> new Work(name, "no-op (read only)", null, Map.of(), "{}", null, null);
            default -> throw new IllegalArgumentException(name);
        };
    }

    /**
     * gzip's other peer: pigz at the same level, each file on all cores (pigz's own threads) and as many files
     * at once as there are cores. pigz's output differs from gzip's in its block layout, not in what it
     * decompresses to.
     */
    static Work pigz(Work gzip, int nproc) {
        String xargs = xargs(nproc);
        return new Work(gzip.name(), gzip.label(), gzip.op(), gzip.params(), gzip.restParams(),
                xargs + "'for f; do mkdir -p \"$OUT/${f%/*}\"; pigz -6 -n -p " + nproc
                        + " -c \"$f\" > \"$OUT/$f.gz\"; done' sh", "`xargs -P " + nproc + " pigz -6 -n -p " + nproc + "`");
    }

    /** Where an in-process peer's fragments go: records to one file per thread, outputs to one per input. */
    static final class FileSink implements FragmentSink, AutoCloseable {
        final FileChannel records;
        final Path outDir;
        FileChannel output;
        long bytes;

        FileSink(FileChannel records, Path outDir) {
            this.records = records;
            this.outDir = outDir;
        }

        @Override
        public void record(ByteBuffer b) throws IOException {
            bytes += b.remaining();
            while (b.hasRemaining()) {
                records.write(b);
            }
        }

        @Override
        public void output(ByteBuffer b) throws IOException {
            if (output == null) {
                Files.createDirectories(outDir.getParent());
                output = FileChannel.open(outDir, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                        StandardOpenOption.TRUNCATE_EXISTING);
            }
            bytes += b.remaining();
            while (b.hasRemaining()) {
                output.write(b);
            }
        }

        @Override
        public void close() throws IOException {
            if (output != null) {
                output.close();
            }
        }
    }

    /**
     * Hands a file's blocks to its processor as the operation's contract wants: for a line-split
     * operation each call holds whole lines, the tail of a block being carried over to the next.
     * The CPU time spent in the processor (the thread's, so time the thread was not scheduled does
     * not count) is added to {@code busy}.
     */
    static final class Feeder {
        final PieceProcessor p;
        final FragmentSink sink;
        final boolean lines;
        /** The thread's carry-over buffer, empty at the start: one per thread, not one per file (a
         *  direct buffer of a block zeroed per file cost the many-small-files runs most of their time). */
        ByteBuffer carry;
        long busy;

        Feeder(PieceProcessor p, FragmentSink sink, boolean lines, ByteBuffer carry) {
            this.p = p;
            this.sink = sink;
            this.lines = lines;
            this.carry = carry.clear();
        }

        void feed(ByteBuffer b) throws IOException {
            if (p == null) {
                return;
            }
            long t0 = cpuNow();
            if (!lines) {
                p.process(b, sink);
            } else {
                if (carry.position() > 0) {
                    int nl = indexOf(b, b.position(), b.limit());
                    if (nl < 0) {
                        append(b, b.position(), b.limit());
                        busy += cpuNow() - t0;
                        return;
                    }
                    append(b, b.position(), nl + 1);
                    carry.flip();
                    p.process(carry, sink);
                    carry.clear();
                    b.position(nl + 1);
                }
                int last = b.limit() - 1;
                while (last >= b.position() && b.get(last) != '\n') {
                    last--;
                }
                if (last >= b.position()) {
                    int end = b.limit();
                    append(b, last + 1, end);
                    b.limit(last + 1);
                    p.process(b, sink);
                } else {
                    append(b, b.position(), b.limit());
                }
            }
            busy += cpuNow() - t0;
        }

        void finish() throws IOException {
            if (p == null) {
                return;
            }
            long t0 = cpuNow();
            if (carry.position() > 0) {
                carry.flip();
                p.process(carry, sink);
                carry.clear();
            }
            p.finish(sink);
            busy += cpuNow() - t0;
        }

        private void append(ByteBuffer b, int from, int to) {
            int n = to - from;
            if (carry.remaining() < n) {
                ByteBuffer bigger = ByteBuffer.allocateDirect(Math.max(carry.capacity() * 2, carry.position() + n));
                carry.flip();
                bigger.put(carry);
                carry = bigger;
            }
            carry.put(carry.position(), b, from, n);
            carry.position(carry.position() + n);
        }

        private static int indexOf(ByteBuffer b, int from, int to) {
            for (int i = from; i < to; i++) {
                if (b.get(i) == '\n') {
                    return i;
                }
            }
            return -1;
        }
    }

    /** One in-process reader of a file: feeds its blocks in order; returns nanoseconds spent waiting for data. */
    interface FileRun {
        long run(FileEntry f, Feeder feeder) throws Exception;
    }

    record Measured(double seconds, long bytes, double busySeconds, double waitSeconds, double cpuSeconds, long fragments,
                    String note) {
    }

    /**
     * {@code threads} workers over a shared queue of files, largest first; each opens the operation's
     * processor for the file, reads it with {@code perThread}'s reader and feeds it. Per-thread set-up
     * happens before the clock starts.
     */
    static Measured runThreads(DataSet set, Work w, int threads, Path out, java.util.function.Supplier<FileRun> perThread)
            throws Exception {
        List<FileEntry> order = set.readOrder();
        AtomicInteger next = new AtomicInteger();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        LongAdder bytes = new LongAdder();
        LongAdder busy = new LongAdder();
        LongAdder wait = new LongAdder();
        LongAdder fragments = new LongAdder();
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        List<Thread> workers = new ArrayList<>();
        deleteTree(out);
        Files.createDirectories(out);
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                FileRun reader;
                FileChannel records;
                try {
                    reader = perThread.get();
                    records = FileChannel.open(out.resolve("records-" + id), StandardOpenOption.CREATE,
                            StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    ready.countDown();
                    return;
                }
                ready.countDown();
                ByteBuffer[] carry = {ByteBuffer.allocateDirect(BLOCK)};
                try (records) {
                    go.await();
                    int i;
                    while (failure.get() == null && (i = next.getAndIncrement()) < order.size()) {
                        FileEntry f = order.get(i);
                        try (FileSink sink = new FileSink(records, out.resolve(f.rel() + ".out"))) {
                            PieceProcessor p = w.op() == null ? null
                                    : w.op().open(w.params(), new Operation.Piece(f.index(), f.index(), f.rel(),
                                    null /* no root: the peers read by path, the operation only processes */, 0, f.size(),
                                    f.size()), null);
                            Feeder feeder = new Feeder(p, sink, w.lines(), carry[0]);
                            wait.add(reader.run(f, feeder));
                            feeder.finish();
                            carry[0] = feeder.carry; // grown, perhaps
                            busy.add(feeder.busy);
                            fragments.add(sink.bytes);
                            bytes.add(f.size());
                        }
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "bench-worker-" + t);
            workers.add(th);
            th.start();
        }
        ready.await();
        long cpu0 = processCpuNanos();
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread th : workers) {
            th.join();
        }
        long nanos = System.nanoTime() - t0;
        long cpu = processCpuNanos() - cpu0;
        if (failure.get() != null) {
            Throwable e = failure.get();
            throw e instanceof Exception ex ? ex : new RuntimeException(e);
        }
        return new Measured(nanos / 1e9, bytes.sum(), busy.sum() / 1e9, wait.sum() / 1e9, cpu / 1e9, fragments.sum(), "");
    }

    static final java.lang.management.ThreadMXBean THREADS = ManagementFactory.getThreadMXBean();

    static long cpuNow() {
        return THREADS.getCurrentThreadCpuTime();
    }

    static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** Positional 1 MiB reads into one direct buffer per thread; only the kernel's read-ahead in front. */
    static FileRun fileChannel() {
        ByteBuffer buffer = ByteBuffer.allocateDirect(BLOCK);
        return (f, feeder) -> {
            long waited = 0;
            try (FileChannel ch = FileChannel.open(f.path(), StandardOpenOption.READ)) {
                long off = 0;
                while (true) {
                    long t0 = System.nanoTime();
                    buffer.clear();
                    while (buffer.hasRemaining() && ch.read(buffer, off + buffer.position()) >= 0) {
                        // a short read is followed by another, until the buffer is full or the file ends
                    }
                    buffer.flip();
                    waited += System.nanoTime() - t0;
                    if (buffer.limit() == 0) {
                        break;
                    }
                    off += buffer.limit();
                    feeder.feed(buffer);
                }
            }
            return waited;
        };
    }

    /** {@code DEPTH} reads outstanding per file (the JDK runs them as blocking preads on its own pool). */
    static FileRun asyncFileChannel() {
        ByteBuffer[] buffers = new ByteBuffer[DEPTH];
        for (int i = 0; i < DEPTH; i++) {
            buffers[i] = ByteBuffer.allocateDirect(BLOCK);
        }
        @SuppressWarnings("unchecked")
        Future<Integer>[] pending = new Future[DEPTH];
        return (f, feeder) -> {
            long waited = 0;
            long blocks = (f.size() + BLOCK - 1) / BLOCK;
            try (AsynchronousFileChannel ch = AsynchronousFileChannel.open(f.path(), StandardOpenOption.READ)) {
                long issued = 0;
                for (; issued < Math.min(DEPTH, blocks); issued++) {
                    pending[(int) (issued % DEPTH)] = start(ch, buffers[(int) (issued % DEPTH)], issued, f);
                }
                for (long k = 0; k < blocks; k++) {
                    int slot = (int) (k % DEPTH);
                    ByteBuffer b = buffers[slot];
                    long off = k * BLOCK;
                    long t0 = System.nanoTime();
                    pending[slot].get();
                    while (b.hasRemaining()) {
                        if (ch.read(b, off + b.position()).get() < 0) {
                            throw new IOException(f.path() + ": ended early at " + (off + b.position()));
                        }
                    }
                    waited += System.nanoTime() - t0;
                    b.flip();
                    feeder.feed(b);
                    if (issued < blocks) {
                        pending[slot] = start(ch, b, issued, f);
                        issued++;
                    }
                }
            }
            return waited;
        };
    }

    static Future<Integer> start(AsynchronousFileChannel ch, ByteBuffer b, long block, FileEntry f) {
        long off = block * BLOCK;
        b.clear().limit((int) Math.min(BLOCK, f.size() - off));
        return ch.read(b, off);
    }

    /** Maps the file; {@code madvise(MADV_WILLNEED)} keeps {@code DEPTH} blocks ahead of the one processed. */
    static FileRun mmap() {
        long window = (long) DEPTH * BLOCK;
        return (f, feeder) -> {
            try (ReadBench.Mapping map = new ReadBench.Mapping(f.path(), f.size())) {
                long advised = Math.min(f.size(), window);
                map.willNeed(0, advised);
                for (long off = 0; off < f.size(); off += BLOCK) {
                    long want = Math.min(f.size(), off + BLOCK + window);
                    if (want > advised) {
                        map.willNeed(advised, want - advised);
                        advised = want;
                    }
                    feeder.feed(map.view(off, (int) Math.min(BLOCK, f.size() - off)));
                }
            }
            return 0; // page faults are not seen: no wait figure
        };
    }

    /** ringbatch's io_uring engine straight, as the job's readers use it, with nothing done to the blocks. */
    static Measured engineRead(DataSet set, int threads, Path out) throws Exception {
        IoOptions options = IoOptions.defaults().withBufferPoolSize(Math.max(128, 2 * threads * DEPTH));
        IoEngine engine = IoEngines.select(IoEngines.Mode.IO_URING, options).engine();
        try {
            return runThreads(set, work("noop", new Options(), threads), threads, out, () -> (f, feeder) -> {
                long waited;
                try (BlockReader reader = engine.open(f.path())) {
                    Block b;
                    while ((b = reader.next()) != null) {
                        b.release();
                    }
                    waited = reader.stats().waitNanos();
                }
                return waited;
            });
        } finally {
            engine.close();
        }
    }

    /**
     * The CPU time alone: the operation over blocks already in memory (read from the page cache before
     * the clock starts for each block), on all cores at once; the sum of the processors' time.
     */
    static Measured cpuAlone(DataSet set, Work w, int threads, Path out) throws Exception {
        return runThreads(set, w, threads, out, Bench::fileChannel);
    }

    // libc (mmap, madvise, mincore, geteuid): ReadBench's, compiled with this file by run.sh
    static final ReadBench.CLib C = ReadBench.CLib.C;

    static double residency(DataSet set) throws IOException {
        long pages = 0;
        long resident = 0;
        for (FileEntry f : set.files()) {
            try (ReadBench.Mapping m = new ReadBench.Mapping(f.path(), f.size())) {
                pages += (f.size() + 4095) / 4096;
                resident += m.residentPages();
            }
        }
        return pages == 0 ? 1 : (double) resident / pages;
    }

    /** Cold: sync and drop the page cache; warm: read what is not cached. Returns the share cached after. */
    static double prepare(String mode, DataSet set, Path scratch) throws Exception {
        if (mode.equals("cold")) {
            new ProcessBuilder("sync").inheritIO().start().waitFor();
            Files.writeString(Path.of("/proc/sys/vm/drop_caches"), "3\n");
        } else if (residency(set) < 0.99) {
            runThreads(set, work("noop", new Options(), 2), 2, scratch, Bench::fileChannel);
        }
        return residency(set);
    }

    // ------------------------------------------------------------------------------------------
    // ringbatch over REST and GNU in a shell
    // ------------------------------------------------------------------------------------------

    static final class Service implements AutoCloseable {
        final Process process;
        final int port;
        final HttpClient http = HttpClient.newHttpClient();
        final String auth = "Basic " + Base64.getEncoder().encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8));

        Service(Options o, DataSet set, Path work) throws Exception {
            try (ServerSocket s = new ServerSocket(0)) {
                port = s.getLocalPort();
            }
            Path data = work.resolve("service-data");
            deleteTree(data);
            Files.createDirectories(work.resolve("ringbatch-out"));
            List<String> cmd = new ArrayList<>(List.of("java", "-Xmx" + o.heap));
            if (o.jfr) {
                cmd.add("-XX:StartFlightRecording=filename=" + work.resolve("ringbatch.jfr") + ",settings=profile");
            }
            cmd.addAll(List.of("-jar", o.jar, "--server.port=" + port, "--ringbatch.data-dir=" + data,
                    "--ringbatch.input-roots=" + set.root(), "--ringbatch.output-root=" + work.resolve("ringbatch-out"),
                    "--ringbatch.security.admin-password=" + PASSWORD, "--ringbatch.operations.noop=true",
                    "--ringbatch.api.max-event-streams=" + Math.max(64, o.sse + 16),
                    "--logging.level.root=WARN"));
            cmd.addAll(o.serviceArgs);
            process = new ProcessBuilder(cmd).redirectErrorStream(true)
                    .redirectOutput(work.resolve("service.log").toFile()).start();
            for (int i = 0; ; i++) {
                if (!process.isAlive() || i > 600) {
                    throw new IllegalStateException("the service did not start; see " + work.resolve("service.log"));
                }
                try {
                    if (http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port + "/actuator/health")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200) {
                        break;
                    }
                } catch (IOException e) {
                    // not yet
                }
                Thread.sleep(200);
            }
        }

        HttpRequest.Builder req(String path) {
            return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path)).header("Authorization", auth);
        }

        /** Runs one job; the time is the service's own, from submission to end. */
        Measured run(Work w, DataSet set, Path out) throws Exception {
            return run(w, set, out, null);
        }

        Measured run(Work w, DataSet set, Path out, String include) throws Exception {
            String op = switch (w.name()) {
                case "sha256", "crc32c" -> "checksum";
                default -> w.name();
            };
            String body = "{\"operation\":\"" + op + "\",\"params\":" + w.restParams() + ",\"input\":{\"root\":\""
                    + set.root() + "\"" + (include == null ? "" : ",\"include\":[\"" + include + "\"]")
                    + "},\"output\":{\"path\":\"" + out.getFileName() + "\"}}";
            long cpu0 = cpuTicks(process.pid());
            HttpResponse<String> r = http.send(req("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                    .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 202) {
                throw new IllegalStateException("submit: " + r.statusCode() + " " + r.body());
            }
            String id = field(r.body(), "id");
            while (true) {
                // every request costs a password check: poll rarely, so as not to take the workers' CPU
                Thread.sleep(250);
                String job = http.send(req("/api/jobs/" + id).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
                String status = field(job, "status");
                if (status.equals("COMPLETED")) {
                    double s = Duration.between(Instant.parse(field(job, "createdAt")), Instant.parse(field(job, "endedAt")))
                            .toNanos() / 1e9;
                    double cpu = (cpuTicks(process.pid()) - cpu0) / 100.0;
                    return new Measured(s, Long.parseLong(number(job, "bytesTotal")), Double.parseDouble(number(job, "busySeconds")),
                            Double.parseDouble(number(job, "waitSeconds")), cpu, -1, "job " + id);
                }
                if (List.of("FAILED", "STOPPED", "ABANDONED").contains(status)) {
                    throw new IllegalStateException("job " + id + " ended " + status + ": " + job);
                }
            }
        }

        long peakRssKiB() throws IOException {
            for (String l : Files.readAllLines(Path.of("/proc/" + process.pid() + "/status"))) {
                if (l.startsWith("VmHWM:")) {
                    return Long.parseLong(l.replaceAll("[^0-9]", ""));
                }
            }
            return -1;
        }

        @Override
        public void close() throws Exception {
            process.destroy();
            process.waitFor();
        }
    }

    /** utime + stime of a process and its waited-for children, in clock ticks (100 per second). */
    static long cpuTicks(long pid) throws IOException {
        String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Long.parseLong(f[11]) + Long.parseLong(f[12]);
    }

    static Measured gnu(Work w, DataSet set, Path out, Options o) throws Exception {
        deleteTree(out);
        Files.createDirectories(out);
        // bash's `times` prints the children's user and system time on its second line
        String script = w.gnu() + " || exit 1\ntimes > \"$OUT/.times\"";
        ProcessBuilder pb = new ProcessBuilder("bash", "-c", script).directory(set.root().toFile()).inheritIO();
        pb.environment().put("OUT", out.toString());
        pb.environment().put("LC_ALL", "C");
        pb.environment().put("PATTERN", o.pattern);
        long t0 = System.nanoTime();
        Process p = pb.start();
        if (p.waitFor() != 0) {
            throw new IllegalStateException(w.gnu() + " failed");
        }
        double s = (System.nanoTime() - t0) / 1e9;
        String[] times = Files.readAllLines(out.resolve(".times")).get(1).trim().split("\\s+");
        double cpu = minutes(times[0]) + minutes(times[1]);
        return new Measured(s, set.bytes(), Double.NaN, Double.NaN, cpu, -1, "");
    }

    static double minutes(String t) { // 0m1.234s
        int m = t.indexOf('m');
        return Integer.parseInt(t.substring(0, m)) * 60 + Double.parseDouble(t.substring(m + 1, t.length() - 1));
    }

    // ------------------------------------------------------------------------------------------
    // Checks of ringbatch's outputs against the GNU tools'
    // ------------------------------------------------------------------------------------------

    static String check(Work w, DataSet set, Path rbOut, Path gnuOut) throws IOException {
        switch (w.name()) {
            case "sha256" -> {
                Map<String, String> mine = digests(rbOut.resolve("checksums.sha256"));
                Map<String, String> ref = digests(gnuOut.resolve("gnu.txt"));
                return mine.equals(ref) ? "ok: all " + ref.size() + " digests equal sha256sum's"
                        : "DIFFERS from sha256sum (" + mine.size() + " vs " + ref.size() + " files)";
            }
            case "grep" -> {
                List<String> mine = lines(rbOut.resolve("matches.txt"));
                List<String> ref = lines(gnuOut.resolve("gnu.txt"));
                ref.sort(Comparator.comparing((String l) -> l.substring(0, l.indexOf(':')))
                        .thenComparingLong(l -> Long.parseLong(l.substring(l.indexOf(':') + 1, l.indexOf(':', l.indexOf(':') + 1)))));
                return mine.equals(ref) ? "ok: " + ref.size() + " lines equal grep's" : "DIFFERS from grep (" + mine.size()
                        + " vs " + ref.size() + " lines)";
            }
            case "gzip" -> {
                int n = 0;
                for (FileEntry f : set.files()) {
                    Path gz = rbOut.resolve(f.rel() + ".gz");
                    if (!Files.isRegularFile(gz)) {
                        return "MISSING " + gz;
                    }
                    if (f.index() % 10 == 0) { // every tenth file, big ones included, decompressed and compared
                        try (InputStream a = new GZIPInputStream(Files.newInputStream(gz), 1 << 16);
                             InputStream b = Files.newInputStream(f.path())) {
                            if (!sameBytes(a, b)) {
                                return "DIFFERS: " + gz + " does not decompress to its input";
                            }
                        }
                        n++;
                    }
                }
                return "ok: " + set.files().size() + " .gz files; " + n + " decompressed to their inputs";
            }
            case "wc" -> {
                // GNU: "  lines  words  bytes path" per file, and a "total" line per invocation
                Map<String, String> ref = new java.util.TreeMap<>();
                for (String l : lines(gnuOut.resolve("gnu.txt"))) {
                    String[] f = l.trim().split("\\s+", 4);
                    if (f.length == 4 && !f[3].equals("total")) {
                        ref.put(f[3], f[0] + " " + f[1] + " " + f[2]);
                    }
                }
                Map<String, String> mine = new java.util.TreeMap<>();
                for (String l : lines(rbOut.resolve("counts.tsv"))) {
                    String[] f = l.split("\t");
                    if (f.length == 4 && !f[0].equals("total")) {
                        mine.put(f[0], f[1] + " " + f[2] + " " + f[3]);
                    }
                }
                return mine.equals(ref) ? "ok: the counts of all " + ref.size() + " files equal wc's"
                        : "DIFFERS from wc (" + mine.size() + " vs " + ref.size() + " files)";
            }
            default -> {
                return "";
            }
        }
    }

    /** Lines split at '\n' only (a '\r' is data), bytes as ISO-8859-1 chars. */
    static List<String> lines(Path file) throws IOException {
        String all = new String(Files.readAllBytes(file), StandardCharsets.ISO_8859_1);
        List<String> l = new ArrayList<>(Arrays.asList(all.split("\n", -1)));
        if (!l.isEmpty() && l.get(l.size() - 1).isEmpty()) {
            l.remove(l.size() - 1);
        }
        return l;
    }

    static Map<String, String> digests(Path file) throws IOException {
        Map<String, String> m = new HashMap<>();
        for (String l : Files.readAllLines(file, StandardCharsets.ISO_8859_1)) {
            m.put(l.substring(l.indexOf("  ") + 2), l.substring(0, l.indexOf("  ")));
        }
        return m;
    }

    static boolean sameBytes(InputStream a, InputStream b) throws IOException {
        byte[] x = new byte[1 << 16];
        byte[] y = new byte[1 << 16];
        while (true) {
            int n = a.readNBytes(x, 0, x.length);
            int m = b.readNBytes(y, 0, y.length);
            if (n != m || !Arrays.equals(x, 0, n, y, 0, m)) {
                return false;
            }
            if (n == 0) {
                return true;
            }
        }
    }

    // ------------------------------------------------------------------------------------------
    // Main
    // ------------------------------------------------------------------------------------------

    record Row(String op, String mode, String peer, Measured m, double cached, String check) {
    }

    public static void main(String[] args) throws Exception {
        Options o = Options.parse(args);
        int cores = Runtime.getRuntime().availableProcessors();
        List<String> modes = new ArrayList<>(o.modes);
        String coldRefused = null;
        if (modes.contains("cold") && C.geteuid() != 0) {
            coldRefused = "NOT ROOT: cold runs skipped (dropping the page cache needs root)";
            System.out.println(coldRefused);
            modes.remove("cold");
        }
        Path work = Path.of("bench/work/bench").toAbsolutePath();
        Files.createDirectories(work);
        DataSet set = dataSet(o);
        long text = set.files().stream().filter(FileEntry::text).mapToLong(FileEntry::size).sum();
        System.out.printf(Locale.ROOT, "data set: %d files, %d MiB (%d MiB text), %s%n", set.files().size(), set.bytes() >> 20,
                text >> 20, set.root());

        // The two limits, measured on the same files: the I/O alone (per mode) and the CPU alone (per op).
        Map<String, Measured> io = new LinkedHashMap<>();
        for (String mode : modes) {
            double cached = prepare(mode, set, work.resolve("scratch"));
            Measured m = engineRead(set, o.threads, work.resolve("scratch"));
            io.put(mode, m);
            System.out.printf(Locale.ROOT, "I/O alone, %s (engine, no work; %.0f%% cached before): %.2f s, %.0f MiB/s%n", mode,
                    cached * 100, m.seconds(), set.bytes() / MiB / m.seconds());
        }
        Map<String, Measured> cpu = new LinkedHashMap<>();
        prepare("warm", set, work.resolve("scratch"));
        for (String op : o.ops) {
            Work w = work(op, o, cores);
            if (w.op() == null) {
                continue;
            }
            cpuAlone(set, w, o.threads, work.resolve("scratch")); // once to compile the hot code
            Measured m = cpuAlone(set, w, o.threads, work.resolve("scratch"));
            cpu.put(op, m);
            System.out.printf(Locale.ROOT, "CPU alone, %s: %.2f s of processing (%.0f MiB/s per core), %.2f s on %d cores%n",
                    op, m.busySeconds(), set.bytes() / MiB / m.busySeconds(), m.busySeconds() / cores, cores);
        }

        List<Row> rows = new ArrayList<>();
        List<String> sseRows = List.of();
        long rss = -1;
        Service service = o.peers.contains("ringbatch") ? new Service(o, set, work) : null;
        try {
            // A service runs for days: measure it warm, after one small job of each operation (the first
            // job of a fresh JVM also compiles the framework's code). The stock Spring Batch job gets the
            // same: one run over the same small subset first.
            List<String> subset = set.files().stream().map(FileEntry::rel).filter(r -> r.startsWith("d5/")).toList();
            for (String op : o.ops) {
                Work w = work(op, o, cores);
                // Five jobs each: the JIT of a fresh JVM goes on compiling the framework's paths (H2, Jackson,
                // Spring) for tens of jobs, and on two cores its compiler thread takes a worker's core.
                for (int i = 0; service != null && i < WARM_UP_JOBS; i++) {
                    Path out = work.resolve("ringbatch-out").resolve("warmup-" + op + "-" + System.nanoTime());
                    Measured m = service.run(w, set, out, "d5/**");
                    deleteTree(out);
                    System.out.printf(Locale.ROOT, "warm-up %d: ringbatch %s over d5/ (%d files): %.2f s%n", i + 1, op,
                            subset.size(), m.seconds());
                }
                if (o.peers.contains("spring-batch") && w.op() != null) {
                    StockSpringBatch.Result r = StockSpringBatch.run(w.op(), w.params(), set.root(), subset, o.threads,
                            work.resolve("out-spring-batch-warmup"));
                    System.out.printf(Locale.ROOT, "warm-up: stock Spring Batch %s over d5/: %.2f s (%s)%n", op, r.seconds(),
                            r.status());
                }
            }
            for (String op : o.ops) {
                Work w = work(op, o, cores);
                for (String mode : modes) {
                    Path gnuOut = work.resolve("out-gnu-" + op);
                    Path rbOut = null;
                    for (String peer : o.peers) {
                        if (w.op() == null && !peer.equals("ringbatch")) {
                            continue; // the no-op is compared with the engine's raw read, above
                        }
                        if (peer.equals("pigz") && !op.equals("gzip")) {
                            continue; // pigz is a peer of gzip only
                        }
                        double cached = prepare(mode, set, work.resolve("scratch"));
                        Path out = work.resolve("out-" + peer + "-" + op);
                        Measured m;
                        List<Measured> runs = new ArrayList<>();
                        try {
                          for (int run = 0; run < Math.max(1, o.runs); run++) {
                            if (run > 0) {
                                cached = prepare(mode, set, work.resolve("scratch"));
                                if (rbOut != null && peer.equals("ringbatch")) {
                                    deleteTree(rbOut);
                                }
                            }
                            m = switch (peer) {
                                case "ringbatch" -> {
                                    String name = "rb-" + op + "-" + mode + "-" + System.currentTimeMillis();
                                    rbOut = work.resolve("ringbatch-out").resolve(name);
                                    yield service.run(w, set, rbOut);
                                }
                                case "spring-batch" -> {
                                    StockSpringBatch.Result r = StockSpringBatch.run(w.op(), w.params(), set.root(),
                                            set.files().stream().map(FileEntry::rel).toList(), o.threads, out);
                                    if (!r.status().startsWith("COMPLETED")) {
                                        throw new IllegalStateException("stock Spring Batch job: " + r.status());
                                    }
                                    yield new Measured(r.seconds(), r.bytes(), Double.NaN, Double.NaN, Double.NaN,
                                            r.fragments(), "");
                                }
                                case "filechannel" -> runThreads(set, w, o.threads, out, Bench::fileChannel);
                                case "afc" -> runThreads(set, w, o.threads, out, Bench::asyncFileChannel);
                                case "mmap" -> runThreads(set, w, o.threads, out, Bench::mmap);
                                case "gnu" -> gnu(w, set, gnuOut, o);
                                case "pigz" -> gnu(pigz(w, cores), set, out, o);
                                default -> throw new IllegalArgumentException(peer);
                            };
                            runs.add(m);
                          }
                          runs.sort(Comparator.comparingDouble(Measured::seconds));
                          m = runs.get(runs.size() / 2); // the median by wall time
                          if (runs.size() > 1) {
                              System.out.printf(Locale.ROOT, "  %s %s %s runs: %s s%n", op, mode, peer,
                                      runs.stream().map(r -> String.format(Locale.ROOT, "%.2f", r.seconds())).toList());
                          }
                        } catch (Exception e) {
                            System.out.printf("%-7s %-5s %-28s FAILED: %s%n", op, mode, LABELS.get(peer), e);
                            e.printStackTrace();
                            rows.add(new Row(op, mode, peer, null, cached, "FAILED: " + e.getMessage()));
                            continue;
                        }
                        if (m.bytes() != set.bytes() && !peer.equals("gnu")) {
                            System.out.printf("  %s read %d bytes, not %d%n", peer, m.bytes(), set.bytes());
                        }
                        rows.add(new Row(op, mode, peer, m, cached, m.bytes() == set.bytes() ? "" : "READ " + m.bytes()
                                + " BYTES, NOT " + set.bytes()));
                        System.out.printf(Locale.ROOT, "%-7s %-5s %-28s %7.2f s %6.0f MiB/s  cpu %5.2f s  wait %5.2f s  (%.0f%% cached)%n",
                                op, mode, LABELS.get(peer), m.seconds(), set.bytes() / MiB / m.seconds(), m.cpuSeconds(),
                                m.waitSeconds(), cached * 100);
                    }
                    if (rbOut != null && o.peers.contains("gnu") && w.gnu() != null) {
                        String c = check(w, set, rbOut, gnuOut);
                        System.out.println("  check of ringbatch's output: " + c);
                        for (int i = rows.size() - 1; i >= 0; i--) {
                            Row r = rows.get(i);
                            if (r.op().equals(op) && r.mode().equals(mode) && r.peer().equals("ringbatch") && r.m() != null) {
                                rows.set(i, new Row(r.op(), r.mode(), r.peer(), r.m(), r.cached(), c));
                                break;
                            }
                        }
                    }
                    if (rbOut != null) {
                        deleteTree(rbOut); // 4 GiB of gzip output per run would fill the disk
                    }
                }
            }
            if (service != null && o.sse > 0 && modes.contains("warm")) {
                sseRows = sse(o, set, work, service, cores);
            }
            if (service != null) {
                rss = service.peakRssKiB();
            }
        } finally {
            if (service != null) {
                service.close();
            }
        }
        String md = report(o, set, cores, io, cpu, rows, rss, coldRefused);
        if (!sseRows.isEmpty()) {
            md += "\n## Server-sent event clients\n\nThe same warm job alone, then with " + o.sse
                    + " clients connected to the dashboard's overview stream (`GET /api/overview/events`, one event a "
                    + "second each), then alone again.\n\n| run | wall s |\n|---|---:|\n" + String.join("\n", sseRows) + "\n";
        }
        Files.writeString(work.resolve("table.md"), md);
        System.out.println();
        System.out.println(md);
    }

    /** The first operation, warm: alone, with {@code o.sse} overview streams open, alone again. */
    static List<String> sse(Options o, DataSet set, Path work, Service service, int cores) throws Exception {
        Work w = work(o.ops.stream().filter(op -> !op.equals("noop")).findFirst().orElse(o.ops.get(0)), o, cores);
        List<String> rows = new ArrayList<>();
        HttpClient clients = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        for (String phase : List.of("alone", "with", "alone again")) {
            List<java.util.concurrent.CompletableFuture<HttpResponse<Void>>> streams = new ArrayList<>();
            if (phase.equals("with")) {
                for (int i = 0; i < o.sse; i++) {
                    streams.add(clients.sendAsync(service.req("/api/overview/events").header("Accept", "text/event-stream").build(),
                            HttpResponse.BodyHandlers.discarding()));
                }
                Thread.sleep(3000);
                long failed = streams.stream().filter(f -> f.isDone()).count();
                if (failed > 0) {
                    System.out.println("  " + failed + " of the event streams ended early (refused?)");
                }
            }
            prepare("warm", set, work.resolve("scratch"));
            Path out = work.resolve("ringbatch-out").resolve("sse-" + System.nanoTime());
            Measured m = service.run(w, set, out);
            deleteTree(out);
            long open = streams.stream().filter(f -> !f.isDone()).count();
            streams.forEach(f -> f.cancel(true));
            String label = phase.equals("with") ? w.label() + ", warm, with " + open + " event streams open" : w.label() + ", warm, " + phase;
            rows.add(String.format(Locale.ROOT, "| %s | %.2f |", label, m.seconds()));
            System.out.printf(Locale.ROOT, "SSE: %s: %.2f s%n", label, m.seconds());
        }
        return rows;
    }

    static String report(Options o, DataSet set, int cores, Map<String, Measured> io, Map<String, Measured> cpu, List<Row> rows,
                         long rss, String coldRefused) {
        StringBuilder md = new StringBuilder();
        long text = set.files().stream().filter(FileEntry::text).mapToLong(FileEntry::size).sum();
        long big = set.files().stream().filter(f -> f.size() > 512 * MiB).count();
        md.append("## Parameters\n\n");
        md.append(String.format(Locale.ROOT, "- data set: %d files, %d MiB (%d MiB text, the rest random bytes; %d files over 512 MiB), "
                + "seed %d, `%s`%n", set.files().size(), set.bytes() >> 20, text >> 20, big, o.seed, set.root()));
        md.append(String.format(Locale.ROOT, "- %d worker threads everywhere (the cores the JVM sees); ringbatch: the packaged jar, "
                + "`-Xmx%s`, default settings; peak resident memory of the service over all its jobs: %s%n", o.threads, o.heap,
                rss < 0 ? "not measured" : (rss >> 10) + " MiB"));
        md.append("- cold: `sync; echo 3 > /proc/sys/vm/drop_caches` before each run; warm: every page cached before each run\n");
        if (o.runs > 1) {
            md.append("- each cell: the median of " + o.runs + " runs (by wall time); the console log lists every run\n");
        }
        if (o.smallFiles > 0) {
            md.append("- the GNU tools get " + o.xargsN + " files per invocation (`xargs -n " + o.xargsN + "`)\n");
        }
        md.append("- the service is measured warm: before the runs it did " + WARM_UP_JOBS + " small jobs (the files under `d5/`) "
                + "of each operation; the stock Spring Batch job did one over the same files; the in-process peers run "
                + "in the benchmark's JVM after the CPU-alone runs of the same operation\n");
        md.append(o.runs > 1 ? "- on this virtual machine repeated runs of the same cell differ by up to 15%\n"
                : "- one run per cell: on this virtual machine repeated runs of the same cell differ by up to 15%\n");
        if (coldRefused != null) {
            md.append("- **").append(coldRefused).append("**\n");
        }
        md.append("\n## The two limits, measured on the same files\n\n");
        md.append("| limit | seconds | MiB/s |\n|---|---:|---:|\n");
        for (var e : io.entrySet()) {
            md.append(String.format(Locale.ROOT, "| I/O alone, %s: ringbatch's io_uring engine reading every file, no work | %.2f | %.0f |%n",
                    e.getKey(), e.getValue().seconds(), set.bytes() / MiB / e.getValue().seconds()));
        }
        for (var e : cpu.entrySet()) {
            Work w = work(e.getKey(), o, cores);
            md.append(String.format(Locale.ROOT, "| CPU alone, %s: the operation over cached blocks, all cores; total ÷ %d cores | %.2f | %.0f |%n",
                    w.label(), cores, e.getValue().busySeconds() / cores, set.bytes() / MiB / (e.getValue().busySeconds() / cores)));
        }
        md.append("\n## Runs\n\n");
        md.append("Ratio: the best other peer's time ÷ this row's (above 1: faster than every other peer). "
                + "Overlap efficiency: max(I/O alone, CPU alone ÷ cores) ÷ wall time (1.00: as fast as the slower limit allows). "
                + "CPU: process CPU time ÷ (wall × cores).\n\n");
        md.append("| operation | cache | peer | wall s | MiB/s | ratio to best other | overlap efficiency | CPU | workers waited s | output check |\n");
        md.append("|---|---|---|---:|---:|---:|---:|---:|---:|---|\n");
        for (Row r : rows) {
            Work w = work(r.op(), o, cores);
            String peer = r.peer().equals("gnu") && w.gnuLabel() != null ? "GNU " + w.gnuLabel() : LABELS.get(r.peer());
            if (r.m() == null) {
                md.append("| ").append(w.label()).append(" | ").append(r.mode()).append(" | ").append(peer)
                        .append(" | | | | | | | ").append(r.check()).append(" |\n");
                continue;
            }
            double best = rows.stream().filter(x -> x.op().equals(r.op()) && x.mode().equals(r.mode()) && x != r && x.m() != null)
                    .mapToDouble(x -> x.m().seconds()).min().orElse(Double.NaN);
            double ioS = io.containsKey(r.mode()) ? io.get(r.mode()).seconds() : Double.NaN;
            double cpuS = cpu.containsKey(r.op()) ? cpu.get(r.op()).busySeconds() / cores : 0;
            double limit = Math.max(ioS, cpuS);
            md.append(String.format(Locale.ROOT, "| %s | %s | %s | %.2f | %.0f | %s | %.2f | %s | %s | %s |%n", w.label(), r.mode(), peer,
                    r.m().seconds(), set.bytes() / MiB / r.m().seconds(), Double.isNaN(best) ? "" : String.format(Locale.ROOT, "%.2f", best / r.m().seconds()),
                    limit / r.m().seconds(), Double.isNaN(r.m().cpuSeconds()) ? "" : String.format(Locale.ROOT, "%.0f%%",
                            100 * r.m().cpuSeconds() / (r.m().seconds() * cores)),
                    Double.isNaN(r.m().waitSeconds()) ? "" : String.format(Locale.ROOT, "%.2f", r.m().waitSeconds()), r.check()));
        }
        md.append("\n## Targets\n\n");
        md.append("| target | measured | met |\n|---|---|---|\n");
        for (Row r : rows) {
            if (!r.peer().equals("ringbatch") || r.m() == null) {
                continue;
            }
            Work w = work(r.op(), o, cores);
            double rb = r.m().seconds();
            if (r.op().equals("noop")) {
                Measured raw = io.get(r.mode());
                if (raw != null) {
                    double x = rb / raw.seconds();
                    md.append(String.format(Locale.ROOT, "| no-op job within 10%% of the engine's raw read, %s | job %.2f s ÷ engine %.2f s = %.2f | %s |%n",
                            r.mode(), rb, raw.seconds(), x, x <= 1.10 ? "yes" : "**no**"));
                }
                continue;
            }
            for (Row p : rows) {
                if (!p.op().equals(r.op()) || !p.mode().equals(r.mode()) || p.m() == null) {
                    continue;
                }
                double ratio = p.m().seconds() / rb;
                if (p.peer().equals("spring-batch")) {
                    md.append(String.format(Locale.ROOT, "| ≥ 2× stock Spring Batch, %s %s | %.2f× | %s |%n", w.label(), r.mode(), ratio,
                            ratio >= 2 ? "yes" : "**no**"));
                } else if (p.peer().equals("gnu")) {
                    double need = r.op().equals("sha256") && r.mode().equals("cold") ? 1.5 : 1.0;
                    md.append(String.format(Locale.ROOT, "| ≥ %.1f× the GNU tool, %s %s | %.2f× | %s |%n", need, w.label(), r.mode(), ratio,
                            ratio >= need ? "yes" : "**no**"));
                }
            }
            if ((r.op().equals("sha256") || r.op().equals("grep")) && r.mode().equals("cold") && io.containsKey("cold")) {
                double limit = Math.max(io.get("cold").seconds(), cpu.get(r.op()).busySeconds() / cores);
                md.append(String.format(Locale.ROOT, "| overlap efficiency ≥ 0.9, %s cold | %.2f | %s |%n", w.label(), limit / rb,
                        limit / rb >= 0.9 ? "yes" : "**no**"));
            }
        }
        md.append(String.format(Locale.ROOT, "| the whole run with `-Xmx%s` | peak resident memory %s | %s |%n", o.heap,
                rss < 0 ? "not measured" : (rss >> 10) + " MiB", rss < 0 ? "" : "yes"));
        return md.toString();
    }

    static String field(String json, String name) {
        int i = json.indexOf("\"" + name + "\":\"");
        int s = i + name.length() + 4;
        return json.substring(s, json.indexOf('"', s));
    }

    static String number(String json, String name) {
        int i = json.indexOf("\"" + name + "\":");
        int s = i + name.length() + 3;
        int e = s;
        while (e < json.length() && "0123456789.-E".indexOf(json.charAt(e)) >= 0) {
            e++;
        }
        return json.substring(s, e);
    }

    static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) {
            return;
        }
        try (var s = Files.walk(p)) {
            for (Path q : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(q);
            }
        }
    }
}
