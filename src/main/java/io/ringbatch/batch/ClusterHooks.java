package io.ringbatch.batch;

import java.io.IOException;

/**
 * What the cluster transport ({@code io.ringbatch.cluster}) needs of the pipeline, which keeps these
 * package-private: the bytes the plan gave a partition (its rank in the queue), and dropping a cached
 * plan on an instance that ran partitions of a job it does not manage (only the manager hears the job's end).
 */
public final class ClusterHooks {
    /** The step-execution context key with the instance that runs (or last ran) a partition attempt. */
    public static final String WORKER = "rb.worker";

    private ClusterHooks() {
    }

    /** Bytes of partition {@code index} of the job's plan; 0 for an index the plan does not have. */
    public static long partitionBytes(Pipeline pipeline, String jobId, int index) throws IOException {
        Plan plan = pipeline.plan(jobId);
        return index >= 0 && index < plan.partitions().size() ? plan.partitions().get(index).bytes() : 0;
    }

    /** Drops the job's cached plan here (read again from its work dir if a later attempt needs it). */
    public static void forgetPlan(Pipeline pipeline, String jobId) {
        pipeline.forget(jobId);
    }
}
