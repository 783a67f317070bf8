package io.ringbatch.cluster;

import io.ringbatch.batch.ClusterHooks;
import io.ringbatch.batch.Pipeline;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.ExitStatus;
import org.springframework.batch.core.job.JobInterruptedException;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.integration.partition.StepExecutionRequest;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.messaging.Message;
import org.springframework.messaging.MessageHandler;

/**
 * The worker side: runs the partition attempts that reach this instance through the queue, one per worker
 * thread (so at most {@code ringbatch.workers} at a time). Each attempt runs under a lease
 * ({@link Leases}); a request whose attempt is no longer the newest STARTING one of its partition (the
 * manager gave up on it, or the job stopped) is dropped, as is one whose lease is held elsewhere (the same
 * request twice). The instance's id goes into the attempt's context ({@value ClusterHooks#WORKER}), stored
 * with its first commit. At shutdown (SIGTERM) the attempts running here stop at their next commit; their managers
 * see them STOPPED while the job is not stopping, and send them again, to another instance.
 */
public class PartitionConsumer implements MessageHandler, SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(PartitionConsumer.class);

    private final JobRepository repository;
    private final BeanFactory beans;
    private final Leases leases;
    private final PartitionQueue queue;
    private final PartitionRequestChannel channel;
    private final Pipeline pipeline;
    private final JdbcTemplate jdbc;
    private final String instanceId;
    private final Duration heartbeat;
    private final Duration shutdownTimeout;
    /** Renews the leases and kicks the channel every heartbeat; drops ended jobs' plans now and then. */
    private volatile java.util.concurrent.ScheduledExecutorService ticker;
    /** Attempts running here, by step execution id. */
    private final Map<Long, StepExecution> running = new ConcurrentHashMap<>();
    /** Jobs (by job execution id) whose partitions ran here, with their ringbatch job id: plans to drop at their end. */
    private final Map<Long, String> seen = new ConcurrentHashMap<>();
    private volatile boolean stopping;
    private volatile boolean lifecycleRunning;

    public PartitionConsumer(JobRepository repository, BeanFactory beans, Leases leases, PartitionQueue queue,
                             PartitionRequestChannel channel, Pipeline pipeline, JdbcTemplate jdbc, String instanceId,
                             Duration heartbeat, Duration shutdownTimeout) {
        this.repository = repository;
        this.beans = beans;
        this.leases = leases;
        this.queue = queue;
        this.channel = channel;
        this.pipeline = pipeline;
        this.jdbc = jdbc;
        this.instanceId = instanceId;
        this.heartbeat = heartbeat;
        this.shutdownTimeout = shutdownTimeout;
    }

    /** Attempts running here now. */
    public int running() {
        return running.size();
    }

    @Override
    public void handleMessage(Message<?> message) {
        // never throws: the channel would retry the message, then log it and go on as if it had run
        if (!(message.getPayload() instanceof StepExecutionRequest request)) {
            log.warn("dropped a partition request that is not a StepExecutionRequest: {}", message.getPayload());
            return;
        }
        if (stopping) {
            try {
                queue.requeue(message); // taken just as this instance began to shut down: for another one
            } catch (RuntimeException e) {
                log.warn("could not put partition request {} back in the queue at shutdown (its manager sends it"
                        + " again once it counts it lost): {}", request, e.getMessage());
            }
            return;
        }
        try {
            run(request, PartitionQueue.jobExecutionId(message));
        } catch (Throwable e) {
            log.error("partition request {} failed here: {}", request, e.toString(), e);
        }
    }

    /** @param jobExecutionId the attempt's job execution as its request says, or null (a request sent without it) */
    private void run(StepExecutionRequest request, Long jobExecutionId) throws Exception {
        long id = request.getStepExecutionId();
        if (jobExecutionId == null) {
            // for the lease's row: a light look, the attempt is read in full once, under the lease
            jobExecutionId = jdbc.query("SELECT JOB_EXECUTION_ID FROM BATCH_STEP_EXECUTION WHERE STEP_EXECUTION_ID = ?",
                    rs -> rs.next() ? rs.getLong(1) : null, id);
        }
        if (jobExecutionId == null) {
            log.info("dropped partition request {}: no such step execution", request);
            return;
        }
        try (Leases.Lease lease = leases.take(id, jobExecutionId)) {
            if (lease == null) {
                log.info("dropped partition request {}: its lease is held by another session", request);
                return;
            }
            // under the lease: the manager may have given up on it meanwhile, so it must still be STARTING and
            // its partition's newest attempt (one statement)
            String[] check = jdbc.query("SELECT S.STATUS, S.STEP_NAME, (SELECT MAX(N.STEP_EXECUTION_ID)"
                    + " FROM BATCH_STEP_EXECUTION N WHERE N.JOB_EXECUTION_ID = S.JOB_EXECUTION_ID"
                    + " AND N.STEP_NAME = S.STEP_NAME) FROM BATCH_STEP_EXECUTION S WHERE S.STEP_EXECUTION_ID = ?"
                    + " AND S.JOB_EXECUTION_ID = ?",
                    rs -> rs.next() ? new String[] {rs.getString(1), rs.getString(2), rs.getString(3)} : null, id,
                    jobExecutionId);
            if (check == null || !BatchStatus.STARTING.name().equals(check[0]) || !String.valueOf(id).equals(check[2])) {
                log.info("dropped partition request {}: the attempt is {} and {} the newest of {}", request,
                        check == null ? "not in job execution " + jobExecutionId : check[0],
                        check != null && String.valueOf(id).equals(check[2]) ? "is" : "is not",
                        check == null ? "its partition" : check[1]);
                return;
            }
            StepExecution execution = repository.getStepExecution(id);
            if (execution == null) {
                return;
            }
            String jobId = execution.getJobExecution().getJobParameters().getString(Pipeline.JOB_ID);
            if (jobId != null) {
                seen.put(jobExecutionId, jobId);
            }
            // stored with its first commit, as on one node (a loss before it is named by the lease's row)
            execution.getExecutionContext().putString(ClusterHooks.WORKER, instanceId);
            Step step = beans.getBean(request.getStepName(), Step.class);
            running.put(id, execution);
            try {
                if (stopping) {
                    execution.setTerminateOnly();
                }
                step.execute(execution);
            } catch (JobInterruptedException e) {
                execution.setStatus(BatchStatus.STOPPED);
                saveQuietly(execution);
            } catch (Throwable e) {
                execution.addFailureException(e);
                execution.setStatus(BatchStatus.FAILED);
                execution.setExitStatus(ExitStatus.FAILED.addExitDescription(e));
                saveQuietly(execution);
            } finally {
                running.remove(id);
                tellManager(jobExecutionId);
            }
            log.debug("partition attempt {} ({}) ended {}", id, execution.getStepName(), execution.getStatus());
        }
    }

    /**
     * Wakes the job's manager, which otherwise looks at its partitions once a heartbeat: a NOTIFY for the
     * group only it subscribes to ({@link PartitionQueue#endedPayload}), sent once the attempt's end is
     * committed. A lost NOTIFY costs a heartbeat, nothing more.
     */
    private void tellManager(long jobExecutionId) {
        try {
            queue.partitionEnded(jobExecutionId);
        } catch (RuntimeException e) {
            log.debug("could not tell job execution {}'s manager that a partition ended: {}", jobExecutionId,
                    e.toString());
        }
    }

    private void saveQuietly(StepExecution execution) {
        try {
            repository.update(execution);
        } catch (RuntimeException e) {
            // a fenced attempt (the manager counted it lost and bumped its version): its end is not ours to write
            log.info("partition attempt {} could not record its end: {}", execution.getId(), e.getMessage());
        }
    }

    /** Every heartbeat: renew the leases held here, and drop the cached plans of jobs that ended. */
    void tick() {
        if (!running.isEmpty()) {
            leases.renew();
        }
        channel.notifyUpdate(); // the periodic kick: requests a missed or folded NOTIFY left waiting
    }

    /** Drops cached plans of jobs whose execution ended (only the manager hears of the end itself). */
    void evictEnded() {
        for (Map.Entry<Long, String> e : Map.copyOf(seen).entrySet()) {
            if (running.values().stream().anyMatch(s -> s.getJobExecutionId() == e.getKey())) {
                continue;
            }
            Integer ended = jdbc.queryForObject("SELECT count(*) FROM BATCH_JOB_EXECUTION WHERE JOB_EXECUTION_ID = ?"
                    + " AND END_TIME IS NOT NULL", Integer.class, e.getKey());
            if (ended != null && ended > 0) {
                seen.remove(e.getKey());
                ClusterHooks.forgetPlan(pipeline, e.getValue());
            }
        }
    }

    // ---- shutdown: the attempts running here stop at their next commit and run again elsewhere ----

    @Override
    public void start() {
        lifecycleRunning = true;
        stopping = false;
        var t = java.util.concurrent.Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "ringbatch-lease");
            thread.setDaemon(true);
            return thread;
        });
        long beat = Math.max(50, heartbeat.toMillis());
        t.scheduleWithFixedDelay(() -> quietly(this::tick), beat, beat, TimeUnit.MILLISECONDS);
        t.scheduleWithFixedDelay(() -> quietly(this::evictEnded), 10, 10, TimeUnit.SECONDS);
        ticker = t;
        channel.open();
        channel.subscribe(this); // takes what is queued at once, then at every notification
    }

    private static void quietly(Runnable r) {
        try {
            r.run();
        } catch (RuntimeException e) {
            log.warn("partition consumer: {}", e.toString());
        }
    }

    @Override
    public boolean isRunning() {
        return lifecycleRunning;
    }

    /** With the job runner, which stops the jobs this instance manages (their partitions elsewhere too). */
    @Override
    public int getPhase() {
        return io.ringbatch.batch.BatchJobRunner.PHASE;
    }

    @Override
    public void stop() {
        lifecycleRunning = false;
        stopping = true;
        channel.close();
        // fair lock: once this waits, no drain takes another request; it returns when those running end
        Thread unsubscribe = new Thread(() -> channel.unsubscribe(this), "ringbatch-consumer-stop");
        unsubscribe.setDaemon(true);
        unsubscribe.start();
        Set<Long> ids = Set.copyOf(running.keySet());
        for (StepExecution s : running.values()) {
            s.setTerminateOnly();
        }
        if (!ids.isEmpty()) {
            log.info("shutting down: stopping {} partition attempt(s) at their next commit; they run again on"
                    + " another instance: {}", ids.size(), ids);
        }
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        try {
            unsubscribe.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime())));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (!running.isEmpty()) {
            log.warn("shutting down: partition attempt(s) {} did not stop within {}", running.keySet(), shutdownTimeout);
        }
        var t = ticker;
        if (t != null) {
            t.shutdownNow();
        }
    }
}
