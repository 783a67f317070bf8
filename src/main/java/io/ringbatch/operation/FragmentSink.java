package io.ringbatch.operation;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where a {@link PieceProcessor} puts what it produces. Both are written as they come and made durable
 * at the step's next commit; a restart drops what was written after the last one.
 * <p>
 * Both methods take the bytes from the buffer's position to its limit <em>during the call</em> (copied
 * or written): the operations reuse their buffers for the next fragment, as the pipeline reuses the
 * buffers it hands to {@link PieceProcessor#process}.
 */
public interface FragmentSink {

    /**
     * One record for the merge, tagged by the pipeline with the piece it came from. Records of a piece
     * reach {@link Operation#merge} in the order they were emitted.
     */
    void record(ByteBuffer bytes) throws IOException;

    /** Bytes appended to this piece's own output file (for outputs that are one file per input). */
    void output(ByteBuffer bytes) throws IOException;

    /**
     * Whether the job is being stopped. A processor whose block may take long (each line costly) asks
     * between lines and, when true, throws {@link Stopped}: the pipeline drops what the block and the
     * rest of its chunk produced, the step ends STOPPED, and a restart processes them again from the
     * last commit. One volatile read; cheap enough for every line.
     */
    default boolean stopRequested() {
        return false;
    }

    /** Thrown by a processor that abandons its block because {@link #stopRequested()}. */
    final class Stopped extends RuntimeException {
        public Stopped() {
            super("the job is stopping", null, false, false);
        }
    }
}
