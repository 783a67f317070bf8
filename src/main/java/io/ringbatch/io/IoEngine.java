package io.ringbatch.io;

import java.io.IOException;
import java.nio.file.Path;

/**
 * Reads files ahead of their consumers. Two implementations share this interface: {@link IoUringEngine}
 * (the kernel reads asynchronously through one io_uring) and {@link BlockingEngine} (positional
 * FileChannel reads on a small thread pool), for where io_uring is refused.
 */
public interface IoEngine extends AutoCloseable {

    /** "io_uring" or "blocking". */
    String name();

    /** A reader over the whole file (named by a path: tools and tests; the pipeline opens beneath a root). */
    default BlockReader open(Path path) throws IOException {
        return open(path, 0, -1);
    }

    /**
     * A reader over {@code [start, end)} of the file; {@code end = -1} means the file's size when it
     * is opened. Refuses what is not a regular file.
     */
    default BlockReader open(Path path, long start, long end) throws IOException {
        return open(path, start, end, 1);
    }

    /**
     * As {@link #open(Path, long, long)}, for a consumer that holds up to {@code held} blocks at once
     * before releasing them (a batch step reads a whole chunk before it processes it): the reader then
     * keeps {@code held} slots for them beside its read-ahead.
     */
    default BlockReader open(Path path, long start, long end, int held) throws IOException {
        return open(InputFile.of(path), start, end, held);
    }

    /**
     * As {@link #open(Path, long, long, int)}, for a file beneath a root held by descriptor: opened with no
     * link followed and checked on the opened descriptor (a regular file, and the one the plan saw).
     */
    BlockReader open(InputFile file, long start, long end, int held) throws IOException;

    IoOptions options();

    /**
     * Called with each reader's statistics when it closes, on the closing thread: how long that
     * reader's consumer waited, for a per-reader distribution (a meter per file would be unbounded).
     */
    void onReaderClosed(java.util.function.Consumer<ReaderStats> listener);

    BufferPool pool();

    EngineStats stats();

    /** Closes the readers still open, then the engine's own resources. */
    @Override
    void close();

    /**
     * Bounds the waits of the coming {@link #close()} (for reads to end, for the rings to drain) by a
     * deadline on {@link System#nanoTime()}'s scale: the service's shutdown gives the engine what is left
     * of {@code spring.lifecycle.timeout-per-shutdown-phase} after the jobs and their workers. Unset, a
     * close waits up to 10 s per stage.
     */
    default void closeBy(long deadlineNanos) {
    }
}
