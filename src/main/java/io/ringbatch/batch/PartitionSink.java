package io.ringbatch.batch;

import io.ringbatch.operation.FragmentSink;
import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Where an operation's records and output go for the block being processed: straight into the partition
 * attempt's own files ({@link PartitionState}), past the lengths of its last commit. The chunk's commit
 * forces them and saves their new lengths; a new attempt starts from the lengths it finds saved, so what
 * was written after the last commit (a stop, a failure, a crash) is never read.
 */
final class PartitionSink implements FragmentSink {
    private final PartitionState state;
    private final StopRegistry.Signal stop;
    /** The piece of the block being processed. */
    int piece;

    PartitionSink(PartitionState state, StopRegistry.Signal stop) {
        this.state = state;
        this.stop = stop;
    }

    /** Whether the job is being stopped, here or on another instance ({@link StopRegistry}). */
    @Override
    public boolean stopRequested() {
        return stop.requested();
    }

    @Override
    public void record(ByteBuffer bytes) throws IOException {
        state.record(piece, bytes);
    }

    @Override
    public void output(ByteBuffer bytes) throws IOException {
        state.output(piece, bytes);
    }
}
