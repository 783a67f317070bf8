package io.ringbatch.batch;

import java.util.List;

/** What processing one {@link BlockItem} produced: records for the merge and bytes of the piece's output. */
record ItemResult(int piece, boolean first, boolean last, long bytes, List<byte[]> records, List<byte[]> outputs) {
}
