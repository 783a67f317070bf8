package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.util.ArrayList;
import java.util.List;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * The durable state of one attempt (step execution) of a partition: what its ExecutionContext records at
 * each commit, and the attempt's own work files with their committed lengths.
 * <p>
 * An attempt writes only files named by its step execution id ({@link JobFiles#recordsName},
 * {@link JobFiles#pieceOutputName}). The context names the files that hold the committed work and how
 * many of their bytes count: the record file ({@value #RECORDS_FILE}, {@value #RECORDS}) and, mid-piece,
 * the piece's output ({@value #OUTPUT_FILE}, {@value #OUTPUT}). A new attempt (a restart, or a
 * re-dispatch after a lost worker, both of which start from a copy of the last committed context) copies
 * those committed prefixes into files of its own, kernel to kernel; it never truncates the files of the
 * attempt before, whose worker may still be writing past its last commit. A piece's finished output stays
 * in the file of the attempt that finished it: the record file says which, and how long, in a frame of its
 * own ({@link #pieceDone}), so the finish step reads exactly the committed bytes, never a file's size (an
 * NFS client may cache it).
 * <p>
 * Files are forced to disk before the step's transaction commits the lengths that count them; a commit
 * forces only what changed. Forcing a clean file still costs a device cache flush, which waits behind
 * every read in the disk's queue (10-40 ms during a cold read), and most commits of checksum-like jobs
 * have written nothing.
 */
final class PartitionState {
    static final String PIECE = "rb.piece";
    static final String OFFSET = "rb.offset";
    static final String CHECKPOINT = "rb.checkpoint";
    static final String RECORDS = "rb.records";
    static final String RECORDS_FILE = "rb.recordsFile";
    static final String OUTPUT = "rb.output";
    static final String OUTPUT_FILE = "rb.outputFile";
    static final String ATTEMPT = "rb.attempt";
    static final String BYTES_DONE = "rb.bytesDone";
    static final String FILES_DONE = "rb.filesDone";
    static final String WAIT = "rb.waitNanos";
    static final String BUSY = "rb.busyNanos";
    static final String BYTES_TOTAL = "rb.bytesTotal";
    static final String FILES = "rb.files";
    static final String SKIPPED = "rb.skipped";

    /** A record frame's header: the piece (a negative value marks a piece-output frame) and the length. */
    static final int FRAME = 8;
    /** A piece-output frame's body: the attempt that wrote the piece's output, and its length. */
    static final int PIECE_OUTPUT_BODY = 16;
    /** Bytes of record frames gathered before one write to the record file. */
    static final int PENDING = 64 * 1024;

    private final int partition;
    private final long attempt;
    private final int firstPiece;
    private final Dir work;

    int pieceIndex;
    long resumeOffset = -1;
    Serializable resumeCheckpoint;

    private FileChannel records;
    private final String recordsName;
    long recordsSize;
    long recordsAtPieceStart;
    private boolean recordsDirty;

    private FileChannel output;
    private int outputPiece = -1;
    private long outputSize;
    private boolean outputDirty;

    long bytesDone;
    long filesDone;
    long waitNanos;
    long busyNanos;
    ArrayList<String> skipped = new ArrayList<>();

    private final ByteBuffer frame = ByteBuffer.allocate(FRAME);
    /** Record frames not yet written to the record file: written when it fills and at each commit. */
    private final ByteBuffer pending = ByteBuffer.allocate(PENDING);
    private final ByteBuffer[] gather = new ByteBuffer[2];

    /**
     * Takes the last committed state from {@code ctx} and makes this attempt's files from it.
     *
     * @param work the job's work directory, held open by the caller while this state lives
     */
    PartitionState(Dir work, int partition, long attempt, int firstPiece, ExecutionContext ctx) throws IOException {
        this.work = work;
        this.partition = partition;
        this.attempt = attempt;
        this.firstPiece = firstPiece;
        this.recordsName = JobFiles.recordsName(partition, attempt);
        pieceIndex = ctx.containsKey(PIECE) ? ctx.getInt(PIECE) : firstPiece;
        resumeOffset = ctx.containsKey(OFFSET) ? ctx.getLong(OFFSET) : -1;
        resumeCheckpoint = (Serializable) ctx.get(CHECKPOINT);
        long committedRecords = ctx.containsKey(RECORDS) ? ctx.getLong(RECORDS) : 0;
        long committedOutput = ctx.containsKey(OUTPUT) ? ctx.getLong(OUTPUT) : 0;
        bytesDone = ctx.containsKey(BYTES_DONE) ? ctx.getLong(BYTES_DONE) : 0;
        filesDone = ctx.containsKey(FILES_DONE) ? ctx.getLong(FILES_DONE) : 0;
        waitNanos = ctx.containsKey(WAIT) ? ctx.getLong(WAIT) : 0;
        busyNanos = ctx.containsKey(BUSY) ? ctx.getLong(BUSY) : 0;
        @SuppressWarnings("unchecked")
        List<String> s = (List<String>) ctx.get(SKIPPED);
        skipped = s == null ? new ArrayList<>() : new ArrayList<>(s);

        String fromRecords = ctx.containsKey(RECORDS_FILE) ? ctx.getString(RECORDS_FILE)
                : JobFiles.legacyRecordsName(partition);
        records = startFrom(fromRecords, committedRecords, recordsName);
        recordsSize = committedRecords;
        recordsAtPieceStart = recordsSize;
        recordsDirty = true; // the copy, if any, is forced at the first commit
        if (resumeOffset >= 0 && committedOutput > 0) {
            String fromOutput = ctx.containsKey(OUTPUT_FILE) ? ctx.getString(OUTPUT_FILE)
                    : JobFiles.legacyPieceOutputName(pieceIndex);
            output = startFrom(fromOutput, committedOutput, JobFiles.pieceOutputName(pieceIndex, attempt));
            outputPiece = pieceIndex;
            outputSize = committedOutput;
            outputDirty = true;
        }
    }

    long attempt() {
        return attempt;
    }

    /**
     * This attempt's file {@code own}, holding the first {@code length} bytes of {@code from} (another
     * attempt's file, read, never changed), positioned at its end.
     */
    private FileChannel startFrom(String from, long length, String own) throws IOException {
        FileChannel ch = JobFiles.openForWriting(work, own);
        try {
            if (from.equals(own)) {
                // this very attempt's own file (its step reopened): past the commit is its own leftover
                ch.truncate(length);
            } else {
                ch.truncate(0);
                if (length > 0) {
                    try (FileChannel src = JobFiles.openForReading(work, from)) {
                        if (src == null) {
                            throw new IOException("partition " + partition + ": " + from + ", which holds its "
                                    + "last committed work, is missing from the job's work directory");
                        }
                        copy(src, length, ch, from);
                    }
                }
            }
            if (ch.size() < length) {
                throw new IOException("partition " + partition + ": " + own + " holds " + ch.size()
                        + " bytes, fewer than the " + length + " committed");
            }
            ch.position(length);
            return ch;
        } catch (IOException | RuntimeException e) {
            ch.close();
            throw e;
        }
    }

    /** The first {@code length} bytes of {@code src} to the start of {@code dst}, kernel to kernel. */
    private void copy(FileChannel src, long length, FileChannel dst, String from) throws IOException {
        long pos = 0;
        while (pos < length) {
            long n = src.transferTo(pos, length - pos, dst);
            if (n <= 0) {
                throw new IOException("partition " + partition + ": " + from + " ends at " + pos
                        + " bytes, before the " + length + " its last commit counted");
            }
            pos += n;
        }
    }

    // ---- what the sink writes ---------------------------------------------------------------------

    /**
     * A record of {@code piece}, framed by its piece and length. Frames gather in {@link #pending} and go
     * to the file in one write when it fills, and at every commit before the force: over many small files
     * a record each, a write per record was a system call per file. What is still pending when an attempt
     * ends without a commit was never committed, so losing it loses nothing.
     */
    void record(int piece, ByteBuffer bytes) throws IOException {
        int length = bytes.remaining();
        if (pending.remaining() < FRAME + length) {
            flushRecords();
        }
        if (pending.remaining() >= FRAME + length) {
            pending.putInt(piece).putInt(length).put(bytes);
        } else {
            // larger than the buffer: straight to the file, after what was pending
            frame.clear();
            frame.putInt(piece).putInt(length).flip();
            gather[0] = frame;
            gather[1] = bytes;
            while (frame.hasRemaining() || bytes.hasRemaining()) {
                records.write(gather);
            }
            gather[1] = null;
        }
        recordsSize += FRAME + length;
        recordsDirty = true;
    }

    /** Writes the pending frames to the record file (not forced). */
    private void flushRecords() throws IOException {
        if (pending.position() == 0) {
            return;
        }
        pending.flip();
        while (pending.hasRemaining()) {
            records.write(pending);
        }
        pending.clear();
    }

    /** Bytes appended to {@code piece}'s output file of this attempt. */
    void output(int piece, ByteBuffer bytes) throws IOException {
        if (!bytes.hasRemaining()) {
            return;
        }
        if (outputPiece != piece) {
            closeOutput();
            // this attempt's own file, new for this piece (a resumed piece's is open since the start with
            // the committed prefix): anything in it is its own leftover, never another attempt's
            output = JobFiles.openForWriting(work, JobFiles.pieceOutputName(piece, attempt));
            output.truncate(0);
            outputSize = 0;
            outputPiece = piece;
        }
        while (bytes.hasRemaining()) {
            outputSize += output.write(bytes);
        }
        outputDirty = true;
    }

    /**
     * The piece has ended: its output (if it wrote one) is closed, and a frame in the record file says
     * which attempt's file holds it and how long it is, committed with the records.
     */
    void pieceDone(int piece) throws IOException {
        if (outputPiece != piece) {
            return;
        }
        long length = outputSize;
        closeOutput();
        ByteBuffer body = ByteBuffer.allocate(PIECE_OUTPUT_BODY).putLong(attempt).putLong(length).flip();
        record(-1 - piece, body);
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

    // ---- commits ----------------------------------------------------------------------------------

    /**
     * Forces what changed, then saves into {@code ctx} the state a new attempt starts from.
     *
     * @param midPiece        the piece in progress has more to read
     * @param resumable       the operation resumes inside a piece
     * @param consumed        mid-piece: the offset of the next line to read
     * @param checkpoint      mid-piece: the operation's checkpoint, or null
     * @param nextPiece       the piece a new attempt starts in
     */
    void save(ExecutionContext ctx, boolean midPiece, boolean resumable, long consumed, Serializable checkpoint,
              int nextPiece) throws IOException {
        if (recordsDirty) {
            flushRecords();
            records.force(false);
            recordsDirty = false;
        }
        if (output != null && outputDirty) {
            output.force(false);
            outputDirty = false;
        }
        ctx.putLong(ATTEMPT, attempt);
        ctx.putString(RECORDS_FILE, recordsName);
        if (midPiece && resumable) {
            ctx.putInt(PIECE, nextPiece);
            ctx.putLong(OFFSET, consumed);
            if (checkpoint != null) {
                ctx.put(CHECKPOINT, checkpoint);
            } else {
                ctx.remove(CHECKPOINT);
            }
            ctx.putLong(RECORDS, recordsSize);
            boolean hasOutput = outputPiece == nextPiece && output != null;
            ctx.putLong(OUTPUT, hasOutput ? outputSize : 0);
            if (hasOutput) {
                ctx.putString(OUTPUT_FILE, JobFiles.pieceOutputName(nextPiece, attempt));
            } else {
                ctx.remove(OUTPUT_FILE);
            }
        } else {
            ctx.putInt(PIECE, nextPiece);
            ctx.putLong(OFFSET, -1);
            ctx.remove(CHECKPOINT);
            ctx.putLong(RECORDS, midPiece ? recordsAtPieceStart : recordsSize);
            ctx.putLong(OUTPUT, 0);
            ctx.remove(OUTPUT_FILE);
        }
        ctx.putLong(BYTES_DONE, bytesDone);
        ctx.putLong(FILES_DONE, filesDone);
        ctx.putLong(BUSY, busyNanos);
        ctx.put(SKIPPED, new ArrayList<>(skipped));
    }

    void close() {
        closeQuietly(records);
        closeQuietly(output);
        records = null;
        output = null;
        outputPiece = -1;
    }

    int firstPiece() {
        return firstPiece;
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
