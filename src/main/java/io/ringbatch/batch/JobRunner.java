package io.ringbatch.batch;

import java.util.function.Consumer;

/**
 * The Spring Batch side of a ringbatch job: starts, steers and reports on the {@code bulkFile} job. The
 * REST layer's job service keeps the queue, the submitted specs and the ids, and calls this when a job
 * may run. Every method is safe to call from any thread; {@link #start} and {@link #restart} return
 * once the execution exists and run it on the batch executor.
 */
public interface JobRunner {

    /** Starts a first execution; returns the Spring Batch execution id. */
    long start(JobDefinition job) throws JobRunnerException;

    /** Starts a new execution of a STOPPED or FAILED job, continuing where it stopped. */
    long restart(String jobId) throws JobRunnerException;

    /**
     * Asks the running execution to stop at its next commit; it ends STOPPED and can restart. An operation
     * whose blocks take long (grep with a costly regex) stops sooner, between lines, dropping the work
     * since the commit.
     */
    void stop(String jobId) throws JobRunnerException;

    /** Marks a stopped or failed job ABANDONED: it will never restart. */
    void abandon(String jobId) throws JobRunnerException;

    /** What the job's executions did so far; {@link RunState#NONE} if it never started. */
    RunState state(String jobId);

    /** Called with the job id whenever an execution of a job ends (completed, failed, stopped). */
    void onExecutionEnded(Consumer<String> listener);
}
