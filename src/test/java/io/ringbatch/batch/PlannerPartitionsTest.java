package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Partitions shrink with the work left, so that the last ones handed out are small. */
class PlannerPartitionsTest {
    private static final long MIB = 1 << 20;

    @TempDir
    Path root;

    @Test
    void partitionsShrinkTowardsTheEndAndCoverEveryPieceOnce() throws IOException {
        // 200 sparse files of 4 MiB: 800 MiB of whole-file pieces
        for (int i = 0; i < 200; i++) {
            try (RandomAccessFile f = new RandomAccessFile(root.resolve(String.format("f%03d", i)).toFile(), "rw")) {
                f.setLength(4 * MIB);
            }
        }
        Plan plan = new Planner(64 * MIB, 2).plan(root, List.of(), List.of(), Operation.Split.WHOLE);
        List<Plan.PartitionEntry> parts = plan.partitions();

        int next = 0;
        long total = 0;
        for (Plan.PartitionEntry p : parts) {
            assertThat(p.firstPiece()).isEqualTo(next);
            next = p.endPiece();
            total += p.bytes();
        }
        assertThat(next).isEqualTo(plan.pieces().size());
        assertThat(total).isEqualTo(800 * MIB);

        // the first ones at the cap (total / (workers * 4)), the last ones near the floor (split size / 4)
        assertThat(parts.get(0).bytes()).isEqualTo(100 * MIB);
        for (int i = 1; i < parts.size() - 1; i++) {
            assertThat(parts.get(i).bytes()).as("partition %d", i).isLessThanOrEqualTo(parts.get(i - 1).bytes());
        }
        assertThat(parts.get(parts.size() - 2).bytes()).isEqualTo(16 * MIB);
        assertThat(parts.size()).isBetween(10, 25);
    }

    @Test
    void theTargetIsAShareOfWhatIsLeftBetweenTheBounds() {
        assertThat(Planner.partitionTarget(4096, 2, 16, 512)).isEqualTo(512);
        assertThat(Planner.partitionTarget(1000, 2, 16, 512)).isEqualTo(250);
        assertThat(Planner.partitionTarget(40, 2, 16, 512)).isEqualTo(16);
        assertThat(Planner.partitionTarget(0, 8, 16, 512)).isEqualTo(16);
    }
}
