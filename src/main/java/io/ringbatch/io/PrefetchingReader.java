package io.ringbatch.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Keeps reads in flight over one file range and hands their blocks out in file order, whatever order
 * they complete in.
 * <p>
 * A fixed set of slots, each with its pool buffer once used, cycles FREE -> IN_FLIGHT -> READY (or
 * FAILED) -> HANDED -> FREE, the last step when the consumer releases the block. Reads in flight
 * queue in file order; free slots are taken last-released first (its buffer is still in this core's
 * cache). A slot is tied to no position in the file, so a block the consumer holds for long (a batch
 * chunk keeps its items until it has processed them) never stops the reads after it. Completions may
 * arrive on another thread (the ring's reaper, a blocking read thread): they write the slot, publish
 * its state through a volatile store and unpark the consumer if it waits.
 */
final class PrefetchingReader implements BlockReader {
    static final int FREE = 0;
    static final int IN_FLIGHT = 1;
    static final int READY = 2;
    static final int FAILED = 3;
    static final int HANDED = 4;

    /** How long a reader with nothing in flight waits for a pool buffer before it gives up. */
    private static final long POOL_WAIT_SECONDS = 30;
    /** Short reads or EAGAINs one read may meet before it is failed rather than tried again. */
    private static final int MAX_RETRIES = 1024;

    /** One read of the window. Fields other than {@code state} are handed over by its volatile writes. */
    static final class Slot {
        final PrefetchingReader owner;
        final int index;
        int buffer = -1;
        long readOffset;
        int readLength;
        int want;
        int got;
        int errno;
        int retries;
        /** Set by an engine that has an exception rather than an errno for a failed read. */
        IOException cause;
        volatile int state;

        /** Which read of the range this is: the block at {@code base + seq * blockSize}. */
        long seq;

        Slot(PrefetchingReader owner, int index) {
            this.owner = owner;
            this.index = index;
        }

        long address() {
            return owner.engine.pool.address(buffer) + got;
        }

        long offset() {
            return readOffset + got;
        }

        int remaining() {
            return readLength - got;
        }
    }

    final AbstractEngine engine;
    final OpenFile file;
    /** What the engine keeps for this reader (the io_uring engine: the ring its reads go to). */
    final Object binding;
    private final long start;
    private final long end;
    private final long base;
    private final int blockSize;
    private final Slot[] slots;
    private long nextSubmit;
    private long nextHand;
    /**
     * Reads kept in flight now, up to the window. It starts at one and doubles each time the consumer
     * has to wait, as the kernel's own readahead ramps up: a file in the page cache is then copied
     * just before it is used, while the consumer's cache still holds it, and a file on the device is
     * read far enough ahead after a few blocks.
     */
    private int depth = 1;
    private final int maxDepth;
    /** Reads submitted and not yet handed out, in file order. */
    private final java.util.ArrayDeque<Slot> pending;
    /** Free slots, the one released last on top. */
    private final Slot[] free;
    private int freeCount;
    /** The highest read sequence completed so far, for counting completions out of order. */
    private volatile long lastCompleted = -1;
    private volatile Thread waiter;
    private volatile boolean closing;
    private boolean closed;
    private IOException failure;

    private long blocks;
    private long bytes;
    private long waits;
    private long waitNanos;

    PrefetchingReader(AbstractEngine engine, OpenFile file, long start, long end, int held) throws IOException {
        this.engine = engine;
        this.file = file;
        this.binding = engine.attach();
        this.start = start;
        this.end = end;
        this.base = start - (start % file.align);
        this.blockSize = engine.options.blockSize();
        this.maxDepth = engine.options.window();
        int window = maxDepth + held - 1;
        this.slots = new Slot[window];
        this.pending = new java.util.ArrayDeque<>(window);
        this.free = new Slot[window];
        for (int i = window - 1; i >= 0; i--) {
            slots[i] = new Slot(this, i);
            free[freeCount++] = slots[i];
        }
    }

    @Override
    public Block next() throws IOException {
        if (closed) {
            throw new IOException(file.path + ": reader is closed");
        }
        if (failure != null) {
            throw failure;
        }
        if (position() >= end) {
            returnIdleBuffers();
            return null;
        }
        fill();
        if (pending.isEmpty()) {
            throw new IllegalStateException(file.path + ": all " + slots.length
                    + " read-ahead blocks are held by the consumer; release a block before asking for the next");
        }
        Slot slot = pending.peekFirst();
        if (slot.state == IN_FLIGHT) {
            engine.poll(this);
        }
        if (slot.state == IN_FLIGHT) {
            long t0 = System.nanoTime();
            if (depth < maxDepth) {
                // The consumer caught up with the device: read further ahead from now on.
                depth = Math.min(maxDepth, depth * 2);
                fill();
            }
            engine.await(this, slot);
            long waited = System.nanoTime() - t0;
            waits++;
            waitNanos += waited;
            engine.waits.increment();
            engine.waitNanos.add(waited);
        }
        if (slot.state == FAILED) {
            failure = readFailure(slot);
            throw failure;
        }
        slot.state = HANDED;
        pending.pollFirst();
        nextHand++;
        long from = Math.max(start, slot.readOffset);
        long to = Math.min(end, slot.readOffset + slot.want);
        int skip = (int) (from - slot.readOffset);
        ByteBuffer data = engine.pool.buffer(slot.buffer).duplicate()
                .limit(skip + (int) (to - from)).position(skip).slice();
        blocks++;
        bytes += to - from;
        engine.blocks.increment();
        engine.bytes.add(to - from);
        return new Block(data, from, () -> release(slot));
    }

    private synchronized void release(Slot slot) {
        if (slot.state == HANDED) {
            slot.state = FREE;
            if (closed) {
                engine.pool.release(slot.buffer);
                slot.buffer = -1;
            } else {
                free[freeCount++] = slot;
            }
        }
    }

    /** Submits reads into the free slots up to the current depth, then flushes them to the kernel at once. */
    private void fill() throws IOException {
        int added = 0;
        while (nextSubmit - nextHand < depth) {
            long offset = base + nextSubmit * blockSize;
            if (Math.max(start, offset) >= end) {
                break;
            }
            if (freeCount == 0) {
                break;
            }
            Slot slot = free[freeCount - 1];
            if (slot.buffer < 0 && !takeBuffer(slot)) {
                break;
            }
            freeCount--;
            slot.seq = nextSubmit;
            long stop = Math.min(end, offset + blockSize);
            slot.readOffset = offset;
            slot.want = (int) (stop - offset);
            slot.readLength = file.direct ? (int) Math.min(blockSize, roundUp(slot.want, file.align)) : slot.want;
            slot.got = 0;
            slot.retries = 0;
            slot.errno = 0;
            slot.cause = null;
            slot.state = IN_FLIGHT;
            engine.inFlight.increment();
            pending.addLast(slot);
            engine.submit(slot);
            nextSubmit++;
            added++;
        }
        if (added > 0) {
            engine.flush(this);
        }
    }

    /**
     * Gives the slot a pool buffer. A reader always gets one (it waits for it when it has nothing in
     * flight); more only while the pool is not short, so that many open readers share it fairly.
     */
    private boolean takeBuffer(Slot slot) throws IOException {
        boolean first = pending.isEmpty();
        int index;
        if (!first && engine.pool.available() <= engine.pool.capacity() / 8) {
            return false;
        }
        index = engine.pool.tryAcquire();
        if (index < 0 && first) {
            try {
                index = engine.pool.acquire(POOL_WAIT_SECONDS, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException(file.path + ": interrupted while waiting for a read buffer");
            }
            if (index < 0) {
                throw new IOException(file.path + ": no read buffer free for " + POOL_WAIT_SECONDS + " s: all "
                        + engine.pool.capacity() + " buffers are held by other readers"
                        + " (raise ringbatch.io.buffer-pool-size or lower ringbatch.io.read-ahead)");
            }
        }
        if (index < 0) {
            return false;
        }
        slot.buffer = index;
        return true;
    }

    /**
     * A completion for {@code slot}: {@code res} bytes read, or {@code -errno}. Called on whatever
     * thread reaps it. Returns true when the rest of the slot's read must be submitted again (a short
     * read); the caller then submits it.
     */
    boolean complete(Slot slot, int res) {
        engine.reads.increment();
        if (closing) {
            finish(slot, res < 0 ? FAILED : READY);
            return false;
        }
        if (res < 0) {
            int errno = -res;
            if ((errno == Errno.EAGAIN || errno == Errno.EINTR) && ++slot.retries <= MAX_RETRIES) {
                return true;
            }
            slot.errno = errno;
            finish(slot, FAILED);
            return false;
        }
        slot.got += res;
        if (slot.got >= slot.want) {
            long last = lastCompleted;
            if (slot.seq < last) {
                engine.outOfOrder.increment(); // a later read of this range completed first
            } else {
                lastCompleted = slot.seq;
            }
            finish(slot, READY);
            return false;
        }
        // End of file before the range's end: the file shrank. An O_DIRECT read that stops short of
        // an alignment boundary has met the end of the file too.
        if (res == 0 || (file.direct && slot.got % file.align != 0)) {
            finish(slot, FAILED);
            return false;
        }
        return ++slot.retries <= MAX_RETRIES || failNoProgress(slot);
    }

    private boolean failNoProgress(Slot slot) {
        slot.errno = Errno.EIO;
        finish(slot, FAILED);
        return false;
    }

    private void finish(Slot slot, int state) {
        engine.inFlight.decrement();
        slot.state = state;
        Thread w = waiter;
        if (w != null) {
            LockSupport.unpark(w);
        }
    }

    /**
     * Parks the calling thread until {@code slot} leaves IN_FLIGHT; for engines whose completions
     * arrive on another thread. While the reader closes, interrupts are kept for later, not obeyed:
     * the buffer must not go back to the pool before the read ends.
     */
    void park(Slot slot) throws IOException {
        boolean interruptible = !closing;
        waiter = Thread.currentThread();
        boolean interrupted = false;
        try {
            while (slot.state == IN_FLIGHT) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(50));
                if (Thread.interrupted()) {
                    if (interruptible) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException(file.path + ": interrupted while waiting for a read");
                    }
                    interrupted = true;
                }
                if (slot.state == IN_FLIGHT) {
                    engine.flush(this); // a submission the kernel put off (EAGAIN) goes in again
                }
            }
        } finally {
            waiter = null;
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private IOException readFailure(Slot slot) {
        long at = slot.readOffset + slot.got;
        if (slot.cause != null) {
            return new IOException(file.path + ": read at offset " + at + " failed: " + slot.cause.getMessage(),
                    slot.cause);
        }
        if (slot.errno == 0) {
            return new IOException(file.path + ": file ended at offset " + at + " while " + end
                    + " bytes were expected (it was truncated while being read)");
        }
        return new IOException(file.path + ": read at offset " + at + " failed: " + Errno.describe(slot.errno));
    }

    private void returnIdleBuffers() {
        for (int i = 0; i < freeCount; i++) {
            Slot slot = free[i];
            if (slot.buffer >= 0) {
                engine.pool.release(slot.buffer);
                slot.buffer = -1;
            }
        }
    }

    @Override
    public long position() {
        return Math.min(end, Math.max(start, base + nextHand * blockSize));
    }

    @Override
    public long start() {
        return start;
    }

    @Override
    public long end() {
        return end;
    }

    @Override
    public String path() {
        return file.path;
    }

    @Override
    public boolean direct() {
        return file.direct;
    }

    @Override
    public ReaderStats stats() {
        return new ReaderStats(blocks, bytes, waits, waitNanos);
    }

    /**
     * Cancels what is in flight and waits for every read to complete before any buffer goes back to
     * the pool: the kernel may write into a buffer until its read completes. Blocks already handed out
     * stay valid until the consumer releases them (a batch chunk may still hold blocks of a file whose
     * reader it closed); each then goes straight back to the pool.
     */
    @Override
    public void close() {
        close(false);
    }

    /** As {@link #close()}; with {@code reclaim}, blocks still handed out are taken back too (the engine closes). */
    synchronized void close(boolean reclaim) {
        if (closed) {
            if (reclaim) {
                reclaimHanded();
            }
            return;
        }
        closing = true;
        try {
            for (Slot slot : slots) {
                if (slot.state == IN_FLIGHT) {
                    engine.cancel(slot);
                }
            }
            for (Slot slot : slots) {
                while (slot.state == IN_FLIGHT) {
                    try {
                        engine.await(this, slot);
                    } catch (IOException e) {
                        // the engine itself failed; keep waiting for the slot, never free it early
                        LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
                    }
                }
            }
        } finally {
            returnIdleBuffers();
            for (Slot slot : slots) {
                if (slot.buffer >= 0 && slot.state != IN_FLIGHT && slot.state != HANDED) {
                    engine.pool.release(slot.buffer);
                    slot.buffer = -1;
                    slot.state = FREE;
                }
            }
            if (reclaim) {
                reclaimHanded();
            }
            closed = true;
            file.close();
            engine.readerClosed(this);
        }
    }

    private void reclaimHanded() {
        for (Slot slot : slots) {
            if (slot.state == HANDED) {
                engine.pool.release(slot.buffer);
                slot.buffer = -1;
                slot.state = FREE;
            }
        }
    }

    private static long roundUp(long value, int align) {
        return (value + align - 1) / align * align;
    }
}
