package io.ringbatch.io;

import java.io.IOException;

/**
 * Reads a file, or the byte range {@code [start, end)} of it, as a sequence of blocks in file order
 * while the engine keeps reads ahead in flight. One consumer thread at a time.
 */
public interface BlockReader extends AutoCloseable {

    /**
     * The next block in file order, or {@code null} once the range is read. Waits only when no block
     * is ready; the wait is counted in {@link #stats()}.
     *
     * @throws IOException a failed read, naming the path, the offset and errno; or the file shrank
     *     below the range while it was read
     */
    Block next() throws IOException;

    /** The file offset of the first byte {@link #next()} will hand out. */
    long position();

    long start();

    long end();

    /** The file for messages: its root and its name beneath it ({@code FileNames.inMessage}). */
    String path();

    /** Whether the reads bypass the page cache (O_DIRECT). */
    boolean direct();

    ReaderStats stats();

    /** Cancels or waits for the reads in flight, then returns every buffer to the pool. Idempotent. */
    @Override
    void close();
}
