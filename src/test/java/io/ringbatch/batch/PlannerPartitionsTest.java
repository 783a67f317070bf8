package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.io.Dir;
import io.ringbatch.operation.GzipOperation;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * For an operation slow per byte (gzip) partitions shrink with the work left, so that the last ones handed
 * out are small; for the others they stay about total / (workers * 4).
 */
class PlannerPartitionsTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path root;

    @BeforeEach
    void files() throws IOException {
        // 200 sparse files of 4 MiB: 800 MiB of whole-file pieces
        for (int i = 0; i < 200; i++) {
            try (RandomAccessFile f = new RandomAccessFile(root.resolve(String.format("f%03d", i)).toFile(), "rw")) {
                f.setLength(4 * MIB);
            }
        }
    }

    private Plan plan(boolean guided) throws IOException {
        try (Dir dir = Dir.open(root)) {
            return new Planner(64 * MIB, 2).plan(dir, null, List.of(), List.of(), Operation.Split.BYTES, guided);
        }
    }

    private static void coversEveryPieceOnce(Plan plan) {
        int next = 0;
        long total = 0;
        for (Plan.PartitionEntry p : plan.partitions()) {
            assertThat(p.firstPiece()).isEqualTo(next);
            next = p.endPiece();
            total += p.bytes();
        }
        assertThat(next).isEqualTo(plan.pieces().size());
        assertThat(total).isEqualTo(800 * MIB);
    }

    @Test
    void guidedPartitionsShrinkTowardsTheEndAndCoverEveryPieceOnce() throws IOException {
        Plan plan = plan(true);
        coversEveryPieceOnce(plan);
        List<Plan.PartitionEntry> parts = plan.partitions();
        // the first ones at the cap (total / (workers * 4)), the last ones at the floor (split size / 4)
        assertThat(parts.get(0).bytes()).isEqualTo(100 * MIB);
        for (int i = 1; i < parts.size() - 1; i++) {
            assertThat(parts.get(i).bytes()).as("partition %d", i).isLessThanOrEqualTo(parts.get(i - 1).bytes());
        }
        assertThat(parts.get(parts.size() - 2).bytes()).isEqualTo(16 * MIB);
        assertThat(parts.size()).isBetween(10, 25);
    }

    @Test
    void unguidedPartitionsStayAtAnEighthForTwoWorkers() throws IOException {
        Plan plan = plan(false);
        coversEveryPieceOnce(plan);
        assertThat(plan.partitions()).hasSize(8).allSatisfy(p -> assertThat(p.bytes()).isEqualTo(100 * MIB));
    }

    @Test
    void theTargetIsAShareOfWhatIsLeftBetweenTheBounds() {
        assertThat(Planner.partitionTarget(4096, 2, 16, 512)).isEqualTo(512);
        assertThat(Planner.partitionTarget(1000, 2, 16, 512)).isEqualTo(250);
        assertThat(Planner.partitionTarget(40, 2, 16, 512)).isEqualTo(16);
        assertThat(Planner.partitionTarget(0, 8, 16, 512)).isEqualTo(16);
    }

    @Test
    void onlyGzipIsSlowPerByte() {
        assertThat(new GzipOperation().slowPerByte()).isTrue();
        assertThat(new Operation() {
            public String name() { return "x"; }
            public String description() { return "x"; }
            public List<io.ringbatch.operation.ParameterSpec> parameters() { return List.of(); }
            public java.util.Map<String, String> validate(java.util.Map<String, Object> params) { return java.util.Map.of(); }
            public Split split() { return Split.WHOLE; }
            public boolean resumableMidPiece() { return false; }
            public io.ringbatch.operation.PieceProcessor open(java.util.Map<String, String> params, Piece piece,
                                                              java.io.Serializable resume) { return null; }
            public void merge(java.util.Map<String, String> params, io.ringbatch.operation.MergeInput in) { }
            public List<String> outputNames(java.util.Map<String, String> params, List<String> inputPaths) {
                return List.of();
            }
        }.slowPerByte()).isFalse();
    }
}
