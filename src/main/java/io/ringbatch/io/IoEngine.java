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

    /** A reader over the whole file. */
    default BlockReader open(Path path) throws IOException {
        return open(path, 0, -1);
    }

    /**
     * A reader over {@code [start, end)} of the file; {@code end = -1} means the file's size when it
     * is opened. Refuses what is not a regular file.
     */
    BlockReader open(Path path, long start, long end) throws IOException;

    IoOptions options();

    BufferPool pool();

    EngineStats stats();

    /** Closes the readers still open, then the engine's own resources. */
    @Override
    void close();
}
