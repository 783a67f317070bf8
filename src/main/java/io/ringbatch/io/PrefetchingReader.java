package io.ringbatch.io;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.ByteBuffer;
import java.util.ArrayDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicIntegerFieldUpdater;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;

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
 * <p>
 * A read not complete within {@code ringbatch.io.read-timeout} (or {@value #CLOSE_WAIT_SECONDS} s after
 * a close) is cancelled and <em>abandoned</em>: its buffer stays with it until its completion arrives (a
 * read the kernel already runs ends in its own time, EALREADY), and whoever reaps that gives the buffer
 * back. A buffer the kernel may still write into is never handed to anyone else.
 */
final class PrefetchingReader implements BlockReader {
    static final int FREE = 0;
    static final int IN_FLIGHT = 1;
    static final int READY = 2;
    static final int FAILED = 3;
    static final int HANDED = 4;
    /** Given up by the reader (time-out, close): its completion, when it comes, frees the buffer. */
    static final int ABANDONED = 5;

    /** How long a close waits for its cancelled reads before it abandons them. */
    static final long CLOSE_WAIT_SECONDS = 10;
    private static final AtomicIntegerFieldUpdater<Slot> STATE = AtomicIntegerFieldUpdater.newUpdater(Slot.class, "state");

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
        /** The engine's name for the read in flight (the io_uring engine: its user data); 0 when none. */
        volatile long tag;
        /** When the read was first submitted (System.nanoTime), for its time-out. */
        long submittedAt;
        /** The tag a cancel was last sent for: one cancel per read, so the CQ's bound holds. */
        long cancelled;

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
    private final ArrayDeque<Slot> pending;
    /** Free slots, the one released last on top. */
    private final Slot[] free;
    private int freeCount;
    /** The highest read sequence completed so far, for counting completions out of order. */
    private volatile long lastCompleted = -1;
    private volatile Thread waiter;
    private volatile boolean closing;
    /** Set by a close from another thread while the consumer may wait inside {@link #next}: stop waiting. */
    private volatile boolean wake;
    /** While closing: when the close stops waiting for its reads (System.nanoTime). */
    private volatile long closeDeadline;
    private volatile boolean closed;
    private IOException failure;
    /** Held by {@link #next} and by a close: a close from another thread never frees what next() uses. */
    private final ReentrantLock use = new ReentrantLock();
    private final long readTimeoutNanos;

    private long blocks, bytes, waits, waitNanos;

    PrefetchingReader(AbstractEngine engine, OpenFile file, long start, long end, int held) throws IOException {
        this.engine = engine;
        this.file = file;
        this.binding = engine.attach();
        this.start = start;
        this.end = end;
        this.base = start - (start % file.align);
        this.blockSize = engine.options.blockSize();
        this.maxDepth = engine.options.window();
        this.readTimeoutNanos = engine.options.readTimeout().toNanos();
        int window = maxDepth + held - 1;
        this.slots = new Slot[window];
        this.pending = new ArrayDeque<>(window);
        this.free = new Slot[window];
        for (int i = window - 1; i >= 0; i--) {
            slots[i] = new Slot(this, i);
            free[freeCount++] = slots[i];
        }
    }

    @Override
    public Block next() throws IOException {
        use.lock();
        try {
            return nextLocked();
        } finally {
            use.unlock();
        }
    }

    private Block nextLocked() throws IOException {
        if (closed || closing) {
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
            while (slot.state == IN_FLIGHT) {
                try {
                    engine.await(this, slot);
                } catch (IOException | RuntimeException e) {
                    // the engine failed: the read may still be in the kernel's hands, so its buffer goes with it
                    abandon(slot);
                    failure = e instanceof IOException io ? io : new IOException(e.toString(), e);
                    throw failure;
                }
                if (slot.state == IN_FLIGHT) {
                    waitEnded(slot);
                }
            }
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

    /** The wait for {@code slot} ended with the read still in flight: a close, a time-out or a failed engine. */
    private void waitEnded(Slot slot) throws IOException {
        if (closing) {
            throw new IOException(file.path + ": reader is closed");
        }
        IOException broken = engine.failure;
        if (broken == null && System.nanoTime() - deadline(slot) < 0) {
            return; // spurious: the caller checks the state again
        }
        if (abandon(slot)) {
            failure = ReadFailures.stopped(file.path, slot.readOffset + slot.got, broken, engine.options.readTimeout());
            throw failure;
        }
    }

    /**
     * Cancels the read in {@code slot} and gives it up: true if it was still in flight (its completion,
     * whenever it comes, gives the buffer back to the pool), false if it completed meanwhile.
     */
    private boolean abandon(Slot slot) {
        // given up first, then cancelled: a reaper thread that took the cancelled read's completion (ECANCELED)
        // between the two would otherwise fail the slot with it, and the time-out would be reported as a
        // cancel nobody asked for
        if (STATE.compareAndSet(slot, IN_FLIGHT, ABANDONED)) {
            engine.cancel(slot);
            pending.remove(slot);
            return true;
        }
        return false;
    }

    /** When the wait for {@code slot} ends: its time-out, or a closing reader's own bound. */
    long deadline(Slot slot) {
        return closing && !wake ? closeDeadline : slot.submittedAt + readTimeoutNanos;
    }

    /** Whether an engine waiting for {@code slot} should stop: it completed, or see {@link #deadline}. */
    boolean waitOver(Slot slot) {
        return slot.state != IN_FLIGHT || wake || engine.failure != null || System.nanoTime() - deadline(slot) >= 0;
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

    /**
     * Prepares this reader's first read without handing it to the kernel (a {@link ReadAheadSequence}
     * submits the reads of a batch of readers at once with {@link #flushPrimed}). Takes a pool buffer only
     * while more than half of the pool is free, and never waits for one: if none is taken, the read starts
     * at the first {@link #next}. Returns whether a read was prepared.
     */
    boolean prime() throws IOException {
        use.lock();
        try {
            if (closed || closing || failure != null || !pending.isEmpty()) {
                return false;
            }
            priming = true;
            try {
                return fill(false) > 0;
            } finally {
                priming = false;
            }
        } finally {
            use.unlock();
        }
    }

    /** Hands the reads prepared by {@link #prime} (this reader's and others' on the same ring) to the kernel. */
    void flushPrimed() throws IOException {
        use.lock();
        try {
            flush();
        } finally {
            use.unlock();
        }
    }

    /** While {@link #prime} runs: a buffer only if the pool is more than half free, without waiting. */
    private boolean priming;

    /** Submits reads into the free slots up to the current depth, then flushes them to the kernel at once. */
    private void fill() throws IOException {
        fill(true);
    }

    private void flush() throws IOException {
        try {
            engine.flush(this);
        } catch (IOException | RuntimeException e) {
            // the reads are queued and may still go to the kernel: they stay in flight until they complete
            failure = e instanceof IOException io ? io : new IOException(file.path + ": " + e, e);
            throw failure;
        }
    }

    /** As {@link #fill()}; without {@code flush} the reads are queued for a later flush. Returns the reads queued. */
    private int fill(boolean flush) throws IOException {
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
            slot.submittedAt = System.nanoTime();
            slot.state = IN_FLIGHT;
            engine.inFlight.increment();
            pending.addLast(slot);
            try {
                engine.submit(slot);
            } catch (IOException | RuntimeException e) {
                // nothing was queued for this slot (an engine's submit throws only then): it is free again
                pending.pollLast();
                slot.state = FREE;
                engine.inFlight.decrement();
                free[freeCount++] = slot;
                failure = e instanceof IOException io ? io
                        : new IOException(file.path + ": read could not be submitted: " + e, e);
                throw failure;
            }
            nextSubmit++;
            added++;
        }
        if (added > 0 && flush) {
            flush();
        }
        return added;
    }

    /**
     * Gives the slot a pool buffer. A reader always gets one (it waits for it when it has nothing in
     * flight); more only while the pool is not short, so that many open readers share it fairly.
     */
    private boolean takeBuffer(Slot slot) throws IOException {
        boolean first = pending.isEmpty();
        int index;
        if (priming) {
            if (engine.pool.available() <= engine.pool.capacity() / 2) {
                return false;
            }
            first = false; // never waits
        } else if (!first && engine.pool.available() <= engine.pool.capacity() / 8) {
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
        if (slot.state == ABANDONED) {
            releaseAbandoned(slot);
            return false;
        }
        if (closing) {
            finish(slot, res < 0 ? FAILED : READY);
            return false;
        }
        if (res < 0) {
            int errno = -res;
            if (errno == Errno.EAGAIN && file.makeBlocking()) {
                return true; // a file system without non-blocking reads: the descriptor is blocking now
            }
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

    /** A completion whose handling threw: the read is over, so the slot fails with the cause. */
    void fail(Slot slot, Throwable cause) {
        slot.cause = cause instanceof IOException io ? io : new IOException(cause.toString(), cause);
        slot.errno = Errno.EIO;
        finish(slot, FAILED);
    }

    /** The completion of a read its reader gave up: the kernel is done with the buffer, which goes back. */
    private void releaseAbandoned(Slot slot) {
        engine.inFlight.decrement();
        engine.abandonedCompleted.increment();
        int buffer = slot.buffer;
        slot.buffer = -1;
        if (buffer >= 0) {
            engine.pool.release(buffer);
        }
    }

    private boolean failNoProgress(Slot slot) {
        slot.errno = Errno.EIO;
        finish(slot, FAILED);
        return false;
    }

    private void finish(Slot slot, int state) {
        if (!STATE.compareAndSet(slot, IN_FLIGHT, state)) {
            releaseAbandoned(slot);
            return;
        }
        engine.inFlight.decrement();
        LockSupport.unpark(waiter); // no-op when nobody waits
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
            while (!waitOver(slot)) {
                LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(50));
                if (Thread.interrupted()) {
                    if (interruptible) {
                        Thread.currentThread().interrupt();
                        throw new InterruptedIOException(file.path + ": interrupted while waiting for a read");
                    }
                    interrupted = true;
                }
                if (!waitOver(slot)) {
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
        return ReadFailures.failed(file.path, slot.readOffset + slot.got, end, slot.cause, slot.errno);
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
    void close(boolean reclaim) {
        close(reclaim, System.nanoTime() + TimeUnit.SECONDS.toNanos(CLOSE_WAIT_SECONDS));
    }

    /** As {@link #close(boolean)}, waiting for the consumer and for the cancelled reads until {@code deadline}. */
    synchronized void close(boolean reclaim, long deadline) {
        if (closed) {
            if (reclaim) {
                reclaimHanded();
            }
            return;
        }
        closeDeadline = deadline;
        closing = true;
        // a consumer inside next() (the engine closes from another thread) stops waiting and leaves
        wake = true;
        LockSupport.unpark(waiter); // no-op when nobody waits
        boolean locked = false;
        try {
            locked = use.tryLock(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!locked) {
            // the consumer is stuck inside next(): its slots cannot be touched; the engine leaves them be
            return;
        }
        wake = false;
        try {
            for (Slot slot : slots) {
                if (slot.state == IN_FLIGHT) {
                    engine.cancel(slot);
                }
            }
            for (Slot slot : slots) {
                while (slot.state == IN_FLIGHT && System.nanoTime() - closeDeadline < 0 && engine.failure == null) {
                    try {
                        engine.await(this, slot);
                    } catch (IOException | RuntimeException e) {
                        break; // the engine itself failed: the slot is given up below, never freed early
                    }
                }
                if (slot.state == IN_FLIGHT) {
                    abandon(slot); // its completion, whenever it comes, gives its buffer back
                }
            }
        } finally {
            use.unlock();
            returnIdleBuffers();
            for (Slot slot : slots) {
                int state = slot.state;
                if (slot.buffer >= 0 && state != IN_FLIGHT && state != ABANDONED && (reclaim || state != HANDED)) {
                    engine.pool.release(slot.buffer);
                    slot.buffer = -1;
                    slot.state = FREE;
                }
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
