package io.ringbatch.batch;

import io.ringbatch.io.Block;
import java.nio.ByteBuffer;

/**
 * One item of a worker step: about a block of a piece's bytes, in file order. For operations that
 * split at lines, the bytes are whole lines: {@code head} holds a line that began in earlier blocks
 * (copied together), {@code body} the whole lines of {@code block} itself, sliced out of the engine's
 * buffer without a copy. Every piece ends with an item whose {@code last} flag is set (it may carry
 * no bytes), so that the operation can finish the piece.
 */
final class BlockItem {
    final int piece;
    final boolean first;
    final boolean last;
    final ByteBuffer head;
    final ByteBuffer body;
    final Block block;
    /** Where the piece's processing continues after this item: the offset just past its bytes. */
    final long nextOffset;
    /** Input bytes this item accounts for, for progress. */
    final long bytes;

    BlockItem(int piece, boolean first, boolean last, ByteBuffer head, ByteBuffer body, Block block, long nextOffset,
              long bytes) {
        this.piece = piece;
        this.first = first;
        this.last = last;
        this.head = head;
        this.body = body;
        this.block = block;
        this.nextOffset = nextOffset;
        this.bytes = bytes;
    }

    void release() {
        if (block != null) {
            block.release();
        }
    }
}
