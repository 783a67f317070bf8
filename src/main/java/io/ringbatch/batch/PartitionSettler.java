package io.ringbatch.batch;

import org.springframework.batch.core.job.JobExecution;

/**
 * Present in cluster mode ({@code io.ringbatch.cluster.ClusterRecovery}): settles the partition attempts of
 * an execution that a crash of its manager left running, returning once none runs on a live instance, so
 * that start-up recovery does not fail partitions that live instances still run.
 */
public interface PartitionSettler {
    void settle(JobExecution execution) throws InterruptedException;
}
