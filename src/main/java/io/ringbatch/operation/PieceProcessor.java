package io.ringbatch.operation;

import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;

/**
 * Processes one piece's bytes, in file order, on one thread. Its fragments go to a
 * {@link FragmentSink}: small records into the partition's record stream (merged at the end), large
 * outputs (compressed or converted data) into the piece's own output file.
 */
public interface PieceProcessor {

    /**
     * The next bytes of the piece, from {@code data.position()} to its limit. The buffer is only
     * valid during the call; keep nothing that points into it.
     */
    void process(ByteBuffer data, FragmentSink out) throws IOException;

    /** The piece has ended: emit what remains (a digest line, counts, a gzip trailer). */
    void finish(FragmentSink out) throws IOException;

    /**
     * State to resume from, taken at a commit after everything processed so far has been written;
     * null for operations that are not {@link Operation#resumableMidPiece()}.
     */
    default Serializable checkpoint() {
        return null;
    }
}
