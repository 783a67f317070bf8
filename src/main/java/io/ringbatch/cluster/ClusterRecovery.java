package io.ringbatch.cluster;

import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.dao.OptimisticLockingFailureException;

/**
 * A manager's start-up after a crash, in cluster mode. {@code JobOperator.recover} marks every running step
 * of an execution FAILED, also partitions that live instances still run; so first: requests still queued
 * are taken back, attempts whose lease is not alive are marked FAILED, and attempts that live instances run
 * are waited for (they end COMPLETED, or stop or fail on their own). Only then may the execution be recovered
 * and restarted, which runs again only the partitions that did not complete, each from its last commit.
 */
public class ClusterRecovery implements io.ringbatch.batch.PartitionSettler {
    private static final Logger log = LoggerFactory.getLogger(ClusterRecovery.class);

    private final JobRepository repository;
    private final PartitionQueue queue;
    private final Leases leases;
    private final Duration heartbeat;
    private final Duration lossTimeout;

    public ClusterRecovery(JobRepository repository, PartitionQueue queue, Leases leases, Duration heartbeat,
                           Duration lossTimeout) {
        this.repository = repository;
        this.queue = queue;
        this.leases = leases;
        this.heartbeat = heartbeat;
        this.lossTimeout = lossTimeout;
    }

    /**
     * Settles the partition attempts of an execution that a crash left running: returns once none of them
     * runs on a live instance. Blocks (call it off the start-up thread).
     */
    @Override
    public void settle(JobExecution execution) throws InterruptedException {
        long since = System.nanoTime();
        while (true) {
            JobExecution fresh = repository.getJobExecution(execution.getId());
            List<StepExecution> open = new ArrayList<>();
            for (StepExecution s : fresh.getStepExecutions()) {
                if (s.getStepName().startsWith(PartitionQueue.WORKER_STEP + ":") && s.getStatus().isRunning()) {
                    open.add(s);
                }
            }
            Map<Long, Leases.Holder> holders = open.isEmpty() ? Map.of() : leases.holders(execution.getId());
            int alive = 0;
            for (StepExecution s : open) {
                if (queue.withdraw(s.getId())) {
                    fail(s, "its manager restarted before it ran");
                    continue;
                }
                Leases.Holder h = holders.get(s.getId());
                boolean leased = h != null && h.locked() && h.sinceRenewal().compareTo(lossTimeout) < 0;
                if (leased) {
                    alive++;
                } else if (h != null || System.nanoTime() - since >= lossTimeout.toNanos()) {
                    // a lease that died, or no lease for a loss timeout (taken from the queue by an instance
                    // that died before it leased it)
                    fail(s, DistributedPartitionHandler.LOST + (h == null ? "unknown" : h.instanceId())
                            + " (found at the manager's restart)");
                    leases.drop(s.getId());
                } else {
                    alive++; // just taken from the queue: its lease comes in a moment, or it is lost
                }
            }
            if (alive == 0) {
                return;
            }
            log.info("job execution {}: waiting for {} partition attempt(s) that live instances run before it resumes",
                    execution.getId(), alive);
            Thread.sleep(Math.max(heartbeat.toMillis(), 1000));
        }
    }

    private void fail(StepExecution s, String reason) {
        s.setStatus(BatchStatus.FAILED);
        s.setExitStatus(new ExitStatus(ExitStatus.FAILED.getExitCode(), reason));
        s.setEndTime(LocalDateTime.now());
        try {
            repository.update(s);
        } catch (OptimisticLockingFailureException e) {
            log.debug("attempt {} changed meanwhile: {}", s.getId(), e.getMessage());
        }
    }
}
