package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.Stat;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.NoSuchFileException;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.ExecutionContext;

/**
 * What the finish step merges: for each partition, the work its newest COMPLETED attempt committed, as its
 * ExecutionContext names it ({@link PartitionState}): the record file and exactly its committed length,
 * and, through the piece-output frames in those records, which attempt's file holds each piece's output and
 * how long it is. Nothing here trusts a file's size: an NFS client may cache it, and an attempt that was
 * given up may have written past its last commit.
 */
final class CommittedWork {
    private final Dir work;
    private final int partitions;
    private final String[] recordsNames;
    private final long[] recordsLengths;
    /** piece index -> {attempt, length}, read from the records on first use. */
    private Map<Integer, long[]> pieceOutputs;

    CommittedWork(Dir work, int partitions, String[] recordsNames, long[] recordsLengths) {
        this.work = work;
        this.partitions = partitions;
        this.recordsNames = recordsNames;
        this.recordsLengths = recordsLengths;
    }

    /**
     * From the job's executions (any order): each partition's newest COMPLETED attempt over all of them.
     *
     * @throws IllegalStateException when a partition has none (the process step cannot have completed)
     */
    static CommittedWork of(Dir work, Plan plan, List<JobExecution> executions) {
        int n = plan.partitions().size();
        StepExecution[] newest = new StepExecution[n];
        for (JobExecution e : executions) {
            for (StepExecution s : e.getStepExecutions()) {
                if (!s.getStepName().startsWith("work:") || s.getStatus() != BatchStatus.COMPLETED) {
                    continue;
                }
                ExecutionContext ctx = s.getExecutionContext();
                if (!ctx.containsKey("partition")) {
                    continue;
                }
                int p = ctx.getInt("partition");
                if (p >= 0 && p < n && (newest[p] == null || newest[p].getId() < s.getId())) {
                    newest[p] = s;
                }
            }
        }
        String[] names = new String[n];
        long[] lengths = new long[n];
        for (int p = 0; p < n; p++) {
            if (newest[p] == null) {
                throw new IllegalStateException("partition " + p + " has no completed attempt to merge");
            }
            ExecutionContext ctx = newest[p].getExecutionContext();
            names[p] = ctx.containsKey(PartitionState.RECORDS_FILE) ? ctx.getString(PartitionState.RECORDS_FILE)
                    : JobFiles.legacyRecordsName(p);
            lengths[p] = ctx.containsKey(PartitionState.RECORDS) ? ctx.getLong(PartitionState.RECORDS) : -1;
        }
        return new CommittedWork(work, n, names, lengths);
    }

    String recordsName(int partition) {
        return recordsNames[partition];
    }

    long recordsLength(int partition) {
        return recordsLengths[partition];
    }

    /** Every record of every partition, in partition order, reading exactly the committed bytes. */
    void forEachRecord(List<Operation.Piece> pieces, MergeInput.RecordVisitor visitor) throws IOException {
        for (int p = 0; p < partitions; p++) {
            frames(p, (piece, body) -> visitor.record(pieces.get(piece), body), true);
        }
    }

    /** A piece's committed output, read-only (a raw descriptor the caller closes), or -1 when it has none. */
    int openPieceOutput(int piece) throws IOException {
        String name = pieceOutputName(piece);
        try {
            return work.openFd(name, Dir.O_RDONLY, 0);
        } catch (NoSuchFileException e) {
            return -1;
        }
    }

    /**
     * The name (beneath the work directory) of a file that holds exactly a piece's committed output: the
     * file of the attempt that finished the piece when it is as long as that attempt committed, else a copy
     * of the committed bytes beside it. A piece without output names a file that does not exist.
     */
    String pieceOutputName(int piece) throws IOException {
        long[] where = pieceOutputs().get(piece);
        if (where == null) {
            // no output, or a piece finished before attempts had files of their own (a job from before then)
            return JobFiles.legacyPieceOutputName(piece);
        }
        String name = JobFiles.pieceOutputName(piece, where[0]);
        long length = where[1];
        int fd = work.openFd(name, Dir.O_RDONLY | Dir.O_NONBLOCK, 0);
        try {
            // the size of what was opened (an open revalidates an NFS client's cached attributes)
            Stat stat = Dir.stat(fd, FileNames.inMessage(name));
            if (!stat.isRegular()) {
                throw new IOException(FileNames.inMessage(name) + " in the job's work directory is not a regular file");
            }
            if (stat.size() == length) {
                return name;
            }
            if (stat.size() < length) {
                throw new IOException("the output of piece " + piece + " (" + FileNames.inMessage(name) + ") holds " + stat.size()
                        + " bytes, fewer than the " + length + " its attempt committed: is the work directory"
                        + " (ringbatch.work-dir) the same on every instance?");
            }
            // longer than committed: only the committed bytes count, in a file of their own
            String exact = name + ".committed";
            try (FileChannel src = FileChannel.open(Dir.procPath(fd), java.nio.file.StandardOpenOption.READ);
                 FileChannel dst = JobFiles.openForWriting(work, exact)) {
                dst.truncate(0);
                long pos = 0;
                while (pos < length) {
                    long k = src.transferTo(pos, length - pos, dst);
                    if (k <= 0) {
                        throw new IOException("could not copy the committed output of piece " + piece);
                    }
                    pos += k;
                }
                dst.force(false);
            }
            return exact;
        } finally {
            Dir.closeFd(fd);
        }
    }

    private Map<Integer, long[]> pieceOutputs() throws IOException {
        if (pieceOutputs == null) {
            building = new HashMap<>();
            for (int p = 0; p < partitions; p++) {
                frames(p, null, false);
            }
            pieceOutputs = building;
            building = null;
        }
        return pieceOutputs;
    }

    /**
     * Deletes the work files that no committed state names: the files of attempts that were given up or
     * superseded (run when the job's output is in place, when no attempt can read them any more).
     */
    void deleteUnreferenced() throws IOException {
        Set<String> keep = new HashSet<>();
        for (int p = 0; p < partitions; p++) {
            keep.add(recordsNames[p]);
        }
        for (Map.Entry<Integer, long[]> e : pieceOutputs().entrySet()) {
            keep.add(JobFiles.pieceOutputName(e.getKey(), e.getValue()[0]));
        }
        for (String dir : List.of("parts", "pieces")) {
            List<Dir.Entry> entries;
            try (Dir d = work.dir(dir)) {
                entries = d.list();
            } catch (NoSuchFileException absent) {
                continue;
            }
            for (Dir.Entry entry : entries) {
                String name = dir + "/" + entry.name();
                // a piece without a frame (from before attempts had files of their own) keeps its old name
                boolean legacy = !entry.name().contains(".e");
                if (!keep.contains(name) && !legacy) {
                    work.delete(name);
                }
            }
        }
    }

    @FunctionalInterface
    private interface FrameVisitor {
        void frame(int piece, ByteBuffer body) throws IOException;
    }

    /**
     * Reads partition p's committed frames: records to {@code records} (when bodies are wanted), piece-output
     * frames into the map {@link #pieceOutputs()} is building. The file is read in order through one buffer
     * of {@link #READ_BUFFER} bytes, not a read per frame: over many small files there is a frame per file.
     * A body handed to {@code records} is a view of that buffer, valid for the call only.
     */
    private void frames(int p, FrameVisitor records, boolean bodies) throws IOException {
        try (FileChannel ch = JobFiles.openForReading(work, recordsNames[p])) {
            long end = recordsLengths[p];
            if (ch == null) {
                if (end > 0) {
                    throw new IOException("partition " + p + ": its record file " + FileNames.inMessage(recordsNames[p])
                            + " is missing, yet its last commit counted " + end + " bytes in it");
                }
                return;
            }
            if (end < 0) {
                end = ch.size(); // a context from before lengths were kept: the file as it is
            }
            FrameReader in = new FrameReader(ch, end, p);
            while (in.pos < end) {
                if (end - in.pos < PartitionState.FRAME) {
                    throw new IOException("partition " + p + ": its committed records end inside a record header");
                }
                ByteBuffer header = in.take(PartitionState.FRAME);
                int piece = header.getInt();
                int len = header.getInt();
                if (len < 0 || end - in.pos < len) {
                    throw new IOException("partition " + p + ": its committed records end inside a record");
                }
                if (piece < 0) {
                    ByteBuffer b = in.take(len);
                    if (building != null) {
                        building.put(-1 - piece, new long[] {b.getLong(), b.getLong()});
                    }
                } else if (bodies) {
                    records.frame(piece, in.take(len).slice());
                } else {
                    in.skip(len);
                }
            }
        }
    }

    /**
     * How much of a record file is read at once, at most: a file's committed length when it is shorter, so
     * that the merge of a few KiB of records does not allocate (and zero) a MiB per partition, twice per
     * finish; with G1's 1 MiB regions (heaps below 2 GiB) each such buffer is a humongous allocation.
     */
    static final int READ_BUFFER = 1 << 20;

    /** A record file's committed bytes, read in order through one buffer. */
    private static final class FrameReader {
        private final FileChannel ch;
        private final long end;
        private final int partition;
        private ByteBuffer buf;
        /** The file offset of the next byte {@link #take} hands out. */
        long pos;
        /** The file offset of the buffer's limit: where the next read goes on. */
        private long filled;

        FrameReader(FileChannel ch, long end, int partition) {
            this.ch = ch;
            this.end = end;
            this.partition = partition;
            this.buf = ByteBuffer.allocate((int) Math.max(PartitionState.FRAME, Math.min(READ_BUFFER, end))).limit(0);
        }

        /** The next {@code n} bytes (n at most what is left before the end), as a view positioned at them. */
        ByteBuffer take(int n) throws IOException {
            if (buf.remaining() < n) {
                if (buf.capacity() < n) {
                    ByteBuffer bigger = ByteBuffer.allocate(n);
                    bigger.put(buf);
                    buf = bigger.flip();
                }
                buf.compact();
                while (buf.position() < n) {
                    int want = (int) Math.min(buf.remaining(), end - filled);
                    int got = want <= 0 ? -1 : ch.read(buf.limit(buf.position() + want), filled);
                    buf.limit(buf.capacity());
                    if (got < 0) {
                        throw new IOException("partition " + partition + ": its record file ends at " + filled
                                + " bytes, before its committed length");
                    }
                    filled += got;
                }
                buf.flip();
            }
            ByteBuffer out = buf.duplicate().limit(buf.position() + n);
            buf.position(buf.position() + n);
            pos += n;
            return out;
        }

        void skip(int n) throws IOException {
            if (buf.remaining() >= n) {
                buf.position(buf.position() + n);
                pos += n;
                return;
            }
            long past = n - buf.remaining();
            buf.limit(0);
            pos += n;
            filled += past;
        }
    }

    /** The piece outputs while {@link #pieceOutputs()} reads them. */
    private Map<Integer, long[]> building;
}
