package io.ringbatch.batch;

/**
 * Which jobs this instance runs, when several instances share one job repository (PostgreSQL): a job that
 * ran on an instance has its work directory there, so only that instance resumes or restarts it.
 */
public interface JobOwnership {
    /** Whether this instance may run (or resume) the job. */
    boolean runsHere(String jobId);
}
