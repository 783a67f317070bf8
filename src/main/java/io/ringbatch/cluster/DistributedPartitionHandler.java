package io.ringbatch.cluster;

import java.time.Duration;
import java.time.LocalDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.partition.support.AbstractPartitionHandler;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.dao.OptimisticLockingFailureException;
import org.springframework.integration.jdbc.channel.PostgresChannelMessageTableSubscriber;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.transaction.PlatformTransactionManager;
import org.springframework.transaction.support.TransactionTemplate;

/**
 * The manager side of a job's {@code process} step when partitions travel between instances: sends one
 * request per partition attempt into the queue ({@link PartitionQueue}), largest partition first (its
 * message priority is its rank by the plan's bytes), all in one transaction; then learns how they end by
 * reading the job repository every heartbeat (no reply channel: replies held in a manager's memory die
 * with it).
 * <p>
 * <b>Loss.</b> An attempt that is STARTING or STARTED, whose request is no longer queued and whose lease
 * ({@link Leases}) is not alive (lock gone, or not renewed within the loss timeout) for the loss timeout,
 * is lost; so is one STOPPED while its job is not stopping (its instance was shut down). The manager marks
 * it FAILED ("worker lost: &lt;instance&gt;"), which bumps its version so that its holder's next commit
 * fails if it comes back; creates a new attempt (a step execution of the same name in the same job
 * execution) with a copy of the lost attempt's last committed context, so that it resumes from that
 * commit; and sends it before every other request. After {@code maxAttempts} lost attempts of one
 * partition the step fails, naming the partition, and the other attempts still running are fenced.
 */
public class DistributedPartitionHandler extends AbstractPartitionHandler {
    /** The exit description of an attempt found lost starts so. */
    public static final String LOST = "worker lost: ";
    private static final Logger log = LoggerFactory.getLogger(DistributedPartitionHandler.class);

    /** The bytes the plan gave a partition (its rank in the queue). */
    @FunctionalInterface
    public interface PartitionSizes {
        long bytes(StepExecution partition) throws Exception;
    }

    private final JobRepository repository;
    private final PartitionQueue queue;
    private final Leases leases;
    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final PartitionSizes sizes;
    private final Duration heartbeat;
    private final Duration lossTimeout;
    private final int maxAttempts;
    /** Where the instance running a partition says it ended (a NOTIFY); null: the manager looks each heartbeat only. */
    private PostgresChannelMessageTableSubscriber ends;

    public DistributedPartitionHandler(JobRepository repository, PartitionQueue queue, Leases leases, JdbcTemplate jdbc,
                                       PlatformTransactionManager tm, PartitionSizes sizes, Duration heartbeat,
                                       Duration lossTimeout, int maxAttempts) {
        this.repository = repository;
        this.queue = queue;
        this.leases = leases;
        this.jdbc = jdbc;
        this.tx = new TransactionTemplate(tm);
        this.sizes = sizes;
        this.heartbeat = heartbeat;
        this.lossTimeout = lossTimeout;
        this.maxAttempts = maxAttempts;
    }

    /**
     * The manager looks at its partitions as soon as one of them ends, not only at the next heartbeat: the
     * instance that ran it NOTIFYs through this subscriber's channel ({@link PartitionConsumer}). Without
     * it a job waited half a heartbeat on average (up to a whole one) after its last partition ended.
     */
    public DistributedPartitionHandler wakeOnEnds(PostgresChannelMessageTableSubscriber subscriber) {
        this.ends = subscriber;
        return this;
    }

    /** A subscription to one job execution's partition ends: each NOTIFY releases the manager's wait. */
    private static final class Ended implements PostgresChannelMessageTableSubscriber.Subscription {
        private final String group;
        final Semaphore signal = new Semaphore(0);

        Ended(long jobExecutionId) {
            this.group = PartitionQueue.endedGroup(jobExecutionId);
        }

        @Override
        public void notifyUpdate() {
            signal.release();
        }

        @Override
        public String getRegion() {
            return PartitionQueue.REGION;
        }

        @Override
        public Object getGroupId() {
            return group;
        }
    }

    /** One partition as the manager follows it. */
    private static final class Partition {
        final String name;
        long attempt; // the newest attempt's step execution id
        int lost;
        final List<String> lostOn = new ArrayList<>();
        /** When the newest attempt was first seen neither queued nor leased (null: it was, at the last look). */
        Long suspectSince;
        BatchStatus status = BatchStatus.STARTING;

        Partition(String name, long attempt) {
            this.name = name;
            this.attempt = attempt;
        }
    }

    @Override
    protected Set<StepExecution> doHandle(StepExecution manager, Set<StepExecution> partitions) throws Exception {
        JobExecution jobExecution = manager.getJobExecution();
        long jobExecutionId = jobExecution.getId();
        List<StepExecution> ordered = new ArrayList<>(partitions);
        Map<Long, Long> bytes = new HashMap<>();
        for (StepExecution s : ordered) {
            bytes.put(s.getId(), sizes.bytes(s));
        }
        ordered.sort(Comparator.comparingLong((StepExecution s) -> bytes.get(s.getId())).reversed()
                .thenComparing(StepExecution::getStepName));
        Map<String, Partition> byName = new LinkedHashMap<>();
        for (StepExecution s : ordered) {
            byName.put(s.getStepName(), new Partition(s.getStepName(), s.getId()));
        }
        Ended ended = new Ended(jobExecutionId);
        if (ends != null) {
            ends.subscribe(ended); // before any request goes out: no end is missed
        }
        try {
            // one transaction: the workers see all of a job's requests at once, and its NOTIFY once
            tx.executeWithoutResult(status -> {
                int rank = ordered.size();
                for (StepExecution s : ordered) {
                    queue.send(s.getId(), jobExecutionId, rank--);
                }
            });
            log.info("job execution {}: {} partition request(s) queued", jobExecutionId, ordered.size());
            follow(manager, byName, ended.signal);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw e;
        } finally {
            if (ends != null) {
                ends.unsubscribe(ended);
            }
        }
        // every attempt's end as stored, read in one load of the job execution (its step executions and their
        // contexts) rather than a full load of each attempt
        JobExecution stored = repository.getJobExecution(jobExecutionId);
        Map<Long, StepExecution> byId = new HashMap<>();
        if (stored != null) {
            for (StepExecution s : stored.getStepExecutions()) {
                byId.put(s.getId(), s);
            }
        }
        Set<StepExecution> result = new LinkedHashSet<>();
        for (Partition p : byName.values()) {
            StepExecution s = byId.get(p.attempt);
            result.add(s != null ? s : repository.getStepExecution(p.attempt));
        }
        return result;
    }

    /** Watches the partitions until every one has ended; re-dispatches lost attempts. */
    private void follow(StepExecution manager, Map<String, Partition> byName, Semaphore ended) throws Exception {
        long jobExecutionId = manager.getJobExecutionId();
        while (true) {
            Map<Long, BatchStatus> statuses = new HashMap<>();
            jdbc.query("SELECT STEP_EXECUTION_ID, STATUS FROM BATCH_STEP_EXECUTION WHERE JOB_EXECUTION_ID = ?",
                    rs -> {
                        statuses.put(rs.getLong(1), BatchStatus.valueOf(rs.getString(2)));
                    }, jobExecutionId);
            String jobStatus = jdbc.queryForObject("SELECT STATUS FROM BATCH_JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?",
                    String.class, jobExecutionId);
            boolean jobStopping = "STOPPING".equals(jobStatus) || "STOPPED".equals(jobStatus);
            List<Long> open = new ArrayList<>();
            for (Partition p : byName.values()) {
                p.status = statuses.getOrDefault(p.attempt, BatchStatus.UNKNOWN);
                if (p.status.isRunning()) {
                    open.add(p.attempt);
                }
            }
            Set<Long> queued = open.isEmpty() ? Set.of() : queue.queued(open);
            Map<Long, Leases.Holder> holders = open.isEmpty() ? Map.of() : leases.holders(jobExecutionId);
            long now = System.nanoTime();
            boolean allEnded = true;
            for (Partition p : byName.values()) {
                if (jobStopping && queued.contains(p.attempt) && queue.withdraw(p.attempt)) {
                    endUnrun(p.attempt, BatchStatus.STOPPED, ExitStatus.STOPPED, "the job stopped before it ran");
                    p.status = BatchStatus.STOPPED;
                    continue;
                }
                if (p.status == BatchStatus.STOPPED && !jobStopping) {
                    // its instance shut down and stopped it at a commit; the job goes on
                    lost(manager, byName, p, "an instance that shut down", true);
                    allEnded = false;
                    continue;
                }
                if (!p.status.isRunning()) {
                    p.suspectSince = null;
                    continue;
                }
                allEnded = false;
                Leases.Holder holder = holders.get(p.attempt);
                boolean leaseAlive = holder != null && holder.locked() && holder.sinceRenewal().compareTo(lossTimeout) < 0;
                boolean stale = holder != null && holder.sinceRenewal().compareTo(lossTimeout) >= 0;
                if (queued.contains(p.attempt) || leaseAlive) {
                    p.suspectSince = null;
                    continue;
                }
                if (p.suspectSince == null) {
                    p.suspectSince = now;
                }
                if (stale || now - p.suspectSince >= lossTimeout.toNanos()) {
                    if (jobStopping) {
                        endUnrun(p.attempt, BatchStatus.STOPPED, ExitStatus.STOPPED, LOST
                                + (holder == null ? "unknown" : holder.instanceId()) + "; the job stopped");
                        continue;
                    }
                    lost(manager, byName, p, holder == null ? "unknown" : holder.instanceId(), false);
                }
            }
            if (allEnded) {
                return;
            }
            // until a partition ends (its instance's NOTIFY) or the next heartbeat, for the leases' sake
            if (ended.tryAcquire(heartbeat.toMillis(), TimeUnit.MILLISECONDS)) {
                ended.drainPermits();
            }
        }
    }

    /**
     * The newest attempt of {@code p} is lost: fence it, and send a new one from its last commit; or, after
     * {@code maxAttempts} losses, fence every running attempt and fail.
     */
    private void lost(StepExecution manager, Map<String, Partition> byName, Partition p, String instance,
                      boolean stoppedAtShutdown) {
        StepExecution old = repository.getStepExecution(p.attempt);
        if (old == null) {
            return;
        }
        boolean running = old.getStatus().isRunning();
        if (!running && !(stoppedAtShutdown && old.getStatus() == BatchStatus.STOPPED)) {
            return; // it ended meanwhile
        }
        String worker = old.getExecutionContext().containsKey(io.ringbatch.batch.ClusterHooks.WORKER)
                ? old.getExecutionContext().getString(io.ringbatch.batch.ClusterHooks.WORKER) : instance;
        int attemptNo = p.lost + 1;
        String reason = LOST + worker + " (" + p.name + ", attempt " + attemptNo + " of " + maxAttempts + ")";
        if (running) {
            old.setStatus(BatchStatus.FAILED);
            old.setExitStatus(new ExitStatus(ExitStatus.FAILED.getExitCode(), reason));
            old.setEndTime(LocalDateTime.now());
            try {
                repository.update(old); // the version bump fences its holder, should it come back
            } catch (OptimisticLockingFailureException e) {
                log.debug("attempt {} of {} committed meanwhile: not lost", old.getId(), p.name);
                p.suspectSince = null;
                return;
            }
        } else {
            try {
                old.setExitStatus(old.getExitStatus().and(new ExitStatus(old.getExitStatus().getExitCode(), reason)));
                repository.update(old);
            } catch (OptimisticLockingFailureException e) {
                log.debug("attempt {} of {} changed meanwhile", old.getId(), p.name);
            }
        }
        leases.drop(old.getId());
        p.lost++;
        p.lostOn.add(worker);
        p.suspectSince = null;
        if (p.lost >= maxAttempts) {
            String message = "partition " + p.name + " was lost " + p.lost + " times (ringbatch.cluster.max-attempts="
                    + maxAttempts + "; instances: " + String.join(", ", p.lostOn) + ")";
            log.error("job execution {}: {}; the job fails", manager.getJobExecutionId(), message);
            for (Partition other : byName.values()) {
                if (other != p && other.status.isRunning()) {
                    queue.withdraw(other.attempt);
                    endUnrun(other.attempt, BatchStatus.FAILED, ExitStatus.FAILED, "stopped: " + message);
                }
            }
            throw new PartitionLostException(message);
        }
        StepExecution next = repository.createStepExecution(p.name, manager.getJobExecution());
        ExecutionContext copy = new ExecutionContext(old.getExecutionContext());
        copy.remove(io.ringbatch.batch.ClusterHooks.WORKER);
        next.setExecutionContext(copy);
        repository.updateExecutionContext(next);
        p.attempt = next.getId();
        p.status = BatchStatus.STARTING;
        queue.send(next.getId(), manager.getJobExecutionId(), PartitionQueue.TOP_PRIORITY);
        log.warn("job execution {}: {}; sent again as attempt {} ({})", manager.getJobExecutionId(), reason,
                next.getId(), p.name);
    }

    /** Ends an attempt that no instance runs (or whose instance is fenced by the version bump). */
    private void endUnrun(long id, BatchStatus status, ExitStatus exit, String description) {
        StepExecution s = repository.getStepExecution(id);
        if (s == null || !s.getStatus().isRunning()) {
            return;
        }
        s.setStatus(status);
        s.setExitStatus(new ExitStatus(exit.getExitCode(), description));
        s.setEndTime(LocalDateTime.now());
        try {
            repository.update(s);
        } catch (OptimisticLockingFailureException e) {
            log.debug("attempt {} changed meanwhile: {}", id, e.getMessage());
        }
    }
}
