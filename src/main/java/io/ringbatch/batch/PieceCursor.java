package io.ringbatch.batch;

import io.ringbatch.io.Block;
import io.ringbatch.io.BlockReader;
import io.ringbatch.io.FileNames;
import io.ringbatch.io.InputFile;
import io.ringbatch.io.FileSequence;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Turns a piece into items, reading through the I/O engine. For {@link Operation.Split#LINES} it
 * applies the range rule: a range {@code [s, e)} owns every line that starts inside it, so it skips
 * the partial line at its start (reading from {@code s - 1} to see whether {@code s} starts a line) and
 * finishes its last line past {@code e}. Lines longer than a block are carried over, copied, until
 * their end.
 */
final class PieceCursor implements AutoCloseable {
    private final FileSequence reads;
    private final Operation.Piece piece;
    private final InputFile input;
    private final boolean lines;
    private BlockReader reader;
    private boolean skipping;
    private boolean inTail;
    private boolean dataDone;
    private boolean lastSent;
    private boolean firstSent;
    private ByteBuffer carry;
    private long carryStart;
    private long consumedTo;

    /**
     * @param input    the piece's file beneath the root held by descriptor, with what the plan saw of it: every
     *                 open (the range, and the tail of its last line) is checked against it
     * @param reads    where its readers come from: the partition's sequence, which opens the ranges it expects
     *                 ahead (a piece's first range is {@link #firstRead}), and any other when asked
     * @param resumeAt where to continue (a line start for LINES), or -1 to start the piece afresh
     */
    PieceCursor(FileSequence reads, Operation.Piece piece, InputFile input, Operation.Split split, long resumeAt)
            throws IOException {
        this.reads = reads;
        this.piece = piece;
        this.input = input;
        this.lines = split == Operation.Split.LINES;
        long from = resumeAt >= 0 ? resumeAt : piece.start();
        this.consumedTo = from;
        long first = firstRead(piece, split, resumeAt);
        if (first < 0) {
            dataDone = true; // a resumed range whose lines are all done
        } else {
            skipping = lines && resumeAt < 0 && piece.start() > 0;
            reader = reads.open(input, first, piece.end());
        }
    }

    /**
     * Where the cursor of {@code piece} starts reading: its range's start, the byte before it for a range of
     * lines that does not start the file (to see whether the range starts a line), or {@code resumeAt}; -1
     * when a resumed range has nothing left to read. Its first read is {@code [firstRead, piece.end())}.
     */
    static long firstRead(Operation.Piece piece, Operation.Split split, long resumeAt) {
        long from = resumeAt >= 0 ? resumeAt : piece.start();
        if (from >= piece.end()) {
            return -1;
        }
        return split == Operation.Split.LINES && resumeAt < 0 && piece.start() > 0 ? piece.start() - 1 : from;
    }

    /** The next item, or null once the piece's final item was handed out. */
    BlockItem next() throws IOException {
        if (lastSent) {
            return null;
        }
        if (!dataDone) {
            BlockItem item = lines ? nextLines() : nextRaw();
            if (item != null) {
                return item;
            }
            dataDone = true;
            closeReader();
        }
        lastSent = true;
        boolean first = !firstSent;
        firstSent = true;
        return new BlockItem(piece.index(), first, true, null, null, null, consumedTo, 0);
    }

    private BlockItem nextRaw() throws IOException {
        Block b = reader.next();
        if (b == null) {
            return null;
        }
        consumedTo = b.end();
        return item(null, b.data(), b, b.length());
    }

    private BlockItem item(ByteBuffer head, ByteBuffer body, Block block, long bytes) {
        boolean first = !firstSent;
        firstSent = true;
        return new BlockItem(piece.index(), first, false, head, body, block, consumedTo, bytes);
    }

    private BlockItem nextLines() throws IOException {
        while (true) {
            Block b = reader == null ? null : reader.next();
            if (b == null) {
                if (!inTail && !skipping && carry != null && carry.position() > 0 && piece.end() < piece.fileSize()) {
                    // the range's last line goes on past its end: read on until it ends
                    closeReader();
                    inTail = true;
                    reader = reads.open(input, piece.end(), piece.fileSize());
                    continue;
                }
                if (carry != null && carry.position() > 0) {
                    // the file's last line, without a final newline
                    ByteBuffer head = takeCarry();
                    consumedTo = carryStart + head.remaining();
                    return item(head, null, null, rangeBytes(carryStart, consumedTo));
                }
                return null;
            }
            ByteBuffer d = b.data();
            int from = 0;
            int limit = d.limit();
            if (skipping) {
                int nl = indexOf(d, 0, limit);
                if (nl < 0) {
                    b.release();
                    continue;
                }
                skipping = false;
                from = nl + 1;
                consumedTo = b.offset() + from;
            }
            if (inTail) {
                int nl = indexOf(d, from, limit);
                int stop = nl < 0 ? limit : nl + 1;
                append(d, from, stop, b.offset());
                b.release();
                if (nl < 0) {
                    continue;
                }
                closeReader();
                ByteBuffer head = takeCarry();
                consumedTo = b.offset() + stop;
                dataDone = true;
                return item(head, null, null, rangeBytes(carryStart, consumedTo));
            }
            int lastNl = lastIndexOf(d, from, limit);
            if (lastNl < 0) {
                append(d, from, limit, b.offset());
                b.release();
                continue;
            }
            int firstNl = indexOf(d, from, limit);
            ByteBuffer head = null;
            int bodyFrom = from;
            long itemStart = b.offset() + from;
            if (carry != null && carry.position() > 0) {
                itemStart = carryStart;
                append(d, from, firstNl + 1, b.offset());
                head = takeCarry();
                bodyFrom = firstNl + 1;
            }
            ByteBuffer body = d.duplicate().limit(lastNl + 1).position(bodyFrom).slice();
            if (lastNl + 1 < limit) {
                append(d, lastNl + 1, limit, b.offset());
            }
            long end = b.offset() + lastNl + 1;
            consumedTo = end;
            return item(head, body, b, rangeBytes(itemStart, end));
        }
    }

    /** The bytes of {@code [from, to)} that lie inside the piece's range. */
    private long rangeBytes(long from, long to) {
        return Math.max(0, Math.min(to, piece.end()) - Math.max(from, piece.start()));
    }

    private void append(ByteBuffer d, int from, int to, long fileOffsetOfD) {
        int n = to - from;
        if (carry == null || carry.position() == 0) {
            carryStart = fileOffsetOfD + from;
        }
        if (carry == null) {
            carry = ByteBuffer.allocate(Math.max(256, Integer.highestOneBit(Math.max(1, n)) * 2));
        } else if (carry.remaining() < n) {
            long want = (long) carry.position() + n;
            if (want > Integer.MAX_VALUE - 16) {
                throw new IllegalStateException(FileNames.inMessage(piece.path()) + ": a line longer than 2 GiB");
            }
            ByteBuffer bigger = ByteBuffer.allocate((int) Math.min(Integer.MAX_VALUE - 16, Math.max(want, 2L * carry.capacity())));
            carry.flip();
            bigger.put(carry);
            carry = bigger;
        }
        carry.put(d.duplicate().limit(to).position(from));
    }

    /** The carried bytes as a buffer of their own; the next carry starts in a new one. */
    private ByteBuffer takeCarry() {
        ByteBuffer head = carry.flip();
        carry = null;
        return head;
    }

    private static int indexOf(ByteBuffer d, int from, int to) {
        for (int i = from; i < to; i++) {
            if (d.get(i) == '\n') {
                return i;
            }
        }
        return -1;
    }

    private static int lastIndexOf(ByteBuffer d, int from, int to) {
        for (int i = to - 1; i >= from; i--) {
            if (d.get(i) == '\n') {
                return i;
            }
        }
        return -1;
    }

    long waitNanos() {
        return reader == null ? 0 : reader.stats().waitNanos();
    }

    /**
     * Whether the next item is the piece's final one, without data: everything of the range was handed out
     * and nothing is carried or left to skip. Cheap, and it reads nothing.
     */
    boolean onlyEndLeft() {
        if (lastSent) {
            return false;
        }
        return dataDone || (reader != null && !skipping && reader.position() >= reader.end()
                && (carry == null || carry.position() == 0));
    }

    /** Whether the piece's final item has been handed out. */
    boolean finished() {
        return lastSent;
    }

    /** The offset just past the last item handed out: where a resumed piece goes on. */
    long consumed() {
        return consumedTo;
    }

    private long closedWait;

    /** Wait time of every reader this cursor opened. */
    long totalWaitNanos() {
        return closedWait + waitNanos();
    }

    private void closeReader() {
        if (reader != null) {
            closedWait += reader.stats().waitNanos();
            reader.close();
            reader = null;
        }
    }

    @Override
    public void close() {
        closeReader();
    }
}
