package io.ringbatch.batch;

import java.time.Instant;
import java.util.List;

/**
 * A job's progress and history as Spring Batch's repository holds it.
 *
 * @param status      the latest execution's batch status: STARTING, STARTED, STOPPING, STOPPED, COMPLETED,
 *                    FAILED, ABANDONED, UNKNOWN; null when it never started
 * @param phase       "planning", "processing", "merging" or "done"
 * @param filesTotal  files in the plan (0 before planning ends)
 * @param filesDone   files whose every piece is processed
 * @param bytesTotal  bytes in the plan
 * @param bytesDone   bytes processed and committed
 * @param waitNanos   time the workers waited for blocks from the I/O engine
 * @param busyNanos   time the workers spent in the operation's processing
 * @param engine      the I/O engine the job's readers used
 * @param error       the failure, one line, or null
 * @param errorDetail the failure's causes, or null
 */
public record RunState(String status, String phase, Instant startedAt, Instant endedAt, long filesTotal, long filesDone,
                       long bytesTotal, long bytesDone, long waitNanos, long busyNanos, String engine,
                       List<Partition> partitions, List<Execution> executions, String error, String errorDetail) {

    public static final RunState NONE = new RunState(null, null, null, null, 0, 0, 0, 0, 0, 0, null, List.of(),
            List.of(), null, null);

    /**
     * One partition of the process step, as its newest attempt (step execution) tells it.
     *
     * @param worker   the instance that runs or ran its newest attempt ({@code rb.worker}), or null before one did
     * @param attempts its step executions in the job execution that ran its newest attempt: 1, more after a
     *                 lost instance (a restart of the job counts afresh)
     */
    public record Partition(int index, String status, int files, long bytesTotal, long bytesDone, long waitNanos,
                            long busyNanos, String worker, int attempts) {
    }

    /** One Spring Batch execution of the job: the first run and each restart. */
    public record Execution(long id, String status, Instant startedAt, Instant endedAt, String exitCode,
                            String exitDescription) {
    }
}
