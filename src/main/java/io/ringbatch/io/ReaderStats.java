package io.ringbatch.io;

/**
 * What one reader did: blocks and bytes handed out, and how long (and how often) its consumer had to
 * wait because no block was ready. The wait time is the figure that shows the engine works: with the
 * kernel reading ahead, a CPU-bound consumer waits close to never.
 */
public record ReaderStats(long blocks, long bytes, long waits, long waitNanos) {
}
