package io.ringbatch.io;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A bounded pool of page-aligned direct buffers of one size, handed out by index. The index is
 * stable for the life of the pool, so an in-flight read can be named by its buffer's index (the
 * io_uring engine uses it as the request's user data). Buffers are allocated on first use, up to
 * {@code capacity}.
 * <p>
 * Every buffer has one owner at a time: the pool, or whoever acquired it until they release it. A
 * release of a buffer the pool already holds (the sign of two owners: the kernel may still be writing
 * into it for one while the other reads it) is refused; with {@link #checkOwners} on (tests), it is also
 * counted in {@link #ownershipViolations}, where a refusal swallowed on some error path still shows.
 */
public final class BufferPool {
    public static final int PAGE = 4096;

    private final int bufferSize;
    private final int capacity;
    private final ByteBuffer[] buffers;
    private final long[] addresses;
    private final int[] free;
    private final boolean[] taken;
    /** Tests turn this on: every refused release is counted, wherever it was caught. */
    static volatile boolean checkOwners;
    static final java.util.concurrent.atomic.AtomicLong ownershipViolations = new java.util.concurrent.atomic.AtomicLong();
    private int freeCount;
    private int allocated;
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition released = lock.newCondition();

    public BufferPool(int bufferSize, int capacity) {
        if (bufferSize <= 0 || bufferSize % PAGE != 0) {
            throw new IllegalArgumentException("buffer size must be a positive multiple of " + PAGE + ": " + bufferSize);
        }
        if (capacity <= 0) {
            throw new IllegalArgumentException("pool capacity must be positive: " + capacity);
        }
        this.bufferSize = bufferSize;
        this.capacity = capacity;
        this.buffers = new ByteBuffer[capacity];
        this.addresses = new long[capacity];
        this.free = new int[capacity];
        this.taken = new boolean[capacity];
    }

    public int bufferSize() {
        return bufferSize;
    }

    public int capacity() {
        return capacity;
    }

    /** Buffers that are not handed out (allocated or not yet). */
    public int available() {
        lock.lock();
        try {
            return freeCount + (capacity - allocated);
        } finally {
            lock.unlock();
        }
    }

    /** A buffer's index, or -1 when every buffer is in use. */
    public int tryAcquire() {
        lock.lock();
        try {
            return takeLocked();
        } finally {
            lock.unlock();
        }
    }

    /** A buffer's index, waiting up to {@code timeout} for one to be released; -1 on time-out. */
    public int acquire(long timeout, TimeUnit unit) throws InterruptedException {
        long nanos = unit.toNanos(timeout);
        lock.lockInterruptibly();
        try {
            int index;
            while ((index = takeLocked()) < 0) {
                if (nanos <= 0) {
                    return -1;
                }
                nanos = released.awaitNanos(nanos);
            }
            return index;
        } finally {
            lock.unlock();
        }
    }

    private int takeLocked() {
        if (freeCount > 0) {
            int index = free[--freeCount];
            taken[index] = true;
            return index;
        }
        if (allocated < capacity) {
            int index = allocated;
            ByteBuffer buffer = ByteBuffer.allocateDirect(bufferSize + PAGE).alignedSlice(PAGE)
                    .order(ByteOrder.nativeOrder());
            buffers[index] = buffer;
            addresses[index] = LibC.address(buffer);
            allocated++;
            taken[index] = true;
            return index;
        }
        return -1;
    }

    public void release(int index) {
        lock.lock();
        try {
            if (index < 0 || index >= allocated) {
                throw new IllegalArgumentException("not a buffer of this pool: " + index);
            }
            if (!taken[index]) {
                if (checkOwners) {
                    ownershipViolations.incrementAndGet();
                }
                throw new IllegalStateException("buffer " + index + " released twice: it had two owners");
            }
            taken[index] = false;
            free[freeCount++] = index;
            released.signal();
        } finally {
            lock.unlock();
        }
    }

    /** The whole buffer (position 0, limit = buffer size); callers slice their own views. */
    ByteBuffer buffer(int index) {
        return buffers[index];
    }

    long address(int index) {
        return addresses[index];
    }
}
