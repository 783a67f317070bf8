package io.ringbatch.config;

import jakarta.validation.constraints.Max;
import jakarta.validation.constraints.Min;
import org.springframework.boot.context.properties.ConfigurationProperties;
import org.springframework.boot.context.properties.bind.DefaultValue;
import org.springframework.util.unit.DataSize;
import org.springframework.validation.annotation.Validated;

/**
 * {@code ringbatch.pipeline.*}: how jobs are cut and committed.
 *
 * @param commitInterval blocks per chunk: a worker commits its progress (and forces its output to
 *                       disk) every this many blocks; a crash loses at most that much work per worker
 * @param splitSize      files larger than this are cut into ranges of about this size, for the
 *                       operations that may split a file
 */
@Validated
@ConfigurationProperties("ringbatch.pipeline")
public record PipelineProperties(@DefaultValue("64") @Min(1) @Max(1024) int commitInterval,
                                 @DefaultValue("64MB") DataSize splitSize) {
}
