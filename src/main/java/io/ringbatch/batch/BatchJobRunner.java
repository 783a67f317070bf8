package io.ringbatch.batch;

import io.ringbatch.config.RingbatchProperties;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.launch.JobOperator;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.event.EventListener;
import org.springframework.stereotype.Component;

/**
 * {@link JobRunner} over Spring Batch's {@link JobOperator}. A ringbatch job is one job instance of
 * {@code bulkFile} identified by the parameter {@code jobId}; each start and restart is an execution of
 * it. At start-up, executions a crash left running are marked as failed ({@code JobOperator.recover})
 * and, with {@code ringbatch.resume-on-start}, restarted.
 */
@Component
public class BatchJobRunner implements JobRunner {
    private static final Logger log = LoggerFactory.getLogger(BatchJobRunner.class);

    private final JobOperator operator;
    private final JobRepository repository;
    private final Job job;
    private final Pipeline pipeline;
    private final RunStates states;
    private final BulkFileJobConfiguration.JobEnd jobEnd;
    private final RingbatchProperties properties;

    public BatchJobRunner(JobOperator operator, JobRepository repository, Job bulkFileJob, Pipeline pipeline,
                          RunStates states, BulkFileJobConfiguration.JobEnd jobEnd, RingbatchProperties properties) {
        this.operator = operator;
        this.repository = repository;
        this.job = bulkFileJob;
        this.pipeline = pipeline;
        this.states = states;
        this.jobEnd = jobEnd;
        this.properties = properties;
    }

    @Override
    public long start(JobDefinition definition) throws JobRunnerException {
        try {
            pipeline.files(definition.jobId()).writeDefinition(definition);
            jobEnd.launching(definition.jobId());
            JobExecution execution = operator.start(job, RunStates.parameters(definition.jobId()));
            return execution.getId();
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
        try {
            jobEnd.launching(jobId);
            return operator.restart(last).getId();
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
        if (last.getStatus() == BatchStatus.STOPPING) {
            return;
        }
        try {
            operator.stop(last);
        } catch (Exception e) {
            throw new JobRunnerException("job " + jobId + " could not be stopped: " + e.getMessage(), true);
        }
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
        if (jobEnd.active(jobId) && ("STOPPED".equals(status) || "FAILED".equals(status))) {
            status = "STOPPING"; // marked so by a stop, but its workers are still finishing their chunks
        }
        return new RunState(status, s.phase(), s.startedAt(), s.endedAt(), s.filesTotal(), s.filesDone(),
                s.bytesTotal(), s.bytesDone(), s.waitNanos(), s.busyNanos(), pipeline.engine().name(), s.partitions(),
                s.executions(), s.error(), s.errorDetail());
    }

    @Override
    public void onExecutionEnded(Consumer<String> listener) {
        jobEnd.add(listener);
    }

    /**
     * The latest execution once it has really ended: a stopped or failed execution gets its end time a
     * moment after its status, and Spring Batch refuses to restart it until then.
     */
    private JobExecution settled(String jobId) throws JobRunnerException {
        JobExecution last = latest(jobId);
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(30);
        while (!last.isRunning() && (jobEnd.active(jobId) || (last.getEndTime() == null && last.getStartTime() != null))
                && System.nanoTime() < deadline) {
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
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
        List<String> resumed = new ArrayList<>();
        for (JobExecution execution : repository.findRunningJobExecutions(Pipeline.JOB_NAME)) {
            String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
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
            }
        }
        if (!resumed.isEmpty()) {
            log.info("resumed {} interrupted job(s): {}", resumed.size(), resumed);
        }
    }
}
