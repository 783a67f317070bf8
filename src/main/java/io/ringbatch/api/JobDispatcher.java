package io.ringbatch.api;

import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.JobRunnerException;
import io.ringbatch.batch.RunState;
import io.ringbatch.config.RingbatchProperties;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.scheduling.TaskScheduler;
import org.springframework.stereotype.Component;

/**
 * Starts queued jobs and keeps the table's statuses in line with Spring Batch's.
 * <p>
 * <b>Queue.</b> At most {@code ringbatch.max-concurrent-jobs} jobs run here at once (STARTING, STARTED or
 * STOPPING); queued jobs start in the order they were queued whenever a running one ends (the runner
 * says so), every second, and at start-up (jobs left QUEUED by an earlier process keep their place).
 * <p>
 * <b>Status.</b> The table keeps the status last seen so that lists can filter by it. This class alone
 * writes what the runner reports: every second for running jobs, and for a while for jobs that just
 * ended or that the runner may be resuming after a restart of the service. Reads never write.
 * <p>
 * <b>Lock.</b> Admission and dispatch happen under one lock of this JVM ({@link #exclusively}), so
 * counting the queue, inserting or re-queueing, and starting what may start are one step. One process
 * is assumed to dispatch from a queue; other instances only claim jobs that may run on them.
 */
@Component
class JobDispatcher implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(JobDispatcher.class);
    /** How long jobs found running at start-up are watched: the runner may be resuming them. */
    private static final Duration STARTUP_WATCH = Duration.ofSeconds(60);
    /** How long a job is watched after its execution ended: the repository may show the end late. */
    private static final Duration ENDED_WATCH = Duration.ofSeconds(10);
    /**
     * How often a job is looked at after its launch and after its end until the runner's status settles
     * (STARTING becomes STARTED; the end reaches the repository a moment after the runner announces it),
     * so that the table, which lists filter by, lags the views by about this much rather than by a tick.
     */
    private static final Duration FOLLOW = Duration.ofMillis(50);
    private static final int MAX_RECONCILE = 10_000;

    private final JobStore store;
    private final JobRunner runner;
    private final RingbatchProperties properties;
    private final TaskScheduler scheduler;
    private final Clock clock;
    /** Held while admitting and dispatching; package-private so a test can hold the dispatcher still. */
    final ReentrantLock lock = new ReentrantLock();
    /** Jobs to reconcile even though their row does not look running: ended or resumed by the runner. */
    private final Map<String, Instant> watch = new ConcurrentHashMap<>();
    private volatile ScheduledFuture<?> ticks;
    private volatile boolean dispatching;
    private volatile boolean lifecycleRunning;
    /** The application has been ready once: a later lifecycle start (a context stopped, then started again) dispatches at once. */
    private boolean wasReady; // guarded by lock

    JobDispatcher(JobStore store, JobRunner runner, RingbatchProperties properties, TaskScheduler scheduler,
                  Clock clock) {
        this.store = store;
        this.runner = runner;
        this.properties = properties;
        this.scheduler = scheduler;
        this.clock = clock;
        runner.onExecutionEnded(this::executionEnded);
    }

    /** Runs {@code work} under the dispatcher's lock: admission, inserts and re-queues, then dispatch. */
    <T> T exclusively(Supplier<T> work) {
        lock.lock();
        try {
            return work.get();
        } finally {
            lock.unlock();
        }
    }

    /** Whether the job just ended or may be resumed: its row may lag behind the runner for a moment. */
    boolean watched(String id) {
        return watch.containsKey(id);
    }

    /** Starts queued jobs while slots are free. Call under {@link #exclusively}; returns the launches that failed. */
    Map<String, Exception> dispatch() {
        if (!lock.isHeldByCurrentThread()) {
            throw new IllegalStateException("dispatch without the dispatcher's lock");
        }
        Map<String, Exception> failures = new HashMap<>();
        if (!dispatching) {
            return failures;
        }
        List<String> active = JobStatus.names(JobStatus.ACTIVE);
        int running = store.countHere(active);
        while (running < properties.maxConcurrentJobs()) {
            Optional<JobStore.Row> next = store.nextQueued();
            if (next.isEmpty()) {
                break;
            }
            JobStore.Row row = next.get();
            Exception failure = launch(row);
            if (failure != null) {
                failures.put(row.id(), failure);
            }
            running = store.countHere(active); // the claim may have gone to another instance
        }
        return failures;
    }

    /** Starts (or restarts) one queued job; returns the failure, or null. */
    private Exception launch(JobStore.Row row) {
        String id = row.id();
        boolean first = runner.state(id).status() == null;
        if (!store.claim(id, Instant.now(clock))) {
            return null; // another instance took it
        }
        try {
            if (first) {
                runner.start(StoredSpec.of(store, row).job(id));
            } else {
                runner.restart(id);
            }
            log.info("job {} {}", id, first ? "started" : "restarted");
            follow(id, Instant.now(clock).plus(ENDED_WATCH), status -> status != JobStatus.STARTING);
            return null;
        } catch (JobRunnerException | RuntimeException e) {
            JobStatus after = JobStatus.of(runner.state(id).status());
            JobStatus status = after == null ? JobStatus.FAILED : after;
            String message = (first ? "could not start: " : "could not restart: ") + Texts.clean(e.getMessage(), 1000);
            if (e instanceof JobRunnerException) {
                log.warn("job {} {}", id, message);
            } else {
                log.error("job {} {}", id, message, e);
            }
            boolean fine = status.active() || status == JobStatus.COMPLETED || status == JobStatus.ABANDONED;
            store.setStatus(id, null, status.name(), fine ? null : message, Instant.now(clock));
            return e;
        }
    }

    private void executionEnded(String jobId) {
        Instant until = Instant.now(clock).plus(ENDED_WATCH);
        watch.put(jobId, until);
        // Spring Batch has stored the execution's end by now: the table follows at once, so that a client
        // who sees the end in the job's view finds the job under its new status in a list too (a follow
        // alone left a window of FOLLOW in which it did not). Starting the next job is left to the follow,
        // off this job's thread.
        try {
            exclusively(() -> store.find(jobId).map(row -> reconcile(row, runner.state(jobId))).orElse(null));
        } catch (RuntimeException e) {
            log.warn("job {}: its stored status follows at the next look: {}", jobId, e.toString());
        }
        follow(jobId, until, status -> !status.active());
    }

    /**
     * Looks at the job every {@link #FOLLOW} until its stored status, brought in line with the runner's,
     * is {@code settled} (or until {@code until}), then starts what may start. Not before the service is
     * ready: the start-up watch covers that time.
     */
    private void follow(String id, Instant until, Predicate<JobStatus> settled) {
        if (ticks == null || !dispatching) {
            return;
        }
        try {
            scheduler.schedule(() -> {
                JobStatus status = exclusively(() -> {
                    JobStatus now = store.find(id).map(row -> reconcile(row, runner.state(id))).orElse(null);
                    dispatch();
                    return now;
                });
                if (status != null && !settled.test(status) && Instant.now(clock).isBefore(until)) {
                    follow(id, until, settled);
                }
            }, scheduler.getClock().instant().plus(FOLLOW));
        } catch (RuntimeException e) {
            // the scheduler is shutting down
        }
    }

    /** Reconciles the statuses of running and watched jobs with the runner's, then starts what may start. */
    void tick() {
        lock.lock();
        try {
            Instant now = Instant.now(clock);
            Set<String> check = new LinkedHashSet<>();
            for (JobStore.Row row : store.withStatus(JobStatus.names(JobStatus.ACTIVE), MAX_RECONCILE)) {
                check.add(row.id());
            }
            watch.entrySet().removeIf(e -> e.getValue().isBefore(now));
            check.addAll(watch.keySet());
            for (String id : check) {
                store.find(id).ifPresent(row -> reconcile(row, runner.state(id)));
            }
            dispatch();
        } catch (RuntimeException e) {
            log.error("job dispatcher: {}", e.toString(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Brings the row's status in line with the runner's; returns the status the row has now. */
    private JobStatus reconcile(JobStore.Row row, RunState state) {
        JobStatus status = JobStatus.of(state.status());
        JobStatus stored = JobStatus.of(row.status());
        Instant now = Instant.now(clock);
        if (status == null) {
            if (stored.active() && store.runsHere(row.id())) {
                // marked as starting by a process that died before the runner had it: queue it again, in place
                log.warn("job {} was {} but never started; it waits in the queue again", row.id(), row.status());
                if (store.setStatus(row.id(), row.status(), JobStatus.QUEUED.name(), null, now)) {
                    return JobStatus.QUEUED;
                }
            }
            return stored;
        }
        if (stored == JobStatus.QUEUED && !status.active()) {
            return stored; // waiting for a restart
        }
        if (status != stored && store.setStatus(row.id(), row.status(), status.name(),
                status.active() ? null : errorOf(row, state), now)) {
            return status;
        }
        return stored;
    }

    /** The error a job that ended keeps: the runner's, or for a failure the one stored (a launch's). */
    private static String errorOf(JobStore.Row row, RunState state) {
        if (state.error() != null) {
            return state.error();
        }
        return JobStatus.FAILED.name().equals(state.status()) ? row.error() : null;
    }

    @EventListener(ApplicationReadyEvent.class)
    @Order(Ordered.LOWEST_PRECEDENCE)
    public void ready() {
        lock.lock();
        try {
            // the runner may be resuming these (ringbatch.resume-on-start): keep an eye on them for a while
            Instant until = Instant.now(clock).plus(STARTUP_WATCH);
            for (JobStore.Row row : store.withStatus(JobStatus.names(JobStatus.ACTIVE), MAX_RECONCILE)) {
                watch.put(row.id(), until);
            }
            wasReady = true;
        } finally {
            lock.unlock();
        }
        resume();
    }

    @Override
    public void start() {
        lifecycleRunning = true;
        resume();
    }

    /** Starts dispatching once the application is ready and the lifecycle runs, whichever comes last. */
    private void resume() {
        if (properties.role() == RingbatchProperties.Role.WORKER) {
            return; // a worker runs partitions only: it never claims or starts jobs
        }
        lock.lock();
        try {
            if (!wasReady || !lifecycleRunning || dispatching) {
                return;
            }
            dispatching = true;
        } finally {
            lock.unlock();
        }
        ticks = scheduler.scheduleWithFixedDelay(this::tick, Duration.ofSeconds(1));
    }

    /** First thing at shutdown: no more jobs start (those running are the runner's to stop). */
    @Override
    public void stop() {
        lifecycleRunning = false;
        dispatching = false;
        ScheduledFuture<?> t = ticks;
        if (t != null) {
            t.cancel(true);
        }
    }

    @Override
    public boolean isRunning() {
        return lifecycleRunning;
    }

    @Override
    public int getPhase() {
        return Integer.MAX_VALUE;
    }
}
