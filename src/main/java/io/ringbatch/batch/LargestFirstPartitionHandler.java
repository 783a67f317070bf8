package io.ringbatch.batch;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.springframework.batch.core.partition.support.TaskExecutorPartitionHandler;
import org.springframework.batch.core.step.StepExecution;

/**
 * Hands the partitions to the workers largest first (by the bytes the plan gave them), instead of in
 * the order of a hash set: a partition holding one big unsplittable file (a SHA-256 over 600 MiB)
 * that starts last keeps one worker busy while the others have nothing left, and the job takes that
 * much longer. Largest first leaves only small partitions for the end.
 */
class LargestFirstPartitionHandler extends TaskExecutorPartitionHandler {
    private final Pipeline pipeline;

    LargestFirstPartitionHandler(Pipeline pipeline) {
        this.pipeline = pipeline;
    }

    @Override
    protected Set<StepExecution> doHandle(StepExecution manager, Set<StepExecution> partitions) throws Exception {
        String jobId = manager.getJobExecution().getJobParameters().getString(Pipeline.JOB_ID);
        Plan plan = pipeline.plan(jobId);
        List<StepExecution> ordered = new ArrayList<>(partitions);
        ordered.sort(Comparator.comparingLong((StepExecution s) -> bytes(plan, s)).reversed()
                .thenComparing(StepExecution::getStepName));
        return super.doHandle(manager, new LinkedHashSet<>(ordered));
    }

    private static long bytes(Plan plan, StepExecution s) {
        Object index = s.getExecutionContext().get("partition");
        return index instanceof Integer i && i >= 0 && i < plan.partitions().size() ? plan.partitions().get(i).bytes() : 0;
    }
}
