package io.ringbatch.operation;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.List;

/** What {@link Operation#merge} works from. */
public interface MergeInput {

    /** Every piece of the plan, in order: by path (bytes), then by start offset. */
    List<Operation.Piece> pieces();

    /** Reads every record of every piece, in piece order and, within a piece, in emission order. */
    void forEachRecord(RecordVisitor visitor) throws IOException;

    /** The piece's own output file (what it wrote with {@link FragmentSink#output}); it may not exist. */
    Path pieceOutput(int pieceIndex);

    /** Where the outputs go; the pipeline moves this directory into place when merge returns. */
    Path staging();

    /**
     * Writing into {@link #staging()} by descriptor, outputs named by byte strings: what operations use
     * (the pipeline's own implementation holds the staging directory open beneath the output root).
     */
    default StagingFiles files() {
        return StagingFiles.atPath(staging(), this::pieceOutput);
    }

    @FunctionalInterface
    interface RecordVisitor {
        void record(Operation.Piece piece, ByteBuffer bytes) throws IOException;
    }
}
