package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.ServiceTest;
import java.time.LocalDateTime;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.springframework.batch.core.BatchStatus;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.job.JobInstance;
import org.springframework.batch.core.job.parameters.JobParameters;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.beans.factory.annotation.Autowired;

/**
 * A partition whose instance was lost has two step executions of one name in one job execution (the lost
 * attempt and the one that resumed from its last commit): the job's view counts the newest attempt's
 * numbers only, names its worker, and counts both attempts. Made directly in the real job repository (the
 * shared H2 of the service tests), as the cluster's re-dispatch leaves it.
 */
@ServiceTest
class RunStatesAttemptsTest {
    @Autowired
    JobRepository repository;
    @Autowired
    RunStates runStates;

    private StepExecution step(JobExecution execution, String name, BatchStatus status, ExecutionContext context) {
        StepExecution step = repository.createStepExecution(name, execution);
        step.setExecutionContext(context);
        step.setStatus(status);
        step.setStartTime(LocalDateTime.now());
        repository.update(step);
        repository.updateExecutionContext(step);
        return step;
    }

    private static ExecutionContext partition(int index, long total, long done, long filesDone, String worker) {
        ExecutionContext ctx = new ExecutionContext();
        ctx.putInt("partition", index);
        ctx.putLong("rb.bytesTotal", total);
        ctx.putLong("rb.bytesDone", done);
        ctx.putLong("rb.filesDone", filesDone);
        ctx.putInt("rb.files", 1);
        if (worker != null) {
            ctx.putString("rb.worker", worker);
        }
        return ctx;
    }

    @Test
    void aLostAttemptsNumbersDoNotCountTwiceAndThePartitionShowsItsAttemptsAndNewestWorker() {
        String jobId = "attempts-" + UUID.randomUUID();
        JobParameters parameters = RunStates.parameters(jobId);
        JobInstance instance = repository.createJobInstance(Pipeline.JOB_NAME, parameters);
        JobExecution execution = repository.createJobExecution(instance, parameters, new ExecutionContext());
        execution.setStatus(BatchStatus.STARTED);
        execution.setStartTime(LocalDateTime.now());
        repository.update(execution);
        try {
            ExecutionContext plan = new ExecutionContext();
            plan.putLong("rb.filesTotal", 2);
            plan.putLong("rb.bytesTotal", 1500);
            step(execution, "plan", BatchStatus.COMPLETED, plan);
            step(execution, "work:partition000000", BatchStatus.FAILED, partition(0, 1000, 400, 0, "worker-a"));
            step(execution, "work:partition000000", BatchStatus.STARTED, partition(0, 1000, 600, 0, "worker-b"));
            step(execution, "work:partition000001", BatchStatus.STARTING, partition(1, 500, 0, 0, null));

            RunState state = runStates.state(jobId);
            assertThat(state.partitions()).hasSize(2);
            RunState.Partition first = state.partitions().get(0);
            assertThat(first.index()).isZero();
            assertThat(first.status()).isEqualTo("STARTED");
            assertThat(first.bytesDone()).as("the newest attempt's, not 400 + 600").isEqualTo(600);
            assertThat(first.worker()).isEqualTo("worker-b");
            assertThat(first.attempts()).isEqualTo(2);
            RunState.Partition second = state.partitions().get(1);
            assertThat(second.worker()).as("no attempt has run it yet").isNull();
            assertThat(second.attempts()).isEqualTo(1);
            assertThat(state.bytesDone()).isEqualTo(600);
        } finally {
            execution.setStatus(BatchStatus.ABANDONED);
            execution.setEndTime(LocalDateTime.now());
            repository.update(execution);
        }
    }
}
