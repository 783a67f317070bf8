package io.ringbatch.batch;

import io.ringbatch.io.IoEngine;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamException;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/**
 * One partition of the process step: the reader, processor and writer of its chunk-oriented worker
 * step, sharing one state that is saved in the step's ExecutionContext at every commit.
 * <p>
 * What a commit saves, and what a restart does with it:
 * <ul>
 * <li>the piece in progress and, for operations that can resume inside a piece, the offset of the next
 * line to read and the operation's checkpoint; otherwise the piece starts again from its beginning;</li>
 * <li>the length of the partition's record file and of the piece's output file as of that state: a
 * restart truncates both back to it, so what a crash half-wrote after the commit is dropped;</li>
 * <li>bytes and files done, and the time spent waiting for blocks and processing them.</li>
 * </ul>
 * Files are forced to disk before the step's transaction commits the lengths that count them.
 * <p>
 * A stop of the job is seen by Spring Batch at the next commit; an operation whose block takes long
 * (grep with a costly regex) also sees it between lines through {@link FragmentSink#stopRequested()}
 * and abandons the block: the chunk rolls back, the step ends STOPPED, and a restart resumes at the
 * last commit.
 * <p>
 * An input file with more than one hard link is refused (skipped with {@code skipUnreadable}) unless
 * the job runs with hard links allowed ({@link Planner#hardLinksAllowed}): its other name may lie
 * outside the input root. The planner refuses it first; this checks again when the file is opened.
 */
public class PartitionWork implements ItemStreamReader<BlockItem> {
    static final String PIECE = "rb.piece";
    static final String OFFSET = "rb.offset";
    static final String CHECKPOINT = "rb.checkpoint";
    static final String RECORDS = "rb.records";
    static final String OUTPUT = "rb.output";
    static final String BYTES_DONE = "rb.bytesDone";
    static final String FILES_DONE = "rb.filesDone";
    static final String WAIT = "rb.waitNanos";
    static final String BUSY = "rb.busyNanos";
    static final String BYTES_TOTAL = "rb.bytesTotal";
    static final String FILES = "rb.files";
    static final String SKIPPED = "rb.skipped";

    private final JobFiles files;
    private final Plan plan;
    private final JobDefinition job;
    private final Operation operation;
    private final IoEngine engine;
    private final int held;
    private final int partition;
    private final int firstPiece;
    private final int endPiece;

    private int pieceIndex;
    private long resumeOffset = -1;
    private Serializable resumeCheckpoint;
    private PieceCursor cursor;

    private PieceProcessor processor;
    private int processorPiece = -1;

    private FileChannel records;
    private long recordsSize;
    private long recordsAtPieceStart;
    private FileChannel output;
    private int outputPiece = -1;
    /**
     * Written since the last force: a commit forces only what changed. Forcing a clean file still costs
     * a device cache flush, which waits behind every read in the disk's queue (10-40 ms during a cold
     * read), and most commits of checksum-like jobs have written nothing.
     */
    private boolean recordsDirty;
    private boolean outputDirty;

    private long bytesDone;
    private long filesDone;
    private long waitNanos;
    private long busyNanos;
    private ArrayList<String> skipped = new ArrayList<>();

    /** Set when the job is asked to stop; taken at {@link #open} (a step execution's start). */
    private AtomicBoolean stopSignal = new AtomicBoolean();
    private boolean allowHardLinks;

    public PartitionWork(JobFiles files, Plan plan, JobDefinition job, Operation operation, IoEngine engine,
                         int chunkSize, int partition) {
        this.files = files;
        this.plan = plan;
        this.job = job;
        this.operation = operation;
        this.engine = engine;
        this.held = chunkSize + 1;
        this.partition = partition;
        Plan.PartitionEntry p = plan.partitions().get(partition);
        this.firstPiece = p.firstPiece();
        this.endPiece = p.endPiece();
    }

    // ---- ItemStream -------------------------------------------------------------------------------

    @Override
    public void open(ExecutionContext ctx) throws ItemStreamException {
        stopSignal = StopSignals.of(files.dir());
        allowHardLinks = Planner.hardLinksAllowed(files);
        pieceIndex = ctx.containsKey(PIECE) ? ctx.getInt(PIECE) : firstPiece;
        resumeOffset = ctx.containsKey(OFFSET) ? ctx.getLong(OFFSET) : -1;
        resumeCheckpoint = (Serializable) ctx.get(CHECKPOINT);
        recordsSize = ctx.containsKey(RECORDS) ? ctx.getLong(RECORDS) : 0;
        long outputSize = ctx.containsKey(OUTPUT) ? ctx.getLong(OUTPUT) : 0;
        bytesDone = ctx.containsKey(BYTES_DONE) ? ctx.getLong(BYTES_DONE) : 0;
        filesDone = ctx.containsKey(FILES_DONE) ? ctx.getLong(FILES_DONE) : 0;
        waitNanos = ctx.containsKey(WAIT) ? ctx.getLong(WAIT) : 0;
        busyNanos = ctx.containsKey(BUSY) ? ctx.getLong(BUSY) : 0;
        @SuppressWarnings("unchecked")
        ArrayList<String> s = (ArrayList<String>) ctx.get(SKIPPED);
        skipped = s == null ? new ArrayList<>() : new ArrayList<>(s);
        recordsAtPieceStart = recordsSize;
        try {
            Path rec = files.records(partition);
            Files.createDirectories(rec.getParent());
            records = FileChannel.open(rec, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
            records.truncate(recordsSize);
            records.position(recordsSize);
            recordsDirty = true; // the truncation, if any, is forced at the first commit
            if (pieceIndex < endPiece) {
                Path out = files.pieceOutput(pieceIndex);
                if (resumeOffset >= 0) {
                    if (Files.exists(out)) {
                        try (FileChannel ch = FileChannel.open(out, StandardOpenOption.WRITE)) {
                            ch.truncate(outputSize);
                        }
                    }
                } else {
                    Files.deleteIfExists(out);
                }
            }
        } catch (IOException e) {
            throw new ItemStreamException("cannot open the work files of partition " + partition + ": "
                    + e.getMessage(), e);
        }
        long total = 0;
        int fileCount = 0;
        for (int i = firstPiece; i < endPiece; i++) {
            Plan.PieceEntry p = plan.pieces().get(i);
            total += p.end() - p.start();
            if (plan.lastOfFile(i)) {
                fileCount++;
            }
        }
        ctx.putLong(BYTES_TOTAL, total);
        ctx.putInt(FILES, fileCount);
    }

    @Override
    public void update(ExecutionContext ctx) throws ItemStreamException {
        try {
            if (recordsDirty) {
                records.force(false);
                recordsDirty = false;
            }
            if (output != null && outputDirty) {
                output.force(false);
                outputDirty = false;
            }
            boolean midPiece = cursor != null && !cursor.finished();
            if (midPiece && operation.resumableMidPiece()) {
                ctx.putInt(PIECE, pieceIndex);
                ctx.putLong(OFFSET, cursor.consumed());
                Serializable cp = processor == null ? null : processor.checkpoint();
                if (cp != null) {
                    ctx.put(CHECKPOINT, cp);
                } else {
                    ctx.remove(CHECKPOINT);
                }
                ctx.putLong(RECORDS, recordsSize);
                ctx.putLong(OUTPUT, output == null ? 0 : output.size());
            } else if (midPiece) {
                ctx.putInt(PIECE, pieceIndex);
                ctx.putLong(OFFSET, -1);
                ctx.remove(CHECKPOINT);
                ctx.putLong(RECORDS, recordsAtPieceStart);
                ctx.putLong(OUTPUT, 0);
            } else {
                ctx.putInt(PIECE, cursor != null ? pieceIndex + 1 : pieceIndex);
                ctx.putLong(OFFSET, -1);
                ctx.remove(CHECKPOINT);
                ctx.putLong(RECORDS, recordsSize);
                ctx.putLong(OUTPUT, 0);
            }
            ctx.putLong(BYTES_DONE, bytesDone);
            ctx.putLong(FILES_DONE, filesDone);
            ctx.putLong(WAIT, waitNanos + (cursor == null ? 0 : cursor.totalWaitNanos()));
            ctx.putLong(BUSY, busyNanos);
            ctx.put(SKIPPED, new ArrayList<>(skipped));
        } catch (IOException e) {
            throw new ItemStreamException("cannot save the work of partition " + partition + ": " + e.getMessage(), e);
        }
    }

    @Override
    public void close() throws ItemStreamException {
        if (cursor != null) {
            cursor.close();
            cursor = null;
        }
        closeQuietly(records);
        closeQuietly(output);
        records = null;
        output = null;
        outputPiece = -1;
        processor = null;
    }

    // ---- reading ----------------------------------------------------------------------------------

    @Override
    public BlockItem read() throws Exception {
        while (pieceIndex < endPiece) {
            if (cursor == null) {
                Operation.Piece piece = plan.piece(pieceIndex);
                String problem = changed(piece);
                if (problem != null) {
                    if (!job.skipUnreadable()) {
                        throw new IOException(problem);
                    }
                    skipped.add(piece.path() + ": " + problem);
                    pieceIndex++;
                    resumeOffset = -1;
                    continue;
                }
                long at = operation.resumableMidPiece() ? resumeOffset : -1;
                try {
                    cursor = new PieceCursor(engine, piece, operation.split(), at, held);
                } catch (IOException e) {
                    if (!job.skipUnreadable()) {
                        throw e;
                    }
                    skipped.add(piece.path() + ": " + e.getMessage());
                    pieceIndex++;
                    resumeOffset = -1;
                    continue;
                }
            }
            BlockItem item = cursor.next();
            if (item != null) {
                return item;
            }
            waitNanos += cursor.totalWaitNanos();
            cursor.close();
            cursor = null;
            pieceIndex++;
            resumeOffset = -1;
        }
        return null;
    }

    /**
     * Why the file no longer matches the plan, or may not be read (more than one hard link, unless
     * allowed), or null when it still matches and may be read.
     */
    private String changed(Operation.Piece piece) {
        Plan.FileEntry f = plan.files().get(piece.fileIndex());
        BasicFileAttributes now;
        try {
            now = Files.readAttributes(piece.absolutePath(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (IOException e) {
            return "input file " + piece.path() + " cannot be read any more: " + e;
        }
        if (!now.isRegularFile()) {
            return "input file " + piece.path() + " is no longer a regular file";
        }
        if (!allowHardLinks) {
            String refused = Planner.hardLinkRefusal(piece.absolutePath(), piece.path());
            if (refused != null) {
                return refused;
            }
        }
        if (now.size() != f.size() || now.lastModifiedTime().toMillis() != f.mtimeMillis()) {
            return "input file " + piece.path() + " changed while the job ran (size " + f.size() + " -> " + now.size()
                    + ", modified " + f.mtimeMillis() + " -> " + now.lastModifiedTime().toMillis() + ")";
        }
        return null;
    }

    // ---- processing -------------------------------------------------------------------------------

    public ItemResult process(BlockItem item) throws Exception {
        Sink sink = new Sink(stopSignal);
        long t0 = System.nanoTime();
        try {
            if (item.first || processorPiece != item.piece) {
                Serializable resume = resumeCheckpoint;
                resumeCheckpoint = null;
                processor = operation.open(job.params(), plan.piece(item.piece), resume);
                processorPiece = item.piece;
            }
            if (item.head != null) {
                processor.process(item.head.duplicate(), sink);
            }
            if (item.body != null) {
                processor.process(item.body.duplicate(), sink);
            }
            if (item.last) {
                processor.finish(sink);
            }
        } catch (FragmentSink.Stopped e) {
            // the processor is half-way through the block: it must not see another one. Spring Batch rolls
            // the chunk back (nothing of it was written, the context keeps the last commit) and ends the
            // step STOPPED, as for a stop seen at a commit
            processor = null;
            processorPiece = -1;
            throw new JobInterruptedException("job " + job.jobId() + " stopped while partition " + partition
                    + " processed " + plan.piece(item.piece).path() + "; it resumes at its last commit");
        } finally {
            item.release();
            busyNanos += System.nanoTime() - t0;
        }
        return new ItemResult(item.piece, item.first, item.last, item.bytes, sink.records, sink.outputs);
    }

    private static final class Sink implements FragmentSink {
        final List<byte[]> records = new ArrayList<>(2);
        final List<byte[]> outputs = new ArrayList<>(2);
        private final AtomicBoolean stop;

        Sink(AtomicBoolean stop) {
            this.stop = stop;
        }

        @Override
        public boolean stopRequested() {
            return stop.get();
        }

        @Override
        public void record(ByteBuffer bytes) {
            byte[] copy = new byte[bytes.remaining()];
            bytes.get(copy);
            records.add(copy);
        }

        @Override
        public void output(ByteBuffer bytes) {
            if (bytes.hasRemaining()) {
                byte[] copy = new byte[bytes.remaining()];
                bytes.get(copy);
                outputs.add(copy);
            }
        }
    }

    // ---- writing ----------------------------------------------------------------------------------

    public void write(Chunk<? extends ItemResult> chunk) throws Exception {
        for (ItemResult r : chunk) {
            if (r.first()) {
                recordsAtPieceStart = recordsSize;
            }
            for (byte[] rec : r.records()) {
                ByteBuffer frame = ByteBuffer.allocate(8 + rec.length);
                frame.putInt(r.piece()).putInt(rec.length).put(rec).flip();
                while (frame.hasRemaining()) {
                    records.write(frame);
                }
                recordsSize += 8 + rec.length;
                recordsDirty = true;
            }
            if (!r.outputs().isEmpty()) {
                if (outputPiece != r.piece()) {
                    closeOutput();
                    Path out = files.pieceOutput(r.piece());
                    Files.createDirectories(out.getParent());
                    output = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                    output.position(output.size());
                    outputPiece = r.piece();
                    outputDirty = true;
                }
                for (byte[] o : r.outputs()) {
                    ByteBuffer b = ByteBuffer.wrap(o);
                    while (b.hasRemaining()) {
                        output.write(b);
                    }
                    outputDirty = true;
                }
            }
            bytesDone += r.bytes();
            if (r.last()) {
                if (outputPiece == r.piece()) {
                    closeOutput();
                }
                if (plan.lastOfFile(r.piece())) {
                    filesDone++;
                }
            }
        }
    }

    private void closeOutput() throws IOException {
        if (output != null) {
            if (outputDirty) {
                output.force(false);
                outputDirty = false;
            }
            output.close();
            output = null;
            outputPiece = -1;
        }
    }

    /**
     * Per job (by its work dir, so that services sharing a JVM in tests stay apart): whether this process
     * was asked to stop it. {@link BatchJobRunner} raises it with the stop it hands to Spring Batch and
     * resets it before each start and restart; the partitions take it when they open and their sinks
     * read it between lines.
     */
    static final class StopSignals {
        private static final ConcurrentHashMap<Path, AtomicBoolean> SIGNALS = new ConcurrentHashMap<>();

        private StopSignals() {
        }

        static AtomicBoolean of(Path jobDir) {
            return SIGNALS.computeIfAbsent(jobDir.toAbsolutePath().normalize(), k -> new AtomicBoolean());
        }

        static void raise(Path jobDir) {
            of(jobDir).set(true);
        }

        /** Before an execution starts (a fresh signal), and when it has ended (nothing kept). */
        static void reset(Path jobDir) {
            SIGNALS.remove(jobDir.toAbsolutePath().normalize());
        }
    }

    private static void closeQuietly(FileChannel ch) {
        if (ch != null) {
            try {
                ch.close();
            } catch (IOException ignored) {
                // nothing was pending: every write was forced at the last commit
            }
        }
    }
}
