package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.InputFile;
import io.ringbatch.io.IoEngine;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.AbstractList;
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
 * One partition of the process step: the reader and writer of its chunk-oriented worker step, sharing
 * one state that is saved in the step's ExecutionContext at every commit. The reader hands out blocks
 * already processed by the operation (see {@link #read()} for why the processing is not a separate
 * ItemProcessor); the writer counts them into the progress the commit saves.
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
 * <p>
 * Input is reached by descriptor only: the root is opened again at each {@link #open} and must still lie
 * under {@code ringbatch.input-roots} ({@link InputRoots}); each file is opened beneath it following no
 * link, and what was opened is checked against the plan (inode, size, modification time, and the device
 * on the instance that planned), so a file or directory swapped since planning is failed as changed.
 */
public class PartitionWork implements ItemStreamReader<ItemResult> {
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

    /** Blocks a partition holds at once: the one being processed, and one the cursor may keep beside it. */
    private static final int HELD = 2;

    private final JobFiles files;
    private final Plan plan;
    private final JobDefinition job;
    private final Operation operation;
    private final IoEngine engine;
    private final int partition;
    private final int firstPiece;
    private final int endPiece;
    private final InputRoots inputRoots;
    private final String instanceId;
    /** The input root, opened by descriptor at each open (start, restart, resume) and checked again. */
    private Dir root;

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
    /** The piece this step execution started in: its output file is kept to the last commit's length. */
    private int openedPiece = -1;
    private final Sink sink = new Sink();
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

    /** The plan's paths in byte order, a view without a copy: what {@link Operation#refusal} looks in. */
    private final List<String> planPaths;

    public PartitionWork(JobFiles files, Plan plan, JobDefinition job, Operation operation, IoEngine engine,
                         int partition, InputRoots inputRoots, String instanceId) {
        this.inputRoots = inputRoots;
        this.instanceId = instanceId;
        this.files = files;
        this.plan = plan;
        this.job = job;
        this.operation = operation;
        this.engine = engine;
        this.partition = partition;
        Plan.PartitionEntry p = plan.partitions().get(partition);
        this.firstPiece = p.firstPiece();
        this.endPiece = p.endPiece();
        this.planPaths = new AbstractList<>() {
            @Override
            public String get(int index) {
                return plan.files().get(index).path();
            }

            @Override
            public int size() {
                return plan.files().size();
            }
        };
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
        openedPiece = pieceIndex;
        try {
            root = inputRoots.open(job.inputRoot());
        } catch (IOException e) {
            throw new ItemStreamException(e.getMessage(), e);
        }
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
        if (root != null) {
            root.close();
            root = null;
        }
        closeQuietly(records);
        closeQuietly(output);
        records = null;
        output = null;
        outputPiece = -1;
        processor = null;
    }

    // ---- reading ----------------------------------------------------------------------------------

    /**
     * The next block of the partition, already processed: each block goes through the operation as soon
     * as it is taken from the prefetch queue and goes back to the pool at once, while the engine reads
     * the next ones.
     * <p>
     * Spring Batch 6's chunk-oriented step reads a whole chunk before it processes any of it, so with a
     * separate processor the blocks of a chunk would wait in memory while the ring fills only its
     * read-ahead window, and the reads of the next chunk would wait for its processing: the I/O of
     * each chunk overlapped the work only as far as the read-ahead reached. Processing in the read
     * keeps the ring busy across the whole chunk, and holds one block instead of a chunk of them, so
     * that a chunk (and a commit) can span more blocks at no memory cost.
     */
    @Override
    public ItemResult read() throws Exception {
        BlockItem block = nextBlock();
        return block == null ? null : process(block);
    }

    private BlockItem nextBlock() throws Exception {
        while (pieceIndex < endPiece) {
            if (cursor == null) {
                Operation.Piece piece = plan.piece(pieceIndex, root);
                String refused = operation.refusal(job.params(), piece.path(), planPaths);
                if (refused != null) {
                    // not an error of the input: whatever skipUnreadable says, the file is left out and listed
                    String entry = piece.path() + ": " + refused;
                    if (!skipped.contains(entry)) {
                        skipped.add(entry);
                    }
                    pieceIndex++;
                    resumeOffset = -1;
                    continue;
                }
                long at = operation.resumableMidPiece() ? resumeOffset : -1;
                // opened beneath the root, no link followed, and checked on the opened descriptor against the
                // plan: a file swapped, changed or linked since it was planned fails here, not after a read
                InputFile input = InputFile.beneath(root, piece.path(),
                        plan.expected(piece.fileIndex(), instanceId, !allowHardLinks));
                try {
                    cursor = new PieceCursor(engine, piece, input, operation.split(), at, HELD);
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

    // ---- processing -------------------------------------------------------------------------------

    /**
     * Runs the operation over one block; what it produces goes straight to the partition's record file
     * and to the piece's output file, past the lengths of the last commit. The chunk's commit forces
     * them and saves their new lengths; a restart truncates both back to the lengths it finds saved, so
     * what was written after the last commit (a stop, a failure, a crash) is dropped.
     */
    private ItemResult process(BlockItem item) throws Exception {
        long t0 = System.nanoTime();
        try {
            if (item.first || processorPiece != item.piece) {
                Serializable resume = resumeCheckpoint;
                resumeCheckpoint = null;
                processor = operation.open(job.params(), plan.piece(item.piece, root), resume);
                processorPiece = item.piece;
            }
            if (item.first) {
                recordsAtPieceStart = recordsSize;
            }
            sink.piece = item.piece;
            if (item.head != null) {
                processor.process(item.head.duplicate(), sink);
            }
            if (item.body != null) {
                processor.process(item.body.duplicate(), sink);
            }
            if (item.last) {
                processor.finish(sink);
                if (outputPiece == item.piece) {
                    closeOutput();
                }
            }
        } catch (FragmentSink.Stopped e) {
            // the processor is half-way through the block: it must not see another one. Spring Batch rolls
            // the chunk back (the context keeps the last commit, whose lengths a restart truncates the files
            // back to) and ends the step STOPPED, as for a stop seen at a commit
            processor = null;
            processorPiece = -1;
            throw new JobInterruptedException("job " + job.jobId() + " stopped while partition " + partition
                    + " processed " + plan.piece(item.piece).path() + "; it resumes at its last commit");
        } finally {
            item.release();
            busyNanos += System.nanoTime() - t0;
        }
        return new ItemResult(item.piece, item.last, item.bytes);
    }

    /** Where the operation's records and output go, for the block being processed. */
    private final class Sink implements FragmentSink {
        private final ByteBuffer frame = ByteBuffer.allocate(8);
        private final ByteBuffer[] gather = new ByteBuffer[2];
        int piece;

        @Override
        public boolean stopRequested() {
            return stopSignal.get();
        }

        /** A record, framed by its piece and length. */
        @Override
        public void record(ByteBuffer bytes) throws IOException {
            int length = bytes.remaining();
            frame.clear();
            frame.putInt(piece).putInt(length).flip();
            gather[0] = frame;
            gather[1] = bytes;
            while (frame.hasRemaining() || bytes.hasRemaining()) {
                records.write(gather);
            }
            gather[1] = null;
            recordsSize += 8 + length;
            recordsDirty = true;
        }

        @Override
        public void output(ByteBuffer bytes) throws IOException {
            if (!bytes.hasRemaining()) {
                return;
            }
            if (outputPiece != piece) {
                closeOutput();
                Path out = files.pieceOutput(piece);
                Files.createDirectories(out.getParent());
                output = FileChannel.open(out, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
                if (piece == openedPiece) {
                    // open() truncated it to the last commit's length
                    output.position(output.size());
                } else {
                    // left by an execution that wrote it and ended before it could commit
                    output.truncate(0);
                }
                outputPiece = piece;
            }
            while (bytes.hasRemaining()) {
                output.write(bytes);
            }
            outputDirty = true;
        }
    }

    // ---- writing ----------------------------------------------------------------------------------

    /**
     * The chunk's blocks were processed and their bytes written as they were read; what the commit
     * adds is their count in the progress it saves.
     */
    public void write(Chunk<? extends ItemResult> chunk) {
        for (ItemResult r : chunk) {
            bytesDone += r.bytes();
            if (r.last() && plan.lastOfFile(r.piece())) {
                filesDone++;
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
