package io.ringbatch.io;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel-async engine: reads go to io_uring and the kernel fills the buffers while consumers
 * compute. Two ring topologies sit behind the same interface ({@link IoOptions.Topology}):
 * <ul>
 * <li>{@code PER_THREAD} (the default): each consumer thread has a ring of its own; a reader's reads
 * go to the ring of the thread that opened it, and that thread reaps it itself when it needs a block
 * that is not ready, in an {@code io_uring_enter} that waits. No hand-off and no reaper thread.</li>
 * <li>{@code SHARED}: one ring for all readers; a reaper thread waits in
 * {@code io_uring_enter(GETEVENTS)} and routes each completion to its reader, unparking the consumer.</li>
 * </ul>
 * Every SQE carries a tag in its user data: the operation in the top four bits and, for a read, a
 * generation (new at every submission, a short read's rest included) and the pool buffer's index. A
 * completion whose tag is not the one its buffer's read carries now (late, twice, of an earlier read of
 * that buffer) is dropped and counted, never given to whoever owns the buffer now; a cancel names the
 * exact tag, so a cancel the kernel takes late cannot hit a later read. SQEs are prepared and published
 * under the ring's lock; waits in {@code io_uring_enter} happen outside it and last at most
 * {@link #TICK_NANOS}, so a cancel or a close never waits for a waiter, and every wait sees its read's
 * time-out. Short reads are submitted again for the rest by whoever reaps them.
 * <p>
 * Closing is ordered: no new readers, each reader cancels its reads and waits for them (bounded),
 * the reaper stops, the rings are drained (bounded), marked closed (any later use throws), and unmapped
 * once no thread is inside {@code io_uring_enter}.
 */
public final class IoUringEngine extends AbstractEngine {
    private static final Logger log = LoggerFactory.getLogger(IoUringEngine.class);
    private static final long LOW = (1L << 60) - 1;
    static final long READ = 1L << 60;
    static final long CANCEL = 2L << 60;
    static final long TIMEOUT = 3L << 60;
    static final long STOP = 4L << 60;
    private static final int BUFFER_BITS = 24;
    private static final long BUFFER_MASK = (1L << BUFFER_BITS) - 1;
    /** The longest a thread stays in one io_uring_enter: how soon a waiter sees a close or a time-out. */
    static final long TICK_NANOS = TimeUnit.MILLISECONDS.toNanos(200);
    /**
     * How long a close waits in all (readers' reads, draining the rings, threads still inside
     * io_uring_enter) unless {@link #closeBy} gave it a deadline.
     */
    private static final long CLOSE_WAIT_NANOS = TimeUnit.SECONDS.toNanos(10);

    /** A ring and the lock that serialises preparing, publishing and reaping it. */
    private final class RingHandle {
        final Ring ring;
        final ReentrantLock lock = new ReentrantLock();
        final Ring.CompletionHandler handler = (userData, res) -> route(this, userData, res);
        /** Threads inside io_uring_enter without the lock; the mapping stays until none is. */
        final AtomicInteger entering = new AtomicInteger();
        // the fields below only under the lock
        boolean closed;
        boolean stop;
        /** SQEs whose completion has not been reaped yet. */
        int outstanding;
        boolean timeoutArmed;

        RingHandle(Ring ring) {
            this.ring = ring;
        }
    }

    private final IoOptions.Topology topology;
    private final int cqEntries;
    private final int setupFlags;
    private final boolean timedWait;
    /** The read each pool buffer is in flight for, by buffer index. */
    private final PrefetchingReader.Slot[] owners;
    private final Set<RingHandle> rings = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<RingHandle> threadRing = new ThreadLocal<>();
    private final AtomicLong generation = new AtomicLong();
    private final RingHandle shared;
    private final Thread reaper;
    private boolean shutDown;

    public IoUringEngine(IoOptions options) throws IOException {
        super(options);
        this.topology = options.topology();
        if (options.bufferPoolSize() > BUFFER_MASK) {
            throw new IllegalArgumentException("ringbatch.io.buffer-pool-size is at most " + BUFFER_MASK);
        }
        // At most one completion per buffer (a read, or the rest of a short one, goes in only once the
        // last completed), one per cancel (at most one per read), one time-out and one stop: size the CQ
        // for all of them and the queue depth besides, so that it cannot overflow.
        int wanted = 2 * options.bufferPoolSize() + options.queueDepth() + 16;
        this.cqEntries = Integer.highestOneBit(wanted * 2 - 1);
        this.owners = new PrefetchingReader.Slot[options.bufferPoolSize()];
        Ring first;
        try {
            first = Ring.open(options.queueDepth(), cqEntries, -1);
        } catch (IoUringUnavailableException e) {
            throw e.errno() == Errno.EINVAL
                    ? new IoUringUnavailableException("io_uring_setup (even without the optional flags; ringbatch"
                    + " needs Linux 5.6 or later)", e.errno()) : e;
        }
        try {
            if (!first.supports(Uring.OP_READ)) {
                throw new IoUringUnavailableException("IORING_OP_READ (Linux 5.6 or later)", Errno.EINVAL);
            }
        } catch (IOException e) {
            first.close();
            throw e;
        }
        this.setupFlags = first.setupFlags;
        this.timedWait = first.timedWait();
        RingHandle handle = new RingHandle(first);
        rings.add(handle);
        if (topology == IoOptions.Topology.SHARED) {
            this.shared = handle;
            this.reaper = new Thread(this::reap, "ringbatch-uring-reaper");
            reaper.setDaemon(true);
            reaper.start();
        } else {
            this.shared = null;
            this.reaper = null;
            threadRing.set(handle);
        }
    }

    @Override
    public String name() {
        return "io_uring";
    }

    public IoOptions.Topology topology() {
        return topology;
    }

    /** Submission-queue entries the kernel gave each ring. */
    public int ringEntries() {
        return rings.iterator().next().ring.sqEntries;
    }

    /** Rings this engine has set up and not closed. */
    public int rings() {
        return rings.size();
    }

    /** Completions dropped because they named no read in flight (late, repeated, or of an earlier read). */
    public long staleCompletions() {
        return staleCompletions.sum();
    }

    /** The optional kernel features in use, as the kernel names them: what set-up could negotiate. */
    public List<String> features() {
        List<String> features = new ArrayList<>(List.of("IORING_SETUP_CQSIZE"));
        if ((setupFlags & Uring.SETUP_CLAMP) != 0) {
            features.add("IORING_SETUP_CLAMP");
        }
        if ((setupFlags & Uring.SETUP_SUBMIT_ALL) != 0) {
            features.add("IORING_SETUP_SUBMIT_ALL");
        }
        // timed waits: in io_uring_enter itself from 5.11, by an IORING_OP_TIMEOUT before
        features.add(timedWait ? "IORING_FEAT_EXT_ARG" : "IORING_OP_TIMEOUT");
        return features;
    }

    @Override
    OpenFile openFile(InputFile input, boolean direct) throws IOException {
        return NativeFile.open(input, direct);
    }

    @Override
    Object attach() throws IOException {
        if (closed) {
            throw new IOException("the io_uring engine is closed");
        }
        if (shared != null) {
            return shared;
        }
        RingHandle handle = threadRing.get();
        if (handle == null || handle.closed) {
            handle = new RingHandle(Ring.open(options.queueDepth(), cqEntries, setupFlags));
            rings.add(handle);
            if (closed) {
                // the engine closed meanwhile, perhaps after it went through its rings: this one it never saw
                rings.remove(handle);
                handle.ring.close();
                throw new IOException("the io_uring engine is closed");
            }
            threadRing.set(handle);
        }
        return handle;
    }

    private static RingHandle handle(PrefetchingReader reader) {
        return (RingHandle) reader.binding;
    }

    private static void checkOpen(RingHandle h) throws IOException {
        if (h.closed) {
            throw new IOException("the io_uring engine is closed");
        }
    }

    @Override
    void submit(PrefetchingReader.Slot slot) throws IOException {
        RingHandle h = handle(slot.owner);
        h.lock.lock();
        try {
            checkOpen(h);
            prepRead(h, slot);
        } finally {
            h.lock.unlock();
        }
    }

    /** Prepares the slot's read under a new tag; throws only when nothing was prepared. Under the lock. */
    private void prepRead(RingHandle h, PrefetchingReader.Slot slot) throws IOException {
        int fd = ((NativeFile) slot.owner.file).fd;
        long tag = READ | ((generation.incrementAndGet() << BUFFER_BITS) & LOW & ~BUFFER_MASK) | slot.buffer;
        owners[slot.buffer] = slot;
        slot.tag = tag;
        while (!h.ring.prepRead(fd, slot.address(), slot.remaining(), slot.offset(), tag)) {
            try {
                h.ring.enter(h.ring.publish(), 0); // the SQ is full: push it to the kernel and go on
            } catch (IOException e) {
                slot.tag = 0;
                throw e;
            }
        }
        h.outstanding++;
    }

    @Override
    void flush(PrefetchingReader reader) throws IOException {
        IOException failed = failure;
        if (failed != null) {
            throw new IOException(failed.getMessage(), failed);
        }
        RingHandle h = handle(reader);
        int toSubmit;
        h.lock.lock();
        try {
            checkOpen(h);
            toSubmit = h.ring.publish();
            h.entering.incrementAndGet();
        } finally {
            h.lock.unlock();
        }
        // outside the lock: the kernel may copy cached data inline, and other submitters need not wait
        try {
            if (toSubmit > 0) {
                h.ring.enter(toSubmit, 0);
            }
        } finally {
            h.entering.decrementAndGet();
        }
    }

    @Override
    void poll(PrefetchingReader reader) {
        if (shared == null) {
            RingHandle h = handle(reader);
            h.lock.lock();
            try {
                if (!h.closed && h.ring.cqReady() > 0) {
                    h.ring.reap(h.handler);
                }
            } finally {
                h.lock.unlock();
            }
        }
    }

    @Override
    void await(PrefetchingReader reader, PrefetchingReader.Slot slot) throws IOException {
        if (shared != null) {
            reader.park(slot);
            return;
        }
        RingHandle h = handle(reader);
        while (!reader.waitOver(slot)) {
            waitOnce(h, Math.min(TICK_NANOS, Math.max(1, reader.deadline(slot) - System.nanoTime())));
        }
    }

    /**
     * Reaps what is there, or else waits in io_uring_enter (without the lock, at most {@code nanos}) for
     * a completion and reaps it.
     */
    private void waitOnce(RingHandle h, long nanos) throws IOException {
        int toSubmit;
        h.lock.lock();
        try {
            checkOpen(h);
            if (h.ring.cqReady() > 0 || h.ring.held()) {
                h.ring.reap(h.handler);
                return;
            }
            if (!timedWait && !h.timeoutArmed && h.ring.prepTimeout(TICK_NANOS, TIMEOUT)) {
                h.timeoutArmed = true; // before 5.11: a timer's completion ends the wait
                h.outstanding++;
            }
            toSubmit = h.ring.publish();
            h.entering.incrementAndGet();
        } finally {
            h.lock.unlock();
        }
        try {
            h.ring.enter(toSubmit, 1, nanos);
        } finally {
            h.entering.decrementAndGet();
        }
        h.lock.lock();
        try {
            if (!h.closed) {
                h.ring.reap(h.handler);
            }
        } finally {
            h.lock.unlock();
        }
    }

    @Override
    void cancel(PrefetchingReader.Slot slot) {
        long tag = slot.tag;
        if (tag == 0) {
            return; // not in the kernel's hands
        }
        RingHandle h = handle(slot.owner);
        h.lock.lock();
        try {
            if (h.closed || slot.cancelled == tag || slot.tag != tag) {
                return;
            }
            if (h.ring.prepCancel(tag, CANCEL | (tag & LOW))) {
                slot.cancelled = tag;
                h.outstanding++;
                h.ring.enter(h.ring.publish(), 0);
            }
        } catch (IOException e) {
            // the read still completes on its own; cancelling only makes it sooner, and every wait is bounded
        } finally {
            h.lock.unlock();
        }
    }

    /** One completion, on the thread that reaped it (under the ring's lock): to its read, if it is its own. */
    private void route(RingHandle h, long userData, int res) {
        long op = userData & ~LOW;
        if (op == READ) {
            int buffer = (int) (userData & BUFFER_MASK);
            PrefetchingReader.Slot slot = buffer < owners.length ? owners[buffer] : null;
            if (slot == null || slot.tag != userData) {
                staleCompletions.increment();
                return;
            }
            slot.tag = 0;
            h.outstanding--;
            try {
                if (slot.owner.complete(slot, res)) {
                    resubmit(h, slot);
                }
            } catch (Throwable t) {
                // never out of here: the completion is taken, so the slot ends with the cause
                log.error("io_uring completion of {} failed: {}", slot.owner.file.path, t.toString());
                try {
                    slot.owner.fail(slot, t);
                } catch (Throwable again) {
                    log.error("io_uring completion: {}", again.toString());
                }
            }
        } else if (op == CANCEL || op == TIMEOUT || op == STOP) {
            h.outstanding--;
            h.timeoutArmed &= op != TIMEOUT;
            h.stop |= op == STOP;
        } else {
            staleCompletions.increment();
        }
    }

    /** The rest of a short read goes in again; the SQE is published now and submitted at the next enter. */
    private void resubmit(RingHandle h, PrefetchingReader.Slot slot) {
        try {
            if (h.closed) {
                throw new IOException("the io_uring engine is closed");
            }
            prepRead(h, slot);
            h.ring.publish();
        } catch (IOException e) {
            slot.owner.fail(slot, e); // nothing was prepared: no SQE can still reach the buffer
        }
    }

    /**
     * The shared ring's reaper. A transient error of io_uring_enter (ENOMEM: the kernel is short) is
     * retried with a growing pause, up to 1 s; any other is permanent: it is reported to every waiter
     * (they fail with it) and the reaper ends.
     */
    private void reap() {
        RingHandle h = shared;
        int failures = 0;
        while (true) {
            try {
                h.lock.lock();
                try {
                    if (h.closed || h.stop) {
                        return;
                    }
                } finally {
                    h.lock.unlock();
                }
                waitOnce(h, TICK_NANOS);
                if (failures > 0) {
                    log.info("io_uring completion reaper: recovered after {} failed attempt(s)", failures);
                    failures = 0;
                }
            } catch (Ring.EnterException e) {
                if (e.errno != Errno.ENOMEM) {
                    fail(e);
                    return;
                }
                if (failures++ == 0) {
                    log.warn("io_uring completion reaper: {}; trying again", e.getMessage());
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(Math.min(1000, 1L << Math.min(failures, 10))));
            } catch (Throwable t) {
                fail(t);
                return;
            }
        }
    }

    private void fail(Throwable t) {
        failure = new IOException("the io_uring completion reaper failed: " + t, t);
        log.error("io_uring completion reaper failed; every read waiting fails: {}", t.toString());
    }

    @Override
    public void close() {
        synchronized (this) {
            if (shutDown) {
                return;
            }
            shutDown = true;
        }
        // one deadline for every stage: what the shutdown left the engine (closeBy), else CLOSE_WAIT_NANOS
        long deadline = closeDeadline(CLOSE_WAIT_NANOS);
        closeReaders(deadline);
        if (reaper != null) {
            stopReaper(deadline);
        }
        for (RingHandle h : rings.toArray(new RingHandle[0])) {
            drain(h, deadline);
            h.lock.lock();
            try {
                h.closed = true;
            } finally {
                h.lock.unlock();
            }
            while (h.entering.get() > 0 && System.nanoTime() - deadline < 0) {
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
            }
            if (h.entering.get() > 0) {
                // Unmapping under a thread still in io_uring_enter could crash it; one leaked ring is the lesser harm.
                log.warn("io_uring engine close: a thread is still inside io_uring_enter; leaving its ring mapped");
                continue;
            }
            h.ring.close();
            rings.remove(h);
        }
    }

    /** Reaps the ring until nothing it carries is outstanding, or the deadline. */
    private void drain(RingHandle h, long deadline) {
        try {
            while (System.nanoTime() - deadline < 0) {
                h.lock.lock();
                try {
                    if (h.closed || h.outstanding <= 0) {
                        return;
                    }
                } finally {
                    h.lock.unlock();
                }
                waitOnce(h, TICK_NANOS);
            }
            log.warn("io_uring engine close: {} operation(s) still in the kernel at the close's deadline; the ring's"
                    + " close ends them", h.outstanding);
        } catch (IOException | RuntimeException e) {
            log.warn("io_uring engine close: {}", e.toString());
        }
    }

    private void stopReaper(long deadline) {
        try {
            shared.lock.lock();
            try {
                if (!shared.closed && shared.ring.prepNop(STOP)) {
                    shared.outstanding++;
                    shared.ring.enter(shared.ring.publish(), 0);
                }
            } finally {
                shared.lock.unlock();
            }
        } catch (IOException e) {
            log.warn("io_uring engine close: {}", e.toString()); // the reaper still ends at its next tick
        }
        shared.lock.lock();
        try {
            shared.stop = true;
        } finally {
            shared.lock.unlock();
        }
        try {
            reaper.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
