package io.ringbatch.instance;

import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.listener.StepExecutionListener;
import org.springframework.batch.core.step.StepExecution;

/**
 * The partitions (attempts of the {@code work} step) running in this process now, whichever instance's
 * job they belong to: a listener on the {@code work} step, so it counts the same on the local executor
 * (H2, one node) and on a worker that took the partition from the queue. Keyed by step execution id, so
 * an {@code afterStep} without its {@code beforeStep} (a failure before the listeners ran) cannot drive
 * the count below the truth.
 */
public class RunningPartitions implements StepExecutionListener {
    /** The key in a partition attempt's execution context that names the instance running it. */
    public static final String WORKER = "rb.worker";

    private final Set<Long> running = ConcurrentHashMap.newKeySet();
    private final String instanceId;

    public RunningPartitions(String instanceId) {
        this.instanceId = instanceId;
    }

    /** Counts the attempt, and names this instance in its context (stored with its first commit). */
    @Override
    public void beforeStep(StepExecution stepExecution) {
        running.add(stepExecution.getId());
        stepExecution.getExecutionContext().putString(WORKER, instanceId);
    }

    @Override
    public ExitStatus afterStep(StepExecution stepExecution) {
        running.remove(stepExecution.getId());
        return null;
    }

    /** Partitions running here now. */
    public int count() {
        return running.size();
    }
}
