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
    /** The opens ahead of use ({@link OpenAhead}): IORING_OP_OPENAT2, IORING_OP_STATX, IORING_OP_CLOSE. */
    static final long OPEN = 5L << 60;
    static final long STATX = 6L << 60;
    static final long CLOSE = 7L << 60;
    /** Files a lookahead keeps opening ahead of its consumer. */
    static final int OPEN_AHEAD = 16;
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
        /** The opens, stats and closes of lookaheads in the kernel, by their exact user data. */
        final java.util.Map<Long, OpenAhead.Entry> ahead = new java.util.HashMap<>();

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
    /** Whether the kernel has IORING_OP_OPENAT2, STATX and CLOSE (IORING_REGISTER_PROBE at start). */
    private final boolean ringOpens;
    private final ThreadLocal<OpenAhead> threadAhead = new ThreadLocal<>();
    private final Set<OpenAhead> lookaheads = ConcurrentHashMap.newKeySet();
    /** Files a consumer took opened and stat'ed by the ring, and files a lookahead opened synchronously. */
    private final java.util.concurrent.atomic.LongAdder openedAhead = new java.util.concurrent.atomic.LongAdder();
    private final java.util.concurrent.atomic.LongAdder openedInline = new java.util.concurrent.atomic.LongAdder();

    public IoUringEngine(IoOptions options) throws IOException {
        super(options);
        this.topology = options.topology();
        if (options.bufferPoolSize() > BUFFER_MASK) {
            throw new IllegalArgumentException("ringbatch.io.buffer-pool-size is at most " + BUFFER_MASK);
        }
        // At most one completion per buffer (a read, or the rest of a short one, goes in only once the
        // last completed), one per cancel (at most one per read), one time-out and one stop: size the CQ
        // for all of them and the queue depth besides, so that it cannot overflow.
        // A lookahead adds at most one completion per entry of its window (an open, then its statx or its
        // close), and one closed lookahead's late completions besides.
        int wanted = 2 * options.bufferPoolSize() + options.queueDepth() + 16 + 4 * OPEN_AHEAD;
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
        boolean opens;
        try {
            opens = first.supports(Uring.OP_OPENAT2) && first.supports(Uring.OP_STATX) && first.supports(Uring.OP_CLOSE);
        } catch (IOException e) {
            opens = false;
        }
        Faults faults = Faults.active;
        this.ringOpens = opens && (faults == null || !faults.noRingOpens);
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

    /** Whether files are opened ahead through the ring ({@code IORING_OP_OPENAT2}, {@code STATX}, {@code CLOSE}). */
    public boolean ringOpens() {
        return ringOpens;
    }

    /** Files a reader got opened and stat'ed through the ring ahead of use. */
    public long openedAhead() {
        return openedAhead.sum();
    }

    /** Files a lookahead named but that were opened synchronously (fallback, out of order). */
    public long openedInline() {
        return openedInline.sum();
    }

    /** Lookaheads still open or with operations in the kernel. */
    int lookaheads() {
        return lookaheads.size();
    }

    @Override
    OpenFile openFile(InputFile input, boolean direct) throws IOException {
        OpenAhead ahead = threadAhead.get();
        if (ahead != null) {
            InputFile.Opened opened = ahead.take(input);
            if (opened != null) {
                return NativeFile.of(input, opened, direct, options.blockSize());
            }
        }
        return NativeFile.open(input, direct, options.blockSize());
    }

    @Override
    public Lookahead openAhead(java.util.Iterator<InputFile> upcoming) {
        if (!ringOpens || shared != null || !Dir.openat2() || closed) {
            // the shared ring's completions go to its reaper, and without openat2 the confinement is the
            // component-by-component walk: both open synchronously
            return Lookahead.NONE;
        }
        RingHandle h;
        try {
            h = (RingHandle) attach();
        } catch (IOException e) {
            return Lookahead.NONE; // the reader's own open reports it
        }
        OpenAhead previous = threadAhead.get();
        if (previous != null) {
            previous.close();
        }
        OpenAhead ahead = new OpenAhead(h, upcoming);
        threadAhead.set(ahead);
        lookaheads.add(ahead);
        ahead.fill();
        return ahead;
    }

    /**
     * Opens and checks files ahead of their consumer through its thread's ring: for each file an
     * {@code IORING_OP_OPENAT2} beneath the root's descriptor, confined as {@link Dir#openFd} is
     * ({@code RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS}, {@code O_NOFOLLOW |
     * O_NONBLOCK | O_CLOEXEC}), then an {@code IORING_OP_STATX} of the descriptor it opened, which is what
     * the identity check uses; up to {@link #OPEN_AHEAD} files in flight, submitted in batches. Each
     * submission is tagged as the reads are (the operation in the top four bits, a new generation), and
     * its completion goes to its entry only if the tag is still in {@link RingHandle#ahead}. An entry
     * passed over is closed with {@code IORING_OP_CLOSE}; one abandoned while in the kernel is closed when
     * its completion comes, so no descriptor leaks. Where an open completes with EINVAL or EOPNOTSUPP (a
     * kernel without the operation) or EAGAIN, the file is opened synchronously, as before. Used by one
     * thread; its entries change only under the ring's lock.
     */
    final class OpenAhead implements Lookahead {
        private static final int QUEUED = 0;
        private static final int OPENING = 1;
        private static final int STATING = 2;
        private static final int DONE = 3;
        private static final int FAILED = 4;
        private static final int CLOSING = 5;
        private static final int GONE = 6;
        /** statx buffer at 0, open_how at 256, an empty path at 288, the path from 320. */
        private static final int HOW = Uring.STATX_SIZE;
        private static final int EMPTY = HOW + 32;
        private static final int PATH = EMPTY + 32;
        private static final int MEMORY = PATH + 4096 + 1;

        /** One file in the window. Its fields change only under the ring's lock. */
        final class Entry {
            final InputFile input;
            final java.nio.ByteBuffer memory;
            int state = QUEUED;
            int fd = -1;
            int errno;
            Stat stat;
            /** Given up (passed over, the lookahead closed): its descriptor is closed once it has one. */
            boolean abandoned;

            Entry(InputFile input, java.nio.ByteBuffer memory) {
                this.input = input;
                this.memory = memory;
            }

            boolean inKernel() {
                return state == OPENING || state == STATING || state == CLOSING;
            }

            OpenAhead owner() {
                return OpenAhead.this;
            }
        }

        private final RingHandle h;
        private final java.util.Iterator<InputFile> upcoming;
        private final java.util.ArrayDeque<Entry> window = new java.util.ArrayDeque<>();
        /** Entries with an operation in the kernel, the abandoned ones included. */
        private int busy;
        private final java.util.ArrayDeque<java.nio.ByteBuffer> spare = new java.util.ArrayDeque<>();
        private boolean closed;

        OpenAhead(RingHandle h, java.util.Iterator<InputFile> upcoming) {
            this.h = h;
            this.upcoming = upcoming;
        }

        /** Opens the next files until the window is full: one batch, one io_uring_enter. */
        void fill() {
            int prepared = 0;
            h.lock.lock();
            try {
                if (closed || h.closed) {
                    return;
                }
                while (window.size() < OPEN_AHEAD && upcoming.hasNext()) {
                    InputFile input = upcoming.next();
                    Entry e = new Entry(input, memory());
                    window.add(e);
                    if (input.root() == null || input.rel().length() > MEMORY - PATH - 1) {
                        e.state = FAILED; // opened synchronously when taken
                        e.errno = Errno.EINVAL;
                        continue;
                    }
                    try {
                        input.root().beforeRingOpen(input.rel());
                    } catch (IOException ex) {
                        e.state = FAILED; // the synchronous open refuses it with its own message
                        e.errno = Errno.EINVAL;
                        continue;
                    }
                    byte[] path = FileNames.cString(input.rel());
                    e.memory.put(PATH, path);
                    e.memory.putLong(HOW, (Dir.O_RDONLY | Dir.O_NONBLOCK | Dir.O_NOFOLLOW | Dir.O_CLOEXEC) & 0xffffffffL);
                    e.memory.putLong(HOW + 8, 0);
                    e.memory.putLong(HOW + 16, Dir.RESOLVE_CONFINED);
                    e.memory.put(EMPTY, (byte) 0);
                    long base = LibC.address(e.memory);
                    long tag = tag(OPEN);
                    while (!h.ring.prepOpenat2(input.root().fd(), base + PATH, base + HOW, tag)) {
                        h.ring.enter(h.ring.publish(), 0); // the SQ is full: push it to the kernel and go on
                    }
                    h.ahead.put(tag, e);
                    h.outstanding++;
                    busy++;
                    e.state = OPENING;
                    prepared++;
                }
                if (prepared > 0) {
                    h.ring.enter(h.ring.publish(), 0);
                }
            } catch (IOException | RuntimeException ex) {
                // what was prepared stays in flight and completes as usual; the rest is opened when taken
                log.debug("io_uring open-ahead: {}", ex.toString());
            } finally {
                h.lock.unlock();
            }
        }

        private java.nio.ByteBuffer memory() {
            java.nio.ByteBuffer b = spare.poll();
            return b != null ? b : java.nio.ByteBuffer.allocateDirect(MEMORY).order(java.nio.ByteOrder.nativeOrder());
        }

        private long tag(long op) {
            return op | ((generation.incrementAndGet() << BUFFER_BITS) & LOW & ~BUFFER_MASK);
        }

        /**
         * The file, opened and checked, if the window names it (those before it are passed over and closed);
         * null when it must be opened synchronously (the window does not name it, or the ring could not).
         */
        InputFile.Opened take(InputFile input) throws IOException {
            Entry e = null;
            h.lock.lock();
            try {
                if (closed) {
                    return null;
                }
                // the consumer opens the files in order, but may skip some (refused, resumed past) or open one
                // again (a range's last line read on past its end): only a file the window names moves it on
                boolean named = false;
                for (Entry w : window) {
                    if (w.input.sameFile(input)) {
                        named = true;
                        break;
                    }
                }
                if (named) {
                    while (!window.peek().input.sameFile(input)) {
                        abandon(window.poll());
                    }
                    e = window.poll();
                }
            } finally {
                h.lock.unlock();
            }
            fill(); // the window's next files go in before this one is waited for
            if (e == null) {
                openedInline.increment();
                return null;
            }
            long deadline = System.nanoTime() + options.readTimeout().toNanos();
            while (true) {
                h.lock.lock();
                try {
                    if (!e.inKernel()) {
                        break;
                    }
                    if (h.closed) {
                        e.abandoned = true;
                        throw new IOException("the io_uring engine is closed");
                    }
                } finally {
                    h.lock.unlock();
                }
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    h.lock.lock();
                    try {
                        e.abandoned = true; // its completion closes what it opened
                    } finally {
                        h.lock.unlock();
                    }
                    throw new IOException(input.name() + ": open did not complete within "
                            + options.readTimeout().toSeconds() + " s");
                }
                waitOnce(h, Math.min(TICK_NANOS, left));
            }
            h.lock.lock();
            try {
                release(e);
                if (e.state == DONE) {
                    openedAhead.increment();
                    int fd = e.fd;
                    e.fd = -1;
                    try {
                        return input.adopt(fd, e.stat);
                    } catch (IOException | RuntimeException ex) {
                        Dir.closeFd(fd);
                        throw ex;
                    }
                }
                // FAILED: an open refused for a reason of its own fails as the synchronous open would; a
                // kernel without the operation (EINVAL, EOPNOTSUPP) or a lookup that raced a rename (EAGAIN)
                // is opened synchronously
                if (e.fd >= 0) {
                    Dir.closeFd(e.fd); // the statx failed
                    e.fd = -1;
                    throw Dir.failure(input.name(), e.errno);
                }
                if (e.errno == Errno.EINVAL || e.errno == Errno.EOPNOTSUPP || e.errno == Errno.EAGAIN
                        || e.errno == Errno.EINTR || e.errno == Errno.ENOSYS) {
                    openedInline.increment();
                    return null;
                }
                throw Dir.failure(input.name(), e.errno);
            } finally {
                h.lock.unlock();
            }
        }

        /** Gives the entry's memory back once nothing of it is in the kernel. Under the lock. */
        private void release(Entry e) {
            if (!e.inKernel() && spare.size() < OPEN_AHEAD) {
                spare.push(e.memory);
            }
        }

        /** A file nobody will take: closed through the ring now, or when its operation in flight completes. */
        private void abandon(Entry e) {
            e.abandoned = true;
            if (e.state == DONE || (e.state == FAILED && e.fd >= 0)) {
                closeThroughRing(e);
            }
        }

        private void closeThroughRing(Entry e) {
            int fd = e.fd;
            e.fd = -1;
            long tag = tag(CLOSE);
            if (!h.closed && h.ring.prepClose(fd, tag)) {
                h.ahead.put(tag, e);
                h.outstanding++;
                busy++;
                e.state = CLOSING;
                h.ring.publish(); // submitted at the thread's next io_uring_enter
            } else {
                Dir.closeFd(fd); // the SQ is full, or the ring is going: close it here
                e.state = GONE;
            }
        }

        /** One completion of this lookahead's, under the ring's lock. */
        void complete(Entry e, long op, int res) {
            busy--;
            if (op == CLOSE) {
                e.state = GONE;
                return;
            }
            if (op == OPEN) {
                Faults faults = Faults.active;
                if (faults != null && faults.ringOpenResult != 0 && res >= 0) {
                    Dir.closeFd(res);
                    res = faults.ringOpenResult;
                }
                if (res < 0) {
                    e.state = FAILED;
                    e.errno = -res;
                    return;
                }
                e.fd = res;
                if (e.abandoned) {
                    closeThroughRing(e);
                    return;
                }
                long tag = tag(STATX);
                long base = LibC.address(e.memory);
                try {
                    while (!h.ring.prepStatx(e.fd, base + EMPTY, Dir.STATX_BASIC_STATS, base, tag)) {
                        h.ring.enter(h.ring.publish(), 0);
                    }
                } catch (IOException | RuntimeException ex) {
                    e.state = FAILED;
                    e.errno = Errno.EIO;
                    return;
                }
                h.ring.publish(); // submitted at the next io_uring_enter: the consumer's wait, or the next fill
                h.ahead.put(tag, e);
                h.outstanding++;
                busy++;
                e.state = STATING;
                return;
            }
            // STATX
            if (res < 0) {
                e.state = FAILED;
                e.errno = -res;
            } else {
                e.stat = Stat.ofStatx(e.memory, 0);
                e.state = DONE;
            }
            if (e.abandoned) {
                closeThroughRing(e);
            }
        }

        /** Closes what was opened and not taken; waits (10 s at most) for what is still in the kernel. */
        @Override
        public void close() {
            h.lock.lock();
            try {
                if (closed) {
                    return;
                }
                closed = true;
                while (!window.isEmpty()) {
                    abandon(window.poll());
                }
            } finally {
                h.lock.unlock();
            }
            if (threadAhead.get() == this) {
                threadAhead.remove();
            }
            long deadline = System.nanoTime() + CLOSE_WAIT_NANOS;
            try {
                while (System.nanoTime() - deadline < 0) {
                    h.lock.lock();
                    try {
                        if (busy <= 0 || h.closed) {
                            break;
                        }
                    } finally {
                        h.lock.unlock();
                    }
                    waitOnce(h, TICK_NANOS);
                }
            } catch (IOException | RuntimeException e) {
                log.warn("io_uring open-ahead close: {}", e.toString());
            }
            if (busy() == 0) {
                lookaheads.remove(this);
            }
        }

        /** The engine closes: what was opened and not taken is closed, what is in the kernel when it completes. */
        void abandonAll() {
            h.lock.lock();
            try {
                closed = true;
                while (!window.isEmpty()) {
                    abandon(window.poll());
                }
            } finally {
                h.lock.unlock();
            }
        }

        /** What the ring still has of this lookahead (tests). */
        int busy() {
            h.lock.lock();
            try {
                return busy;
            } finally {
                h.lock.unlock();
            }
        }
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
        } else if (op == OPEN || op == STATX || op == CLOSE) {
            OpenAhead.Entry e = h.ahead.remove(userData);
            if (e == null) {
                staleCompletions.increment();
                return;
            }
            h.outstanding--;
            try {
                e.owner().complete(e, op, res);
            } catch (Throwable t) {
                log.error("io_uring open-ahead completion failed: {}", t.toString());
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
        for (OpenAhead ahead : lookaheads.toArray(new OpenAhead[0])) {
            ahead.abandonAll();
        }
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
