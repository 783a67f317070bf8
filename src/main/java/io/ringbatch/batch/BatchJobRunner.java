package io.ringbatch.batch;

import io.ringbatch.config.RingbatchProperties;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.stereotype.Component;

/**
 * {@link JobRunner} over Spring Batch's {@link JobOperator}. A ringbatch job is one job instance of
 * {@code bulkFile} identified by the parameter {@code jobId}; each start and restart is an execution of
 * it. At start-up, executions a crash left running are marked as failed ({@code JobOperator.recover})
 * and, with {@code ringbatch.resume-on-start}, restarted.
 */
@Component
public class BatchJobRunner implements JobRunner, SmartLifecycle {
    /** In a job's work dir: the service stopped this job as it shut down; the next start resumes it. */
    static final String RESUME_MARKER = "resume-on-start";
    /** How long a restart or an abandon waits for a stopping execution to end. */
    private static final long SETTLE_SECONDS = 30;
    private volatile boolean running;
    /**
     * Jobs that start-up recovery marks failed and restarts: between {@code recover} (FAILED) and the new
     * execution they show STARTING, so that nobody takes the recovery's FAILED for the job's end.
     */
    private final java.util.Set<String> resuming = java.util.concurrent.ConcurrentHashMap.newKeySet();
    /**
     * Taken by every launch (start, restart) around its {@code operator.start/restart}, and by the shutdown
     * as it begins: a job launched meanwhile is either one the shutdown finds running and stops, or one
     * that sees {@link #shuttingDown} and is stopped (and marked to resume) as it starts. None runs on
     * into the destruction of the executors unseen.
     */
    private final Object launches = new Object();
    private boolean shuttingDown; // guarded by launches
    private static final Logger log = LoggerFactory.getLogger(BatchJobRunner.class);

    private final JobOperator operator;
    private final JobRepository repository;
    private final Job job;
    private final Pipeline pipeline;
    private final RunStates states;
    private final BulkFileJobConfiguration.JobEnd jobEnd;
    private final RingbatchProperties properties;
    private final JobOwnership ownership;
    /** Between a stop and the finish step's rename, on every instance of the repository. */
    private final FinishLine finishLine;
    /** What running jobs get to stop at shutdown: Spring's own wait for each shutdown phase. */
    private final Duration shutdownTimeout;
    /** Where the jobs and their partitions run: they wait at their destruction for what is left of it. */
    private final List<ThreadPoolTaskExecutor> executors;

    public BatchJobRunner(JobOperator operator, JobRepository repository, Job bulkFileJob, Pipeline pipeline,
                          RunStates states, BulkFileJobConfiguration.JobEnd jobEnd, RingbatchProperties properties,
                          org.springframework.beans.factory.ObjectProvider<JobOwnership> ownership,
                          LifecycleProperties lifecycle,
                          @Qualifier("ringbatchWorkers") ThreadPoolTaskExecutor workers,
                          @Qualifier("ringbatchJobLauncher") ThreadPoolTaskExecutor launcher,
                          FinishLine finishLine) {
        this.finishLine = finishLine;
        this.shutdownTimeout = lifecycle.getTimeoutPerShutdownPhase();
        this.executors = List.of(launcher, workers);
        this.ownership = ownership.getIfAvailable(() -> jobId -> true);
        this.operator = operator;
        this.repository = repository;
        this.job = bulkFileJob;
        this.pipeline = pipeline;
        this.states = states;
        this.jobEnd = jobEnd;
        this.properties = properties;
        // an ended execution keeps no stop signal (a restart starts with a fresh one)
        jobEnd.add(jobId -> pipeline.stops().reset(jobId));
        jobEnd.add(finishLine::reset);
    }

    @Override
    public long start(JobDefinition definition) throws JobRunnerException {
        try {
            JobFiles files = pipeline.files(definition.jobId());
            files.writeDefinition(definition);
            Planner.recordHardLinkPolicy(files, properties.input().allowHardLinks());
            pipeline.stops().reset(files.jobId());
            finishLine.reset(definition.jobId());
            synchronized (launches) {
                jobEnd.launching(definition.jobId());
                JobExecution execution = operator.start(job, RunStates.parameters(definition.jobId()));
                if (shuttingDown) {
                    launchedDuringShutdown(definition.jobId(), execution);
                }
                return execution.getId();
            }
        } catch (IOException e) {
            throw new JobRunnerException("cannot write the job's definition: " + e.getMessage(), e);
        } catch (Exception e) {
            jobEnd.launchFailed(definition.jobId());
            throw new JobRunnerException("cannot start job " + definition.jobId() + ": " + e.getMessage(), e);
        }
    }

    @Override
    public long restart(String jobId) throws JobRunnerException {
        JobExecution last = settled(jobId);
        switch (last.getStatus()) {
            case STOPPED, FAILED -> {
            }
            case COMPLETED -> throw new JobRunnerException("job " + jobId + " is complete; it cannot restart", true);
            case ABANDONED -> throw new JobRunnerException("job " + jobId + " was abandoned; it cannot restart", true);
            default -> throw new JobRunnerException("job " + jobId + " is " + last.getStatus()
                    + "; only a stopped or failed job can restart", true);
        }
        if (!jobEnd.active(jobId) && last.getStepExecutions().stream().anyMatch(st -> st.getStatus().isRunning())) {
            // a process died while this execution was stopping: its steps still say they run
            last = operator.recover(last);
        }
        try {
            JobFiles files = pipeline.files(jobId);
            Planner.recordHardLinkPolicy(files, properties.input().allowHardLinks());
            pipeline.stops().reset(files.jobId());
        } catch (IOException e) {
            throw new JobRunnerException("cannot restart job " + jobId + ": cannot write to its work dir: "
                    + e.getMessage(), e);
        }
        try {
            finishLine.reset(jobId);
        } catch (org.springframework.dao.DataAccessException e) {
            throw new JobRunnerException("cannot restart job " + jobId + ": cannot reset its finish line in the job"
                    + " repository: " + e.getMessage(), e);
        }
        try {
            synchronized (launches) {
                jobEnd.launching(jobId);
                JobExecution execution = operator.restart(last);
                if (shuttingDown) {
                    launchedDuringShutdown(jobId, execution);
                }
                return execution.getId();
            }
        } catch (Exception e) {
            jobEnd.launchFailed(jobId);
            StringBuilder steps = new StringBuilder();
            for (var step : last.getStepExecutions()) {
                steps.append(' ').append(step.getStepName()).append('=').append(step.getStatus());
            }
            throw new JobRunnerException("cannot restart job " + jobId + ": " + e.getMessage() + "; steps:" + steps, e);
        }
    }

    @Override
    public void stop(String jobId) throws JobRunnerException {
        JobExecution last = latest(jobId);
        if (!last.isRunning()) {
            throw new JobRunnerException("job " + jobId + " is " + last.getStatus() + "; only a running job can stop",
                    true);
        }
        boolean mayStop;
        try {
            mayStop = finishLine.stop(jobId);
        } catch (org.springframework.dao.DataAccessException e) {
            throw new JobRunnerException("job " + jobId + " could not be stopped: the job repository's finish line"
                    + " did not answer: " + e.getMessage(), e);
        }
        if (!mayStop) {
            throw new JobRunnerException("job " + jobId + " is completing: its output is in place", true);
        }
        if (last.getStatus() == BatchStatus.STOPPING) {
            pipeline.stops().raise(jobId);
            return;
        }
        try {
            operator.stop(last);
        } catch (Exception e) {
            throw new JobRunnerException("job " + jobId + " could not be stopped: " + e.getMessage(), true);
        }
        // Spring Batch sees the stop at the partitions' next commits; an operation whose blocks are slow
        // (a costly regex on every line) sees this between lines and abandons its block
        pipeline.stops().raise(jobId);
    }

    @Override
    public void abandon(String jobId) throws JobRunnerException {
        JobExecution last = settled(jobId);
        if (last.isRunning()) {
            throw new JobRunnerException("job " + jobId + " is " + last.getStatus() + "; stop it before abandoning it",
                    true);
        }
        if (last.getStatus() == BatchStatus.COMPLETED || last.getStatus() == BatchStatus.ABANDONED) {
            throw new JobRunnerException("job " + jobId + " is " + last.getStatus() + "; it cannot be abandoned", true);
        }
        try {
            operator.abandon(last);
        } catch (Exception e) {
            throw new JobRunnerException("cannot abandon job " + jobId + ": " + e.getMessage(), true);
        }
    }

    @Override
    public RunState state(String jobId) {
        RunState s = states.state(jobId);
        if (s == RunState.NONE) {
            return s;
        }
        String status = s.status();
        String error = s.error();
        String errorDetail = s.errorDetail();
        java.time.Instant endedAt = s.endedAt();
        if (jobEnd.active(jobId) && ("STOPPED".equals(status) || "FAILED".equals(status))) {
            status = "STOPPING"; // marked so by a stop, but its workers are still finishing their chunks
        } else if (resuming.contains(jobId) && ("STOPPED".equals(status) || "FAILED".equals(status))) {
            status = "STARTING"; // failed by start-up recovery a moment before its restart
            error = null;
            errorDetail = null;
            endedAt = null;
        }
        return new RunState(status, s.phase(), s.startedAt(), endedAt, s.filesTotal(), s.filesDone(),
                s.bytesTotal(), s.bytesDone(), s.waitNanos(), s.busyNanos(), pipeline.engine().name(), s.partitions(),
                s.executions(), error, errorDetail);
    }

    @Override
    public void onExecutionEnded(Consumer<String> listener) {
        jobEnd.add(listener);
    }

    /**
     * The latest execution once its thread here has really ended: a stop marks the execution STOPPED at
     * once, and Spring Batch refuses to restart it while its workers still finish their chunks. Waits up
     * to {@value #SETTLE_SECONDS} s.
     */
    private JobExecution settled(String jobId) throws JobRunnerException {
        JobExecution last = latest(jobId);
        if (!last.isRunning() && jobEnd.active(jobId)) {
            try {
                jobEnd.end(jobId).get(SETTLE_SECONDS, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                // still stopping: refused below
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e); // never: the end is only ever completed normally
            }
            last = latest(jobId);
        }
        if (jobEnd.active(jobId) && !last.isRunning()) {
            throw new JobRunnerException("job " + jobId + " is still stopping; try again when it has stopped", true);
        }
        return last;
    }

    private JobExecution latest(String jobId) throws JobRunnerException {
        JobExecution last = states.latest(jobId);
        if (last == null) {
            throw new JobRunnerException("job " + jobId + " has not started", true);
        }
        return last;
    }

    /**
     * Executions left STARTED or STOPPING by a crash: no thread of this process runs them. Marks them
     * FAILED so that they can restart, and restarts them if {@code ringbatch.resume-on-start}.
     */
    @EventListener(ApplicationReadyEvent.class)
    public void recoverInterrupted() {
        if (properties.role() == RingbatchProperties.Role.WORKER) {
            return; // a worker manages no jobs: it neither recovers nor resumes any
        }
        List<String> resumed = new ArrayList<>();
        // what a dead process left running, taken before anything here starts a job
        List<JobExecution> leftovers = new ArrayList<>(repository.findRunningJobExecutions(Pipeline.JOB_NAME));
        resumeStoppedAtShutdown(resumed);
        for (JobExecution execution : leftovers) {
            String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
            if (jobEnd.active(jobId)) {
                continue; // started by this process meanwhile
            }
            if (!ownership.runsHere(jobId)) {
                continue; // another instance on the same repository runs it, or will resume it
            }
            if (clusterRecovery != null) {
                // partitions of it may still run on live instances: settle them first, off the start-up thread
                Thread recovery = new Thread(() -> recoverInCluster(execution, jobId),
                        "ringbatch-recover-" + execution.getId());
                recovery.setDaemon(true);
                recovery.start();
                continue;
            }
            if (properties.resumeOnStart()) {
                resuming.add(jobId);
            }
            try {
                operator.recover(execution);
                log.warn("job {} was interrupted (execution {} left {} by a stop of the service); marked failed",
                        jobId, execution.getId(), execution.getStatus());
                if (properties.resumeOnStart()) {
                    restart(jobId);
                    resumed.add(jobId);
                }
            } catch (Exception e) {
                log.error("job {}: could not recover execution {}: {}", jobId, execution.getId(), e.getMessage());
            } finally {
                resuming.remove(jobId);
            }
        }
        if (!resumed.isEmpty()) {
            log.info("resumed {} interrupted job(s): {}", resumed.size(), resumed);
        }
    }

    /** Set in cluster mode (PostgreSQL): start-up recovery must not fail partitions that live instances run. */
    private volatile PartitionSettler clusterRecovery;

    @org.springframework.beans.factory.annotation.Autowired(required = false)
    void setClusterRecovery(PartitionSettler clusterRecovery) {
        this.clusterRecovery = clusterRecovery;
    }

    /**
     * An execution a crash of this manager left running, in cluster mode: its partition attempts that no
     * live instance runs are failed, those that live instances run are waited for; then it is recovered
     * (marked failed) and, with {@code ringbatch.resume-on-start}, restarted: only the partitions that did
     * not complete run again, each from its last commit.
     */
    private void recoverInCluster(JobExecution execution, String jobId) {
        try {
            clusterRecovery.settle(execution);
            JobExecution fresh = repository.getJobExecution(execution.getId());
            if (fresh == null || !fresh.isRunning() || jobEnd.active(jobId)) {
                return;
            }
            if (properties.resumeOnStart()) {
                resuming.add(jobId);
            }
            operator.recover(fresh);
            log.warn("job {} was interrupted (execution {} left {} by a stop of the service); marked failed once no"
                    + " live instance ran its partitions", jobId, fresh.getId(), fresh.getStatus());
            if (properties.resumeOnStart()) {
                restart(jobId);
                log.info("resumed interrupted job {}", jobId);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (Exception e) {
            log.error("job {}: could not recover execution {}: {}", jobId, execution.getId(), e.getMessage());
        } finally {
            resuming.remove(jobId);
        }
    }

    /**
     * Jobs the last shutdown stopped (they carry the marker) go on, if resume-on-start allows. The
     * shutdown stops the partitions first and waits for them within the shutdown timeout; the worker
     * executor waits for what is left of it, and only then does the I/O engine close (the workers depend
     * on it). A partition still reading then fails cleanly ("the io_uring engine is closed"), never on
     * unmapped memory.
     */
    private void resumeStoppedAtShutdown(List<String> resumed) {
        java.nio.file.Path jobs = pipeline.workDir();
        if (!java.nio.file.Files.isDirectory(jobs)) {
            return;
        }
        try (var dirs = java.nio.file.Files.list(jobs)) {
            for (java.nio.file.Path dir : dirs.toList()) {
                java.nio.file.Path marker = dir.resolve(RESUME_MARKER);
                if (!java.nio.file.Files.exists(marker)) {
                    continue;
                }
                String jobId = dir.getFileName().toString();
                java.nio.file.Files.deleteIfExists(marker);
                JobExecution last = states.latest(jobId);
                // STOPPED at its commit, or FAILED because it overran the shutdown's wait and its reads met the
                // closed I/O engine ("the io_uring engine is closed"): either way it resumes from its last commit
                if (properties.resumeOnStart() && last != null
                        && (last.getStatus() == BatchStatus.STOPPED || last.getStatus() == BatchStatus.FAILED)) {
                    try {
                        restart(jobId);
                        resumed.add(jobId);
                    } catch (JobRunnerException e) {
                        log.error("job {}: could not resume it after the shutdown that stopped it: {}", jobId,
                                e.getMessage());
                    }
                }
            }
        } catch (IOException e) {
            log.error("could not look for jobs to resume: {}", e.getMessage());
        }
    }

    // ---- shutdown: stop running jobs at their next commit, so that they resume at the next start ----

    @Override
    public void start() {
        running = true;
    }

    @Override
    public boolean isRunning() {
        return running;
    }

    /**
     * Where this runner stops in the shutdown. Spring stops the lifecycle beans from the highest phase
     * down, each phase within {@code spring.lifecycle.timeout-per-shutdown-phase}:
     * <ol>
     *   <li>{@link SmartLifecycle#DEFAULT_PHASE}: the job service stops taking jobs from its queue, the
     *       live event streams close (they would hold up the web server's graceful shutdown), the
     *       throughput sampling stops;</li>
     *   <li>this phase: the running jobs are stopped at their next commit, and waited for;</li>
     *   <li>{@code WebServerApplicationContext.GRACEFUL_SHUTDOWN_PHASE} ({@code DEFAULT_PHASE - 1024}):
     *       the web server finishes the requests under way;</li>
     *   <li>then the beans are destroyed: the job and worker executors wait for tasks still running
     *       (jobs that overran the wait here) for what is left of the timeout, and the I/O engine
     *       closes after the workers.</li>
     * </ol>
     */
    public static final int PHASE = SmartLifecycle.DEFAULT_PHASE - 1;

    @Override
    public int getPhase() {
        return PHASE;
    }

    @Override
    public void stop() {
        running = false;
        long deadline = System.nanoTime() + shutdownTimeout.toNanos();
        synchronized (launches) {
            shuttingDown = true; // from now on a launch stops its job at once (it resumes at the next start)
        }
        try {
            stopJobs(deadline);
        } finally {
            // jobs that overran the wait are left to the executors for what remains of the same timeout,
            // not for another one each, and the I/O engine's close (after the workers) gets what remains
            // then: the whole shutdown stays within about one timeout
            long left = Math.max(0, TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime()));
            executors.forEach(e -> e.setAwaitTerminationMillis(left));
            pipeline.engine().closeBy(deadline);
        }
    }

    /**
     * Marks the job to resume at the next start, then stops it at its next commit. False for a job it
     * leaves alone: one whose finish step has put its output in place (it completes at once), and one a
     * user stopped before the shutdown (still STOPPING: it stays stopped, and is not resumed).
     */
    private boolean stopForShutdown(String jobId, JobExecution execution) throws Exception {
        if (execution.getStatus() == BatchStatus.STOPPING || !finishLine.stop(jobId)) {
            return false;
        }
        java.nio.file.Files.createDirectories(pipeline.files(jobId).dir());
        java.nio.file.Files.writeString(pipeline.files(jobId).dir().resolve(RESUME_MARKER), "");
        operator.stop(execution);
        pipeline.stops().raise(jobId);
        return true;
    }

    /** A launch that came as the shutdown began: the job stops at once and resumes at the next start. */
    private void launchedDuringShutdown(String jobId, JobExecution execution) {
        try {
            // a copy from the repository: the job's thread may be updating the launch's own object
            JobExecution stored = repository.getJobExecution(execution.getId());
            stopForShutdown(jobId, stored != null ? stored : execution);
            log.info("job {} was launched as the service shuts down: stopped at once; it resumes at the next start",
                    jobId);
        } catch (Exception e) {
            log.warn("job {}: launched as the service shuts down, and could not be stopped: {}", jobId, e.getMessage());
        }
    }

    /** Stops the jobs this process runs at their next commit, and waits for them until the deadline. */
    private void stopJobs(long deadline) {
        List<CompletableFuture<Void>> ends = new ArrayList<>();
        List<String> stopping = new ArrayList<>();
        for (JobExecution execution : repository.findRunningJobExecutions(Pipeline.JOB_NAME)) {
            String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
            if (!jobEnd.active(jobId)) {
                continue; // not run by this process
            }
            try {
                if (stopForShutdown(jobId, execution)) {
                    stopping.add(jobId);
                }
                ends.add(jobEnd.end(jobId)); // one that completes (its output in place) is waited for as well
            } catch (Exception e) {
                log.warn("job {}: could not stop it for the shutdown: {}", jobId, e.getMessage());
            }
        }
        if (ends.isEmpty()) {
            return;
        }
        log.info("shutting down: stopping {} running job(s) at their next commit within {}; they resume at the"
                + " next start: {}", stopping.size(), shutdownTimeout, stopping);
        try {
            CompletableFuture.allOf(ends.toArray(CompletableFuture[]::new))
                    .get(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        } catch (TimeoutException e) {
            // reported below
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (ExecutionException e) {
            throw new IllegalStateException(e); // never: the ends are only ever completed normally
        }
        List<String> late = stopping.stream().filter(jobEnd::active).toList();
        if (!late.isEmpty()) {
            log.warn("shutting down: job(s) {} did not stop within {} (spring.lifecycle.timeout-per-shutdown-phase);"
                    + " they resume from their last commit", late, shutdownTimeout);
        }
    }
}
