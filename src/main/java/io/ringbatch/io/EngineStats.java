package io.ringbatch.io;

/** Totals over every reader an engine has opened. */
public record EngineStats(String engine, long readersOpened, long readersOpen, long blocks, long bytes,
                          long waits, long waitNanos, long reads, long outOfOrder, long readsInFlight, int buffersInUse,
                          int bufferCapacity) {
}
