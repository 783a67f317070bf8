package io.ringbatch.io;

import java.io.IOException;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * What both engines share: the buffer pool, the readers they opened, the totals. A subclass opens
 * files and moves reads between {@link PrefetchingReader} slots and the operating system.
 */
abstract class AbstractEngine implements IoEngine {
    final IoOptions options;
    final BufferPool pool;
    private final Set<PrefetchingReader> open = ConcurrentHashMap.newKeySet();
    private final AtomicLong opened = new AtomicLong();
    final LongAdder blocks = new LongAdder();
    final LongAdder bytes = new LongAdder();
    final LongAdder waits = new LongAdder();
    final LongAdder waitNanos = new LongAdder();
    final LongAdder reads = new LongAdder();
    final LongAdder inFlight = new LongAdder();
    /** Reads that completed while an earlier read of the same reader was still in flight. */
    final LongAdder outOfOrder = new LongAdder();
    /** Completions of reads their readers had given up (time-out, close): their buffers went back then. */
    final LongAdder abandonedCompleted = new LongAdder();
    /** Completions that named no read in flight (late, twice, or of an earlier read): dropped. */
    final LongAdder staleCompletions = new LongAdder();
    /** A failure of the engine itself that every waiting reader gets (the shared ring's reaper died). */
    volatile IOException failure;
    volatile boolean closed;
    /** The deadline {@link #closeBy} set for the close, if any. */
    private volatile Long closeDeadline;
    /** Even a close past its deadline cancels what is in flight and gives it this long to end. */
    static final long CLOSE_FLOOR_NANOS = java.util.concurrent.TimeUnit.MILLISECONDS.toNanos(500);

    AbstractEngine(IoOptions options) {
        this.options = options;
        this.pool = new BufferPool(options.blockSize(), options.bufferPoolSize());
    }

    @Override
    public final BlockReader open(InputFile input, long start, long end, int held) throws IOException {
        String path = input.name();
        if (held < 1) {
            throw new IllegalArgumentException("held must be at least 1: " + held);
        }
        if (closed) {
            throw new IOException("the " + name() + " engine is closed");
        }
        if (start < 0 || (end >= 0 && end < start)) {
            throw new IllegalArgumentException("bad range [" + start + ", " + end + ") for " + path);
        }
        OpenFile file = openFile(input, options.direct());
        try {
            long stop = end < 0 ? file.size : end;
            if (stop > file.size) {
                throw new IOException(path + ": range end " + stop + " is beyond the file's size " + file.size);
            }
            if (start > stop) {
                throw new IOException(path + ": range start " + start + " is beyond its end " + stop);
            }
            PrefetchingReader reader = new PrefetchingReader(this, file, start, stop, held);
            open.add(reader);
            opened.incrementAndGet();
            return reader;
        } catch (IOException | RuntimeException e) {
            file.close();
            throw e;
        }
    }

    @Override
    public FileSequence sequence(java.util.Iterator<FileSequence.Range> upcoming, int held) {
        if (held < 1) {
            throw new IllegalArgumentException("held must be at least 1: " + held);
        }
        return new ReadAheadSequence(this, upcoming, held);
    }

    /** Opens a regular file for reading, with O_DIRECT if asked for and the file system allows it. */
    abstract OpenFile openFile(InputFile input, boolean direct) throws IOException;

    /** Starts (or queues until {@link #flush}) the read that {@code slot} describes. */
    abstract void submit(PrefetchingReader.Slot slot) throws IOException;

    /** What a new reader, opened on the calling thread, is bound to; see {@link PrefetchingReader#binding}. */
    Object attach() throws IOException {
        return null;
    }

    /** Hands the reader's queued reads to the operating system. */
    abstract void flush(PrefetchingReader reader) throws IOException;

    /** Takes in the completions that are there for the reader, without waiting for any. */
    void poll(PrefetchingReader reader) {
    }

    /**
     * Returns once {@code slot} is no longer in flight, or once {@link PrefetchingReader#waitOver} says
     * to stop waiting (its time-out passed, the reader closes, the engine failed) with the slot still in
     * flight; the reader then decides.
     */
    abstract void await(PrefetchingReader reader, PrefetchingReader.Slot slot) throws IOException;

    /** Asks for an in-flight read to end early; it still completes through the usual path. */
    abstract void cancel(PrefetchingReader.Slot slot);

    private final java.util.List<java.util.function.Consumer<ReaderStats>> closeListeners =
            new java.util.concurrent.CopyOnWriteArrayList<>();

    @Override
    public void onReaderClosed(java.util.function.Consumer<ReaderStats> listener) {
        closeListeners.add(listener);
    }

    void readerClosed(PrefetchingReader reader) {
        open.remove(reader);
        if (!closeListeners.isEmpty()) {
            ReaderStats stats = reader.stats();
            for (var l : closeListeners) {
                l.accept(stats);
            }
        }
    }

    @Override
    public IoOptions options() {
        return options;
    }

    @Override
    public BufferPool pool() {
        return pool;
    }

    @Override
    public EngineStats stats() {
        return new EngineStats(name(), opened.get(), open.size(), blocks.sum(), bytes.sum(), waits.sum(),
                waitNanos.sum(), reads.sum(), outOfOrder.sum(), inFlight.sum(), pool.capacity() - pool.available(), pool.capacity());
    }

    @Override
    public void closeBy(long deadlineNanos) {
        closeDeadline = deadlineNanos;
    }

    /**
     * Until when a close that starts now may wait: the deadline {@link #closeBy} set (at least
     * {@link #CLOSE_FLOOR_NANOS} from now), else {@code defaultNanos} from now.
     */
    long closeDeadline(long defaultNanos) {
        long now = System.nanoTime();
        Long set = closeDeadline;
        if (set == null) {
            return now + defaultNanos;
        }
        return set - (now + CLOSE_FLOOR_NANOS) < 0 ? now + CLOSE_FLOOR_NANOS : set;
    }

    /**
     * Closes every reader still open, all of them within {@code deadline} (on {@link System#nanoTime()}'s
     * scale); subclasses then release their own resources within the same deadline.
     */
    void closeReaders(long deadline) {
        closed = true;
        for (PrefetchingReader reader : open.toArray(new PrefetchingReader[0])) {
            reader.close(true, deadline);
        }
    }
}
