package io.ringbatch.batch;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;

/**
 * A validated job as the pipeline runs it: paths already confined to the configured roots and
 * resolved (no {@code ..}, no symbolic link out of the root), parameters normalised by the operation.
 *
 * @param jobId          ringbatch's id, stable across restarts (the Spring Batch job parameter)
 * @param operation      an {@link io.ringbatch.operation.Operation#name()}
 * @param params         what the operation's {@code validate} returned
 * @param inputRoot      the directory to read, absolute and real
 * @param include        glob patterns relative to the input root (empty: everything)
 * @param exclude        glob patterns relative to the input root
 * @param outputPath     the directory the results end up in (it must not exist yet, or be empty)
 * @param skipUnreadable list unreadable or changed files in the report instead of failing the job
 */
public record JobDefinition(String jobId, String operation, Map<String, String> params, Path inputRoot,
                            List<String> include, List<String> exclude, Path outputPath, boolean skipUnreadable) {
}
