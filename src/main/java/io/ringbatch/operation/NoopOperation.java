package io.ringbatch.operation;

import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.List;
import java.util.Map;
import org.springframework.boot.autoconfigure.condition.ConditionalOnProperty;
import org.springframework.stereotype.Component;

/**
 * {@code noop}: reads every byte of every file through the whole pipeline (plan, partitions, reads,
 * commits, merge, report) and does nothing with them; no output but {@code job-report.json}. It exists
 * to measure the framework's own cost next to the I/O engine's raw read rate (bench/README.md), so it
 * is offered only when {@code ringbatch.operations.noop=true}.
 */
@Component
@ConditionalOnProperty(name = "ringbatch.operations.noop", havingValue = "true")
public class NoopOperation implements Operation {

    @Override
    public String name() {
        return "noop";
    }

    @Override
    public String description() {
        return "Reads every file and does nothing with the bytes (for measuring the framework's overhead)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of();
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        Params.of(params, List.of());
        return Map.of();
    }

    @Override
    public Split split() {
        return Split.BYTES;
    }

    @Override
    public boolean resumableMidPiece() {
        return false;
    }

    @Override
    public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
        return new PieceProcessor() {
            @Override
            public void process(ByteBuffer data, FragmentSink out) {
                data.position(data.limit());
            }

            @Override
            public void finish(FragmentSink out) {
                // nothing to emit
            }
        };
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) {
        // no output files
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return List.of();
    }
}
