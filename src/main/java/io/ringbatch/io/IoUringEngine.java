package io.ringbatch.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The kernel-async engine: one io_uring shared by every reader.
 * <p>
 * Readers prepare their reads under a short lock (filling SQEs and publishing the SQ tail) and call
 * {@code io_uring_enter} outside it, so one syscall carries every read a reader queued. A single
 * reaper thread waits in {@code io_uring_enter(GETEVENTS)}, reaps completions in batches and routes
 * each to the reader that owns it: a read's user data is the index of its pool buffer, which names
 * exactly one read in flight. The reaper only moves state and unparks consumers; it never touches
 * the data. Short reads are submitted again for the rest by the reaper itself.
 */
public final class IoUringEngine extends AbstractEngine {
    private static final Logger log = LoggerFactory.getLogger(IoUringEngine.class);
    private static final long STOP = -1L;
    private static final long CANCEL = 1L << 62;

    private final Ring ring;
    private final ReentrantLock sq = new ReentrantLock();
    private final PrefetchingReader.Slot[] inFlight;
    private final Thread reaper;
    private volatile IOException reaperFailure;

    public IoUringEngine(IoOptions options) throws IOException {
        super(options);
        // In-flight reads never exceed the pool, cancellations neither: size the CQ so nothing overflows.
        int cqEntries = Integer.highestOneBit(Math.max(2 * options.bufferPoolSize() + 16, 2 * options.queueDepth()) * 2 - 1);
        this.ring = new Ring(options.queueDepth(), cqEntries);
        try {
            if (!ring.supports(Uring.OP_READ)) {
                throw new IoUringUnavailableException("IORING_OP_READ (Linux 5.6 or later)", Errno.EINVAL);
            }
        } catch (IOException e) {
            ring.close();
            throw e;
        }
        this.inFlight = new PrefetchingReader.Slot[options.bufferPoolSize()];
        this.reaper = new Thread(this::reap, "ringbatch-uring-reaper");
        reaper.setDaemon(true);
        reaper.start();
    }

    @Override
    public String name() {
        return "io_uring";
    }

    /** Submission-queue entries the kernel gave the ring. */
    public int ringEntries() {
        return ring.sqEntries;
    }

    @Override
    OpenFile openFile(Path path, boolean direct) throws IOException {
        return NativeFile.open(path, direct);
    }

    @Override
    void submit(PrefetchingReader.Slot slot) throws IOException {
        int fd = ((NativeFile) slot.owner.file).fd;
        sq.lock();
        try {
            inFlight[slot.buffer] = slot;
            while (!ring.prepRead(fd, slot.address(), slot.remaining(), slot.offset(), slot.buffer)) {
                ring.enter(ring.publish(), 0); // the SQ is full: push it to the kernel and go on
            }
        } finally {
            sq.unlock();
        }
    }

    @Override
    void flush() throws IOException {
        IOException failed = reaperFailure;
        if (failed != null) {
            throw new IOException("the io_uring completion reaper failed", failed);
        }
        int toSubmit;
        sq.lock();
        try {
            toSubmit = ring.publish();
        } finally {
            sq.unlock();
        }
        if (toSubmit > 0) {
            ring.enter(toSubmit, 0);
        }
    }

    @Override
    void await(PrefetchingReader reader, PrefetchingReader.Slot slot) throws IOException {
        reader.park(slot);
    }

    @Override
    void cancel(PrefetchingReader.Slot slot) {
        sq.lock();
        try {
            if (ring.prepCancel(slot.buffer, CANCEL | slot.buffer)) {
                ring.enter(ring.publish(), 0);
            }
        } catch (IOException e) {
            // the read still completes on its own; cancelling only makes it sooner
        } finally {
            sq.unlock();
        }
    }

    private void reap() {
        boolean[] stop = {false};
        Ring.CompletionHandler route = (userData, res) -> {
            if (userData == STOP) {
                stop[0] = true;
            } else if ((userData & CANCEL) == 0) {
                PrefetchingReader.Slot slot = inFlight[(int) userData];
                if (slot.owner.complete(slot, res)) {
                    try {
                        submit(slot);
                        flush();
                    } catch (IOException e) {
                        slot.cause = e;
                        slot.owner.complete(slot, -Errno.EIO);
                    }
                }
            }
        };
        while (!stop[0]) {
            try {
                if (ring.cqReady() == 0) {
                    ring.enter(0, 1);
                }
                ring.reap(route);
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
        if (closed && !reaper.isAlive()) {
            return;
        }
        closeReaders();
        try {
            sq.lock();
            try {
                while (!ring.prepNop(STOP)) {
                    ring.enter(ring.publish(), 0);
                }
                ring.enter(ring.publish(), 0);
            } finally {
                sq.unlock();
            }
            reaper.join(TimeUnit.SECONDS.toMillis(10));
        } catch (IOException e) {
            log.warn("io_uring engine close: {}", e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (reaper.isAlive()) {
            // Unmapping under a live reaper would crash it; leaking one ring is the lesser harm.
            log.warn("io_uring reaper did not stop; leaving the ring mapped");
            return;
        }
        ring.close();
    }
}
