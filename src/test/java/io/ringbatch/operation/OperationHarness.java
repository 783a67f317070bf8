package io.ringbatch.operation;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ringbatch.io.FileNames;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.ObjectInputStream;
import java.io.ObjectOutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;

/**
 * Plays the batch pipeline for one operation, in a test: cuts the input files into pieces (whole files,
 * or for splittable operations byte ranges at arbitrary offsets, a range owning the lines that start in
 * it), feeds each piece's bytes to a processor in randomly sized chunks (whole lines for
 * {@link Operation.Split#LINES}) in buffers of every kind (heap, direct, sliced, read-only, with bytes
 * before and after the chunk, overwritten after each call), simulates crashes and restarts (from a
 * checkpoint for resumable operations, from the piece's start otherwise), keeps records and outputs,
 * and runs the merge twice into a staging directory (the second run must give the same files).
 */
final class OperationHarness {
    private final Operation operation;
    private final Random random;
    /** Files at least this long are always cut (splittable operations only). */
    long alwaysSplitAt = 1 << 20;
    /** Chance that a smaller file is cut too. */
    double smallSplitChance = 0.3;
    /** Chance that a piece with at least three chunks crashes and restarts. */
    double restartChance = 0.3;
    /** Pieces the pipeline skips (an unreadable or changed file with skipUnreadable): no records, no output. */
    java.util.function.Predicate<Operation.Piece> skip = p -> false;
    /** Cut points to use for a path instead of random ones. */
    final Map<String, long[]> cuts = new HashMap<>();

    /** What happened, for assertions about the run itself. */
    int restarts;
    List<Operation.Piece> pieces;
    /** The paths the operation refused. */
    List<String> refused;
    private Path root;

    OperationHarness(Operation operation, long seed) {
        this.operation = operation;
        this.random = new Random(seed);
    }

    /**
     * Runs the operation over {@code paths} (byte strings, relative to {@code root}) and returns the
     * staging directory. A file the operation refuses ({@link Operation#refusal}) is left out, as the
     * pipeline does; {@link #refused} lists them.
     */
    Path run(Map<String, Object> rawParams, Path root, List<String> paths, Path work) throws IOException {
        Map<String, String> params = operation.validate(rawParams);
        List<String> sorted = sortByBytes(paths);
        this.root = root;
        pieces = plan(root, sorted);
        Path pieceDir = Files.createDirectories(work.resolve("pieces"));
        List<List<byte[]>> records = new ArrayList<>();
        refused = new ArrayList<>();
        for (Operation.Piece piece : pieces) {
            String refusal = operation.refusal(params, piece.path(), sorted);
            if (refusal != null && !refused.contains(piece.path())) {
                refused.add(piece.path());
            }
            records.add(skip.test(piece) || refusal != null ? new ArrayList<>() : processPiece(params, piece, pieceDir));
        }
        Path staging = work.resolve("staging");
        Files.createDirectories(staging);
        Merge merge = new Merge(pieces, records, pieceDir, staging);
        operation.merge(params, merge);
        Map<String, byte[]> first = snapshot(staging);
        operation.merge(params, new Merge(pieces, records, pieceDir, staging));
        Map<String, byte[]> second = snapshot(staging);
        assertEquals(first.keySet(), second.keySet(), "a second merge gives other files");
        for (String name : first.keySet()) {
            assertTrue(Arrays.equals(first.get(name), second.get(name)), "a second merge changes " + name);
        }
        return staging;
    }

    /** Byte strings (see FileNames) in byte order, as the planner sorts them. */
    static List<String> sortByBytes(List<String> paths) {
        List<String> sorted = new ArrayList<>(paths);
        sorted.sort(FileNames.ORDER);
        return sorted;
    }

    private List<Operation.Piece> plan(Path root, List<String> paths) throws IOException {
        List<Operation.Piece> result = new ArrayList<>();
        for (int f = 0; f < paths.size(); f++) {
            String path = paths.get(f);
            long size = ByteFiles.read(root, path).length;
            long[] points = cutPoints(path, size);
            long start = 0;
            for (long end : points) {
                result.add(new Operation.Piece(result.size(), f, path, null, start, end, size));
                start = end;
            }
            result.add(new Operation.Piece(result.size(), f, path, null, start, size, size));
        }
        return result;
    }

    private long[] cutPoints(String path, long size) {
        if (operation.split() == Operation.Split.WHOLE || size < 2) {
            return new long[0];
        }
        if (cuts.containsKey(path)) {
            return cuts.get(path);
        }
        int n;
        if (size >= alwaysSplitAt) {
            n = 1 + (int) (size / (1 << 20)) + random.nextInt(3);
        } else if (random.nextDouble() < smallSplitChance) {
            n = 1 + random.nextInt(3);
        } else {
            return new long[0];
        }
        return random.longs(n, 1, size).distinct().sorted().toArray();
    }

    /** The bytes a piece owns: exactly its range, or for LINES the lines that start inside it. */
    static long[] ownedSpan(Operation.Split split, byte[] file, long start, long end) {
        if (split != Operation.Split.LINES) {
            return new long[] {start, end};
        }
        return new long[] {lineStartAtOrAfter(file, start), lineStartAtOrAfter(file, end)};
    }

    private static long lineStartAtOrAfter(byte[] file, long offset) {
        if (offset == 0 || offset >= file.length) {
            return Math.min(offset, file.length);
        }
        for (long i = offset - 1; i < file.length; i++) {
            if (file[(int) i] == '\n') {
                return i + 1;
            }
        }
        return file.length;
    }

    private List<byte[]> processPiece(Map<String, String> params, Operation.Piece piece, Path pieceDir)
            throws IOException {
        byte[] file = ByteFiles.read(root, piece.path());
        long[] span = ownedSpan(operation.split(), file, piece.start(), piece.end());
        byte[] bytes = Arrays.copyOfRange(file, (int) span[0], (int) span[1]);
        List<int[]> chunks = chunks(bytes);
        Sink sink = new Sink(pieceDir.resolve(piece.index() + ".out"));
        PieceProcessor processor = operation.open(params, piece, null);
        boolean restart = chunks.size() >= 3 && random.nextDouble() < restartChance;
        if (restart) {
            restarts++;
            int crashAfter = 1 + random.nextInt(chunks.size() - 1);
            if (operation.resumableMidPiece()) {
                // commit after `commit` chunks, keep going, crash, go back to the commit
                int commit = 1 + random.nextInt(crashAfter);
                Serializable checkpoint = null;
                int recordsAtCommit = 0;
                long outputAtCommit = 0;
                for (int c = 0; c < crashAfter; c++) {
                    feed(processor, bytes, chunks.get(c), sink);
                    if (c + 1 == commit) {
                        checkpoint = processor.checkpoint();
                        recordsAtCommit = sink.records.size();
                        outputAtCommit = sink.outputSize();
                    }
                }
                sink.truncate(recordsAtCommit, outputAtCommit);
                processor = operation.open(params, piece, roundTrip(checkpoint));
                for (int c = commit; c < chunks.size(); c++) {
                    feed(processor, bytes, chunks.get(c), sink);
                }
            } else {
                for (int c = 0; c < crashAfter; c++) {
                    feed(processor, bytes, chunks.get(c), sink);
                }
                sink.truncate(0, 0);
                processor = operation.open(params, piece, null);
                for (int[] chunk : chunks) {
                    feed(processor, bytes, chunk, sink);
                }
            }
        } else {
            for (int[] chunk : chunks) {
                feed(processor, bytes, chunk, sink);
            }
        }
        processor.finish(sink);
        return sink.records;
    }

    static Serializable roundTrip(Serializable state) throws IOException {
        if (state == null) {
            return null;
        }
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ObjectOutputStream out = new ObjectOutputStream(bytes)) {
            out.writeObject(state);
        }
        try (ObjectInputStream in = new ObjectInputStream(new ByteArrayInputStream(bytes.toByteArray()))) {
            return (Serializable) in.readObject();
        } catch (ClassNotFoundException e) {
            throw new IOException(e);
        }
    }

    /** Chunk boundaries [from, to): random sizes; for LINES only at line ends. */
    private List<int[]> chunks(byte[] bytes) {
        List<int[]> chunks = new ArrayList<>();
        int p = 0;
        while (p < bytes.length) {
            if (random.nextInt(20) == 0) {
                chunks.add(new int[] {p, p});
            }
            int size = switch (random.nextInt(10)) {
                case 0, 1, 2 -> 1 + random.nextInt(16);
                case 3, 4, 5, 6 -> 1 + random.nextInt(1 << 16);
                default -> (1 << 16) + random.nextInt(3 << 19);
            };
            int end = (int) Math.min(bytes.length, (long) p + size);
            if (operation.split() == Operation.Split.LINES && end < bytes.length) {
                int nl = end - 1;
                while (nl < bytes.length && bytes[nl] != '\n') {
                    nl++;
                }
                end = nl >= bytes.length ? bytes.length : nl + 1;
            }
            chunks.add(new int[] {p, end});
            p = end;
        }
        return chunks;
    }

    /** One process() call over a chunk in a randomly chosen kind of buffer, which is wiped afterwards. */
    private void feed(PieceProcessor processor, byte[] bytes, int[] chunk, Sink sink) throws IOException {
        int n = chunk[1] - chunk[0];
        int before = random.nextInt(8) == 0 ? 0 : random.nextInt(17);
        int after = random.nextInt(17);
        boolean direct = random.nextBoolean();
        ByteBuffer backing = direct ? ByteBuffer.allocateDirect(before + n + after) : ByteBuffer.allocate(before + n + after);
        for (int i = 0; i < before; i++) {
            backing.put((byte) '\n');
        }
        backing.put(bytes, chunk[0], n);
        for (int i = 0; i < after; i++) {
            backing.put((byte) '\n');
        }
        backing.limit(before + n).position(before);
        ByteBuffer data = switch (random.nextInt(3)) {
            case 0 -> backing;
            case 1 -> backing.slice();
            default -> backing.asReadOnlyBuffer();
        };
        processor.process(data, sink);
        // a processor must keep nothing that points into the buffer
        backing.clear();
        while (backing.hasRemaining()) {
            backing.put((byte) 0x5a);
        }
    }

    /** The regular files under {@code dir}: byte strings of their paths (see FileNames), their bytes. */
    static Map<String, byte[]> snapshot(Path dir) throws IOException {
        Map<String, byte[]> files = new TreeMap<>(FileNames.ORDER);
        for (String name : ByteFiles.list(dir)) {
            files.put(name, ByteFiles.read(dir, name));
        }
        return files;
    }

    /** Keeps a piece's records in memory and its output in its file, as the pipeline's writer does. */
    private static final class Sink implements FragmentSink {
        final List<byte[]> records = new ArrayList<>();
        private final Path output;

        Sink(Path output) {
            this.output = output;
        }

        @Override
        public void record(ByteBuffer bytes) {
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            records.add(copy);
        }

        @Override
        public void output(ByteBuffer bytes) throws IOException {
            try (FileChannel ch = FileChannel.open(output, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                    StandardOpenOption.APPEND)) {
                while (bytes.hasRemaining()) {
                    ch.write(bytes);
                }
            }
        }

        long outputSize() throws IOException {
            return Files.exists(output) ? Files.size(output) : 0;
        }

        void truncate(int recordCount, long outputSize) throws IOException {
            records.subList(recordCount, records.size()).clear();
            if (Files.exists(output)) {
                try (FileChannel ch = FileChannel.open(output, StandardOpenOption.WRITE)) {
                    ch.truncate(outputSize);
                }
            }
        }
    }

    private final class Merge implements MergeInput {
        private final List<Operation.Piece> pieces;
        private final List<List<byte[]>> records;
        private final Path pieceDir;
        private final Path staging;

        Merge(List<Operation.Piece> pieces, List<List<byte[]>> records, Path pieceDir, Path staging) {
            this.pieces = pieces;
            this.records = records;
            this.pieceDir = pieceDir;
            this.staging = staging;
        }

        @Override
        public List<Operation.Piece> pieces() {
            return pieces;
        }

        @Override
        public void forEachRecord(RecordVisitor visitor) throws IOException {
            for (Operation.Piece piece : pieces) {
                for (byte[] record : records.get(piece.index())) {
                    ByteBuffer b = switch (random.nextInt(3)) {
                        case 0 -> ByteBuffer.wrap(record.clone());
                        case 1 -> ByteBuffer.wrap(record.clone()).asReadOnlyBuffer();
                        default -> ByteBuffer.allocateDirect(record.length).put(record).flip();
                    };
                    visitor.record(piece, b);
                }
            }
        }

        @Override
        public Path pieceOutput(int pieceIndex) {
            return pieceDir.resolve(pieceIndex + ".out");
        }

        @Override
        public Path staging() {
            return staging;
        }
    }
}
