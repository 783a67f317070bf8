package io.ringbatch.io;

import java.io.IOException;

/**
 * The readers of one consumer that reads many files, one after another (a partition of many small files):
 * the ranges it will open next, given in order when it is made ({@link IoEngine#sequence}), are opened and
 * their first reads submitted a window ahead, in batches, so that the reads of several files are in flight
 * at once and a batch of them goes to the kernel in one call instead of one call per file.
 * <p>
 * {@link #open} gives the reader opened ahead for a range when that range is the next one expected, and
 * otherwise opens it then, as {@link IoEngine#open(InputFile, long, long, int)} does (the ranges passed
 * over are closed). Either way the file was opened beneath its root and checked on the opened descriptor
 * against what the plan saw; a range whose open ahead failed fails at its {@code open}, with the same
 * error, exactly as if it had been opened then. Only the consumer's thread uses it.
 */
public interface FileSequence extends AutoCloseable {

    /** A range of a file the consumer will open: the file beneath its root, {@code [start, end)}. */
    record Range(InputFile file, long start, long end) {
    }

    /**
     * A reader over {@code [start, end)} of {@code file}; the caller closes it. The one opened ahead when this
     * is the next range of the sequence; otherwise opened now.
     */
    BlockReader open(InputFile file, long start, long end) throws IOException;

    /** Closes the readers opened ahead and not taken (waiting for their reads, as a reader's close does). */
    @Override
    void close();

    /** Opens nothing ahead: each {@link #open} opens then. */
    static FileSequence onDemand(IoEngine engine, int held) {
        return new FileSequence() {
            @Override
            public BlockReader open(InputFile file, long start, long end) throws IOException {
                return engine.open(file, start, end, held);
            }

            @Override
            public void close() {
            }
        };
    }
}
