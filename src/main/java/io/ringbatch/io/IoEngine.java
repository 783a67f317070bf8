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

    /**
     * Files the calling thread will open next, in this order: the engine may open and check them ahead of
     * use (io_uring: {@code IORING_OP_OPENAT2} and then {@code IORING_OP_STATX} of each descriptor, a window
     * of files in flight with the reads). While the returned lookahead is open, {@link #open(InputFile,
     * long, long, int)} on this thread takes a file it names from it (checked as always, on the statx of the
     * descriptor it opened); a file it does not name, or names out of order, is opened as before, and the
     * files passed over are closed. Closing it closes what it opened and nobody took, and waits (bounded)
     * for its opens still in the kernel, whose descriptors are closed as they complete. The blocking engine,
     * the shared topology and kernels without these operations open synchronously, as before.
     * The iterator is advanced on this thread only, a window ahead of the consumer.
     */
    default Lookahead openAhead(java.util.Iterator<InputFile> upcoming) {
        return Lookahead.NONE;
    }

    /** Files being opened ahead of use; see {@link IoEngine#openAhead}. */
    interface Lookahead extends AutoCloseable {
        /** Opens nothing ahead: every open is synchronous. */
        Lookahead NONE = () -> {
        };

        @Override
        void close();
    }

    /**
     * Reads ranges of many files one after another on the calling thread, the next ones opened and their
     * first reads submitted ahead, in batches ({@link FileSequence}): {@code upcoming} gives, in order, the
     * ranges the caller will {@link FileSequence#open}; it is advanced on this thread only, a window ahead
     * of the caller. {@code held} is as for {@link #open(InputFile, long, long, int)}.
     */
    default FileSequence sequence(java.util.Iterator<FileSequence.Range> upcoming, int held) {
        return FileSequence.onDemand(this, held);
    }

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
