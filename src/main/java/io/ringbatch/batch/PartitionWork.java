package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.FileSequence;
import io.ringbatch.io.InputFile;
import io.ringbatch.io.IoEngine;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.util.AbstractList;
import java.util.List;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.infrastructure.item.Chunk;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.batch.infrastructure.item.ItemStreamException;
import org.springframework.batch.infrastructure.item.ItemStreamReader;

/**
 * One attempt (step execution) of one partition of the process step: the reader and writer of its
 * chunk-oriented worker step. The reader hands out blocks already processed by the operation (see
 * {@link #read()} for why the processing is not a separate ItemProcessor); the writer counts them into the
 * progress the commit saves. What the attempt has made durable, its own work files and the context that
 * names them with their committed lengths, is {@link PartitionState}; where the operation's output goes is
 * {@link PartitionSink}.
 * <p>
 * What a commit saves, and what a new attempt (a restart, or a re-dispatch after a lost worker) does with
 * it:
 * <ul>
 * <li>the piece in progress and, for operations that can resume inside a piece, the offset of the next
 * line to read and the operation's checkpoint; otherwise the piece starts again from its beginning;</li>
 * <li>the names and lengths of the record file and of the piece's output file as of that state: a new
 * attempt copies those committed prefixes into files of its own, so what a crash (or a worker that was
 * given up and still runs) wrote after the commit is never read;</li>
 * <li>bytes and files done, and the time spent waiting for blocks and processing them.</li>
 * </ul>
 * <p>
 * A stop of the job is seen by Spring Batch at the next commit; the partition also sees it between blocks,
 * and an operation whose block takes long (grep with a costly regex) between lines, through the
 * {@link StopRegistry} (raised on this instance or on another): it abandons the chunk, which rolls back,
 * the step ends STOPPED, and a restart resumes at the last commit.
 * <p>
 * An input file with more than one hard link is refused (skipped with {@code skipUnreadable}) unless
 * the job runs with hard links allowed ({@link Planner#hardLinksAllowed}): its other name may lie
 * outside the input root. The planner refuses it first; this checks again when the file is opened.
 * <p>
 * Input is reached by descriptor only: the root is opened again at each {@link #open} and must still lie
 * under {@code ringbatch.input-roots} ({@link InputRoots}); each file is opened beneath it following no
 * link, and what was opened is checked against the plan (inode, size, modification time, and the device
 * on the instance that planned), so a file or directory swapped since planning is failed as changed. The
 * work files are opened by descriptor beneath the job's work directory ({@link JobFiles#open}).
 */
public class PartitionWork implements ItemStreamReader<ItemResult> {
    static final String PIECE = PartitionState.PIECE;
    static final String OFFSET = PartitionState.OFFSET;
    static final String CHECKPOINT = PartitionState.CHECKPOINT;
    static final String RECORDS = PartitionState.RECORDS;
    static final String OUTPUT = PartitionState.OUTPUT;
    static final String BYTES_DONE = PartitionState.BYTES_DONE;
    static final String FILES_DONE = PartitionState.FILES_DONE;
    static final String WAIT = PartitionState.WAIT;
    static final String BUSY = PartitionState.BUSY;
    static final String BYTES_TOTAL = PartitionState.BYTES_TOTAL;
    static final String FILES = PartitionState.FILES;
    static final String SKIPPED = PartitionState.SKIPPED;

    /** Blocks a partition holds at once: the one being processed, and one the cursor may keep beside it. */
    private static final int HELD = 2;

    private final JobFiles files;
    private final Plan plan;
    private final JobDefinition job;
    private final Operation operation;
    private final IoEngine engine;
    private final int partition;
    private final long attempt;
    private final int firstPiece;
    private final int endPiece;
    private final InputRoots inputRoots;
    private final String instanceId;
    private final StopRegistry stops;
    /** The input root, opened by descriptor at each open (start, restart, resume) and checked again. */
    private Dir root;
    /** The job's work directory, held open while the attempt runs. */
    private Dir work;

    private PartitionState state;
    private PartitionSink sink;
    private StopRegistry.Signal stop;
    private PieceCursor cursor;
    /** The partition's next files, opened and checked ahead of the reader by the engine (io_uring). */
    private IoEngine.Lookahead lookahead;
    /**
     * The partition's readers, one file after another: the next pieces' files opened and their first reads
     * submitted ahead, in batches ({@link FileSequence}), so that over many small files a partition keeps
     * several reads in flight and makes one submission per batch of files, not one per file.
     */
    private FileSequence reads;
    /** The piece the cursor reads, as the operation sees it (made once per piece). */
    private Operation.Piece cursorPiece;

    private PieceProcessor processor;
    private int processorPiece = -1;
    private boolean allowHardLinks;

    /** Whether the engine may open the partition's next files ahead of the reader. */
    private boolean openAhead;

    /** What one item (one commit) holds at most: blocks, input bytes, time. */
    private int commitBlocks = 64;
    private long commitBytes = Long.MAX_VALUE;
    private long commitNanos = Long.MAX_VALUE;

    /** The plan's paths in byte order, a view without a copy: what {@link Operation#refusal} looks in. */
    private final List<String> planPaths;

    /**
     * @param attempt the id of the step execution this runs as: it names the attempt's work files
     * @param stops   where a stop of the job is seen, whichever instance raised it
     */
    public PartitionWork(JobFiles files, Plan plan, JobDefinition job, Operation operation, IoEngine engine,
                         int partition, long attempt, InputRoots inputRoots, String instanceId, StopRegistry stops) {
        this.inputRoots = inputRoots;
        this.instanceId = instanceId;
        this.files = files;
        this.plan = plan;
        this.job = job;
        this.operation = operation;
        this.engine = engine;
        this.partition = partition;
        this.attempt = attempt;
        this.stops = stops;
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

    /**
     * How much one item, hence one commit, holds at most: {@code blocks} blocks, {@code bytes} of input,
     * or the blocks processed within {@code time}, whichever comes first.
     */
    PartitionWork commitEvery(int blocks, long bytes, java.time.Duration time) {
        this.commitBlocks = blocks;
        this.commitBytes = bytes;
        this.commitNanos = time.toNanos();
        return this;
    }

    /** Whether the engine may open the partition's next files ahead of the reader ({@code ringbatch.io.open-ahead}). */
    PartitionWork openAhead(boolean on) {
        this.openAhead = on;
        return this;
    }

    // ---- ItemStream -------------------------------------------------------------------------------

    @Override
    public void open(ExecutionContext ctx) throws ItemStreamException {
        allowHardLinks = Planner.hardLinksAllowed(files);
        try {
            root = inputRoots.open(job.inputRoot());
        } catch (IOException e) {
            throw new ItemStreamException(e.getMessage(), e);
        }
        try {
            work = files.open();
            state = new PartitionState(work, partition, attempt, firstPiece, ctx);
        } catch (IOException e) {
            close();
            throw new ItemStreamException("cannot open the work files of partition " + partition + ": "
                    + e.getMessage(), e);
        }
        stop = stops.signal(files.jobId(), work);
        sink = new PartitionSink(state, stop);
        // from where this attempt resumes, in the order nextBlock opens them, on this (the step's) thread,
        // which is the one that reads: over many small files the opens and stats overlap the reads
        if (openAhead) {
            lookahead = engine.openAhead(plan.inputs(state.pieceIndex, endPiece, root, instanceId, !allowHardLinks));
        }
        reads = engine.sequence(upcomingReads(state.pieceIndex, state.resumeOffset), HELD);
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
            boolean midPiece = cursor != null && !cursor.finished();
            long consumed = midPiece ? cursor.consumed() : -1;
            Serializable cp = midPiece && operation.resumableMidPiece() && processor != null
                    ? processor.checkpoint() : null;
            int next = cursor != null && !midPiece ? state.pieceIndex + 1 : state.pieceIndex;
            state.save(ctx, midPiece, operation.resumableMidPiece(), consumed, cp, next);
            ctx.putLong(WAIT, state.waitNanos + (cursor == null ? 0 : cursor.totalWaitNanos()));
        } catch (IOException e) {
            throw new ItemStreamException("cannot save the work of partition " + partition + ": " + e.getMessage(), e);
        }
    }

    /**
     * The first range of each piece from {@code from} on that {@link #nextBlock} will open, in its order:
     * the pieces it leaves out (refused by the operation) and resumed ranges with nothing left are passed
     * over as it passes over them; {@code resumeOffset} applies to the first piece only.
     */
    private java.util.Iterator<FileSequence.Range> upcomingReads(int from, long resumeOffset) {
        boolean resumable = operation.resumableMidPiece();
        Operation.Split split = operation.split();
        boolean singleLink = !allowHardLinks;
        return new java.util.Iterator<>() {
            private int next = from;
            private FileSequence.Range ahead;

            @Override
            public boolean hasNext() {
                while (ahead == null && next < endPiece) {
                    int index = next++;
                    Operation.Piece piece = plan.piece(index, root);
                    if (operation.refusal(job.params(), piece.path(), planPaths) != null) {
                        continue;
                    }
                    long at = index == from && resumable ? resumeOffset : -1;
                    long first = PieceCursor.firstRead(piece, split, at);
                    if (first < 0) {
                        continue;
                    }
                    ahead = new FileSequence.Range(InputFile.beneath(root, piece.path(),
                            plan.expected(piece.fileIndex(), instanceId, singleLink)), first, piece.end());
                }
                return ahead != null;
            }

            @Override
            public FileSequence.Range next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                FileSequence.Range r = ahead;
                ahead = null;
                return r;
            }
        };
    }

    @Override
    public void close() throws ItemStreamException {
        if (cursor != null) {
            cursor.close();
            cursor = null;
        }
        if (reads != null) {
            reads.close(); // before the root whose descriptor its files are beneath
            reads = null;
        }
        if (lookahead != null) {
            lookahead.close(); // before the root whose descriptor its opens are beneath
            lookahead = null;
        }
        if (root != null) {
            root.close();
            root = null;
        }
        if (state != null) {
            state.close();
            state = null;
        }
        if (work != null) {
            work.close();
            work = null;
        }
        processor = null;
    }

    // ---- reading ----------------------------------------------------------------------------------

    /**
     * The blocks of the partition up to the next commit, already processed: each block goes through the
     * operation as soon as it is taken from the prefetch queue and goes back to the pool at once, while
     * the engine reads the next ones. One item holds up to {@code commit-interval} blocks,
     * {@code commit-bytes} of input, or what {@code commit-time} allows, whichever comes first (the step's
     * chunk is one item): Spring Batch 6's chunk size is a count only, and a count of blocks commits
     * hundreds of times a second over small files (a block each) and only every few seconds over large
     * ones under a slow operation (gzip -9).
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
        long start = System.nanoTime();
        int items = 0;
        int blocks = 0;
        long bytes = 0;
        long filesEnded = 0;
        // commit-interval counts blocks of data: the empty item that ends each piece is not one, so that over
        // small files (a block each) a commit holds commit-interval files, not half as many
        while (blocks < commitBlocks && bytes < commitBytes && (items == 0 || System.nanoTime() - start < commitNanos)) {
            if (stop.requested()) {
                // between blocks: the chunk rolls back to the last commit and the step ends STOPPED
                throw new JobInterruptedException("job " + job.jobId() + " stopped while partition " + partition
                        + " ran; it resumes at its last commit");
            }
            BlockItem block = nextBlock();
            if (block == null) {
                break;
            }
            int piece = block.piece;
            boolean last = block.last;
            boolean data = block.head != null || block.body != null;
            bytes += process(block);
            items++;
            if (data) {
                blocks++;
            }
            if (last && plan.lastOfFile(piece)) {
                filesEnded++;
            }
        }
        if (blocks > 0 && cursor != null && cursor.onlyEndLeft()) {
            // a bound was reached on a piece's last data: its end (no data, its record) goes in this commit
            // too, so that a commit ends at a file's end over small files and a restart redoes nothing of it
            BlockItem end = nextBlock();
            if (end != null) {
                int piece = end.piece;
                boolean last = end.last;
                bytes += process(end);
                if (last && plan.lastOfFile(piece)) {
                    filesEnded++;
                }
            }
        }
        return items == 0 ? null : new ItemResult(blocks, bytes, filesEnded);
    }

    private BlockItem nextBlock() throws Exception {
        while (state.pieceIndex < endPiece) {
            if (cursor == null) {
                Operation.Piece piece = plan.piece(state.pieceIndex, root);
                String refused = operation.refusal(job.params(), piece.path(), planPaths);
                if (refused != null) {
                    // not an error of the input: whatever skipUnreadable says, the file is left out and listed
                    String entry = piece.path() + ": " + refused;
                    if (!state.skipped.contains(entry)) {
                        state.skipped.add(entry);
                    }
                    state.pieceIndex++;
                    state.resumeOffset = -1;
                    continue;
                }
                long at = operation.resumableMidPiece() ? state.resumeOffset : -1;
                // opened beneath the root, no link followed, and checked on the opened descriptor against the
                // plan: a file swapped, changed or linked since it was planned fails here, not after a read
                InputFile input = InputFile.beneath(root, piece.path(),
                        plan.expected(piece.fileIndex(), instanceId, !allowHardLinks));
                try {
                    cursor = new PieceCursor(reads, piece, input, operation.split(), at);
                    cursorPiece = piece;
                } catch (IOException e) {
                    if (!job.skipUnreadable()) {
                        throw e;
                    }
                    state.skipped.add(piece.path() + ": " + e.getMessage());
                    state.pieceIndex++;
                    state.resumeOffset = -1;
                    continue;
                }
            }
            BlockItem item = cursor.next();
            if (item != null) {
                return item;
            }
            state.waitNanos += cursor.totalWaitNanos();
            cursor.close();
            cursor = null;
            state.pieceIndex++;
            state.resumeOffset = -1;
        }
        return null;
    }

    // ---- processing -------------------------------------------------------------------------------

    /**
     * Runs the operation over one block; what it produces goes straight to the attempt's record file and
     * to the piece's output file ({@link PartitionSink}), past the lengths of the last commit.
     */
    private long process(BlockItem item) throws Exception {
        long t0 = System.nanoTime();
        try {
            if (item.first || processorPiece != item.piece) {
                Serializable resume = state.resumeCheckpoint;
                state.resumeCheckpoint = null;
                Operation.Piece piece = cursorPiece != null && cursorPiece.index() == item.piece ? cursorPiece
                        : plan.piece(item.piece, root);
                processor = operation.open(job.params(), piece, resume);
                processorPiece = item.piece;
            }
            if (item.first) {
                state.recordsAtPieceStart = state.recordsSize;
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
                state.pieceDone(item.piece);
            }
        } catch (FragmentSink.Stopped e) {
            // the processor is half-way through the block: it must not see another one. Spring Batch rolls
            // the chunk back (the context keeps the last commit, whose lengths a new attempt starts from)
            // and ends the step STOPPED, as for a stop seen at a commit
            processor = null;
            processorPiece = -1;
            throw new JobInterruptedException("job " + job.jobId() + " stopped while partition " + partition
                    + " processed " + FileNames.inMessage(plan.piece(item.piece).path()) + "; it resumes at its last commit");
        } finally {
            item.release();
            state.busyNanos += System.nanoTime() - t0;
        }
        return item.bytes;
    }

    // ---- writing ----------------------------------------------------------------------------------

    /**
     * The chunk's blocks were processed and their bytes written as they were read; what the commit
     * adds is their count in the progress it saves.
     */
    public void write(Chunk<? extends ItemResult> chunk) {
        for (ItemResult r : chunk) {
            state.bytesDone += r.bytes();
            state.filesDone += r.files();
        }
    }
}
