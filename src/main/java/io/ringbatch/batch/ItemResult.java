package io.ringbatch.batch;

/**
 * What processing one {@link BlockItem} counts for at the commit: its piece, whether it ended the piece,
 * and its input bytes. Its records and output were written when it was processed.
 */
record ItemResult(int piece, boolean last, long bytes) {
}
