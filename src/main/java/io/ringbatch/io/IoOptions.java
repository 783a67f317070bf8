package io.ringbatch.io;

/**
 * The engine's tuning, as {@code ringbatch.io.*} configures it.
 *
 * @param blockSize       bytes per read and per block handed out; a multiple of 4096 (default 1 MiB)
 * @param queueDepth      submission-queue entries of the ring (default 64)
 * @param readAhead       reads one reader keeps in flight at most (default 8, at most queueDepth)
 * @param bufferPoolSize  buffers in the shared pool, which bounds reads in flight over all readers
 * @param direct          read with O_DIRECT where the file system allows it
 * @param blockingThreads threads of the blocking engine's read pool
 * @param topology        how the io_uring engine lays out its rings
 * @param readTimeout     how long a read may take before it is cancelled and its reader fails (default 60 s)
 */
public record IoOptions(int blockSize, int queueDepth, int readAhead, int bufferPoolSize, boolean direct,
                        int blockingThreads, Topology topology, java.time.Duration readTimeout) {

    public static final java.time.Duration DEFAULT_READ_TIMEOUT = java.time.Duration.ofSeconds(60);

    /** Ring topology of the io_uring engine; see {@link IoUringEngine}. */
    public enum Topology {
        /** One ring per consumer thread, which submits to it and reaps it itself. */
        PER_THREAD,
        /** One ring for every reader, with a reaper thread routing completions. */
        SHARED;

        public static Topology parse(String value) {
            String v = value == null ? "" : value.trim().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            return switch (v) {
                case "per-thread" -> PER_THREAD;
                case "shared" -> SHARED;
                default -> throw new IllegalArgumentException(
                        "ringbatch.io.topology must be per-thread or shared, not '" + value + "'");
            };
        }
    }

    public IoOptions(int blockSize, int queueDepth, int readAhead, int bufferPoolSize, boolean direct,
                     int blockingThreads) {
        this(blockSize, queueDepth, readAhead, bufferPoolSize, direct, blockingThreads, Topology.PER_THREAD);
    }

    public IoOptions(int blockSize, int queueDepth, int readAhead, int bufferPoolSize, boolean direct,
                     int blockingThreads, Topology topology) {
        this(blockSize, queueDepth, readAhead, bufferPoolSize, direct, blockingThreads, topology, DEFAULT_READ_TIMEOUT);
    }

    public static final int DEFAULT_BLOCK_SIZE = 1 << 20;

    public IoOptions {
        if (blockSize < BufferPool.PAGE || blockSize % BufferPool.PAGE != 0) {
            throw new IllegalArgumentException("ringbatch.io.block-size must be a multiple of 4096 bytes, at least 4096: "
                    + blockSize);
        }
        if (queueDepth < 1 || queueDepth > 4096) {
            throw new IllegalArgumentException("ringbatch.io.queue-depth must be between 1 and 4096: " + queueDepth);
        }
        if (readAhead < 1) {
            throw new IllegalArgumentException("ringbatch.io.read-ahead must be at least 1: " + readAhead);
        }
        if (bufferPoolSize < 1) {
            throw new IllegalArgumentException("ringbatch.io.buffer-pool-size must be at least 1: " + bufferPoolSize);
        }
        if (topology == null) {
            throw new IllegalArgumentException("ringbatch.io.topology must be per-thread or shared");
        }
        if (readTimeout == null || readTimeout.toMillis() < 1) {
            throw new IllegalArgumentException("ringbatch.io.read-timeout must be at least 1ms: " + readTimeout);
        }
        if (blockingThreads < 1) {
            throw new IllegalArgumentException("ringbatch.io.blocking-threads must be at least 1: " + blockingThreads);
        }
    }

    public static IoOptions defaults() {
        return new IoOptions(DEFAULT_BLOCK_SIZE, 64, 8, 128, false, 4);
    }

    /** Reads in flight for one reader: the read-ahead, bounded by the ring and the pool. */
    int window() {
        return Math.max(1, Math.min(readAhead, Math.min(queueDepth, bufferPoolSize)));
    }

    public IoOptions withDirect(boolean value) {
        return new IoOptions(blockSize, queueDepth, readAhead, bufferPoolSize, value, blockingThreads, topology, readTimeout);
    }

    public IoOptions withBlockSize(int value) {
        return new IoOptions(value, queueDepth, readAhead, bufferPoolSize, direct, blockingThreads, topology, readTimeout);
    }

    public IoOptions withReadAhead(int value) {
        return new IoOptions(blockSize, queueDepth, value, bufferPoolSize, direct, blockingThreads, topology, readTimeout);
    }

    public IoOptions withBufferPoolSize(int value) {
        return new IoOptions(blockSize, queueDepth, readAhead, value, direct, blockingThreads, topology, readTimeout);
    }

    public IoOptions withTopology(Topology value) {
        return new IoOptions(blockSize, queueDepth, readAhead, bufferPoolSize, direct, blockingThreads, value, readTimeout);
    }

    public IoOptions withReadTimeout(java.time.Duration value) {
        return new IoOptions(blockSize, queueDepth, readAhead, bufferPoolSize, direct, blockingThreads, topology, value);
    }

    public IoOptions withQueueDepth(int value) {
        return new IoOptions(blockSize, value, readAhead, bufferPoolSize, direct, blockingThreads, topology, readTimeout);
    }
}
