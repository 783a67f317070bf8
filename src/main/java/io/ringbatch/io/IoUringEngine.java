package io.ringbatch.io;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel-async engine: reads go to io_uring and the kernel fills the buffers while consumers
 * compute. Two ring topologies sit behind the same interface ({@link IoOptions.Topology}):
 * <ul>
 * <li>{@code PER_THREAD} (the default): each consumer thread has a ring of its own; a reader's reads
 * go to the ring of the thread that opened it, and that thread reaps it itself when it needs a block
 * that is not ready, inside the same {@code io_uring_enter} that waits. No hand-off and no reaper
 * thread; the ring's lock is only ever contended when another thread closes a reader.</li>
 * <li>{@code SHARED}: one ring for all readers; a reaper thread waits in
 * {@code io_uring_enter(GETEVENTS)} and routes each completion to its reader, unparking the consumer.</li>
 * </ul>
 * In both, a read's user data is the index of its pool buffer, which names exactly one read in
 * flight; SQEs are prepared and the SQ tail published under the ring's lock, and one
 * {@code io_uring_enter} carries every read a reader queued. Short reads are submitted again for the
 * rest by whoever reaps them. The benchmark in {@code bench/} compares the two.
 */
public final class IoUringEngine extends AbstractEngine {
    private static final Logger log = LoggerFactory.getLogger(IoUringEngine.class);
    private static final long STOP = -1L;
    private static final long CANCEL = 1L << 62;

    /** A ring and the lock that serialises preparing, publishing and reaping it. */
    private static final class RingHandle {
        final Ring ring;
        final ReentrantLock lock = new ReentrantLock();
        boolean closed;

        RingHandle(Ring ring) {
            this.ring = ring;
        }
    }

    private final IoOptions.Topology topology;
    private final int cqEntries;
    private final PrefetchingReader.Slot[] inFlight;
    private final Set<RingHandle> rings = ConcurrentHashMap.newKeySet();
    private final ThreadLocal<RingHandle> threadRing = new ThreadLocal<>();
    private final RingHandle shared;
    private final Thread reaper;
    private final Ring.CompletionHandler route = this::route;
    private volatile IOException reaperFailure;

    public IoUringEngine(IoOptions options) throws IOException {
        super(options);
        this.topology = options.topology();
        // In-flight reads never exceed the pool, cancellations neither: size the CQ so nothing overflows.
        int wanted = Math.max(2 * options.bufferPoolSize() + 16, 2 * options.queueDepth());
        this.cqEntries = Integer.highestOneBit(wanted * 2 - 1);
        this.inFlight = new PrefetchingReader.Slot[options.bufferPoolSize()];
        Ring first = new Ring(options.queueDepth(), cqEntries);
        try {
            if (!first.supports(Uring.OP_READ)) {
                throw new IoUringUnavailableException("IORING_OP_READ (Linux 5.6 or later)", Errno.EINVAL);
            }
        } catch (IOException e) {
            first.close();
            throw e;
        }
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

    @Override
    OpenFile openFile(InputFile input, boolean direct) throws IOException {
        return NativeFile.open(input, direct);
    }

    @Override
    Object attach() throws IOException {
        if (shared != null) {
            return shared;
        }
        RingHandle handle = threadRing.get();
        if (handle == null || handle.closed) {
            handle = new RingHandle(new Ring(options.queueDepth(), cqEntries));
            rings.add(handle);
            threadRing.set(handle);
        }
        return handle;
    }

    private static RingHandle handle(PrefetchingReader reader) {
        return (RingHandle) reader.binding;
    }

    @Override
    void submit(PrefetchingReader.Slot slot) throws IOException {
        int fd = ((NativeFile) slot.owner.file).fd;
        RingHandle h = handle(slot.owner);
        h.lock.lock();
        try {
            inFlight[slot.buffer] = slot;
            while (!h.ring.prepRead(fd, slot.address(), slot.remaining(), slot.offset(), slot.buffer)) {
                h.ring.enter(h.ring.publish(), 0); // the SQ is full: push it to the kernel and go on
            }
        } finally {
            h.lock.unlock();
        }
    }

    @Override
    void flush(PrefetchingReader reader) throws IOException {
        IOException failed = reaperFailure;
        if (failed != null) {
            throw new IOException("the io_uring completion reaper failed", failed);
        }
        RingHandle h = handle(reader);
        int toSubmit;
        h.lock.lock();
        try {
            toSubmit = h.ring.publish();
        } finally {
            h.lock.unlock();
        }
        // outside the lock: the kernel may copy cached data inline, and other submitters need not wait
        if (toSubmit > 0) {
            h.ring.enter(toSubmit, 0);
        }
    }

    @Override
    void poll(PrefetchingReader reader) {
        if (shared == null) {
            RingHandle h = handle(reader);
            h.lock.lock();
            try {
                if (h.ring.cqReady() > 0) {
                    h.ring.reap(route);
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
        h.lock.lock();
        try {
            while (slot.state == PrefetchingReader.IN_FLIGHT) {
                if (h.ring.cqReady() == 0) {
                    h.ring.enter(h.ring.unsubmitted(), 1);
                }
                h.ring.reap(route);
            }
        } finally {
            h.lock.unlock();
        }
    }

    @Override
    void cancel(PrefetchingReader.Slot slot) {
        RingHandle h = handle(slot.owner);
        h.lock.lock();
        try {
            if (h.ring.prepCancel(slot.buffer, CANCEL | slot.buffer)) {
                h.ring.enter(h.ring.publish(), 0);
            }
        } catch (IOException e) {
            // the read still completes on its own; cancelling only makes it sooner
        } finally {
            h.lock.unlock();
        }
    }

    /** One completion, on the thread that reaped it: to its reader, and the rest of a short read back in. */
    private void route(long userData, int res) {
        if ((userData & CANCEL) != 0) {
            return;
        }
        PrefetchingReader.Slot slot = inFlight[(int) userData];
        if (slot.owner.complete(slot, res)) {
            try {
                submit(slot);
                flush(slot.owner);
            } catch (IOException e) {
                slot.cause = e;
                slot.owner.complete(slot, -Errno.EIO);
            }
        }
    }

    private void reap() {
        boolean[] stop = {false};
        Ring ring = shared.ring;
        Ring.CompletionHandler handler = (userData, res) -> {
            if (userData == STOP) {
                stop[0] = true;
            } else {
                route(userData, res);
            }
        };
        while (!stop[0]) {
            try {
                if (ring.cqReady() == 0) {
                    ring.enter(ring.unsubmitted(), 1);
                }
                ring.reap(handler);
            } catch (IOException | RuntimeException e) {
                reaperFailure = e instanceof IOException io ? io : new IOException(e);
                log.error("io_uring completion reaper: {}", e.toString());
                try {
                    TimeUnit.MILLISECONDS.sleep(100);
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public void close() {
        if (closed && rings.isEmpty()) {
            return;
        }
        closeReaders();
        if (reaper != null && !stopReaper()) {
            // Unmapping under a live reaper would crash it; leaking one ring is the lesser harm.
            log.warn("io_uring reaper did not stop; leaving the ring mapped");
            return;
        }
        for (RingHandle h : rings.toArray(new RingHandle[0])) {
            h.lock.lock();
            try {
                h.closed = true;
                h.ring.close();
            } finally {
                h.lock.unlock();
            }
            rings.remove(h);
        }
    }

    private boolean stopReaper() {
        try {
            shared.lock.lock();
            try {
                while (!shared.ring.prepNop(STOP)) {
                    shared.ring.enter(shared.ring.publish(), 0);
                }
                shared.ring.enter(shared.ring.publish(), 0);
            } finally {
                shared.lock.unlock();
            }
            reaper.join(TimeUnit.SECONDS.toMillis(10));
        } catch (IOException e) {
            log.warn("io_uring engine close: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return !reaper.isAlive();
    }
}
