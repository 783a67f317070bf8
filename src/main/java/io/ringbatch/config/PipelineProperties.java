package io.ringbatch.config;

import jakarta.validation.constraints.Min;
import jakarta.validation.constraints.NotNull;
import java.time.Duration;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * {@code ringbatch.pipeline.*}: how jobs are cut and committed. A worker commits its progress (and forces
 * its output to disk) after {@code commit-interval} blocks, {@code commit-bytes} of input or
 * {@code commit-time}, whichever comes first; a crash loses at most that much work per worker.
 *
 * @param commitInterval blocks per commit at most; by default 1,048,576, so that bytes and time decide, not a
 *                       count of blocks (over many small files, a count of files). Nothing is sized by it:
 *                       the step's chunk is one item and the blocks of a commit are processed as read
 * @param splitSize      files larger than this are cut into ranges of about this size, for the
 *                       operations that may split a file
 * @param commitBytes    input bytes per commit at most
 * @param commitTime     time between a commit and the next at most (a block under way is finished
 *                       first), so that progress moves at least this often
 */
@Validated
@ConfigurationProperties("ringbatch.pipeline")
public record PipelineProperties(@DefaultValue("1048576") @Min(1) int commitInterval,
                                 @DefaultValue("64MB") DataSize splitSize,
                                 @DefaultValue("64MB") @NotNull DataSize commitBytes,
                                 @DefaultValue("1s") @NotNull Duration commitTime) {

    /** Validated as {@code ringbatch.pipeline.commit-bounds-valid}. */
    @jakarta.validation.constraints.AssertTrue(message = "ringbatch.pipeline.commit-bytes must be at least 1 byte"
            + " and ringbatch.pipeline.commit-time more than 0")
    public boolean isCommitBoundsValid() {
        return commitBytes == null || commitTime == null
                || (commitBytes.toBytes() >= 1 && !commitTime.isNegative() && !commitTime.isZero());
    }
}
