package io.ringbatch.batch;

/**
 * What one item of a partition's chunk-oriented step counts for at the commit: the blocks processed
 * since the last one (up to {@code commit-interval} blocks, {@code commit-bytes} or {@code commit-time}),
 * their input bytes and the files they finished. Their records and output were written as they were
 * processed.
 */
record ItemResult(int blocks, long bytes, long files) {
}
