package io.ringbatch.batch;

import io.ringbatch.config.RingbatchProperties;
import java.time.Clock;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.batch.core.job.Job;
import org.springframework.batch.core.job.builder.JobBuilder;
import org.springframework.batch.core.listener.JobExecutionListener;
import org.springframework.batch.core.partition.Partitioner;
import org.springframework.batch.core.configuration.annotation.StepScope;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.batch.core.step.Step;
import org.springframework.batch.core.step.builder.StepBuilder;
import org.springframework.batch.infrastructure.item.ExecutionContext;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.boot.batch.autoconfigure.BatchTaskExecutor;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.annotation.DependsOn;
import org.springframework.core.task.TaskExecutor;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The {@code bulkFile} job: plan -> process (partitioned; one chunk-oriented worker step per partition
 * on the shared worker executor) -> finish. One executor of {@code ringbatch.workers} threads runs the
 * partitions of every job, so concurrent jobs share the cores instead of over-subscribing them; job
 * launches run on a separate small executor whose threads only wait.
 */
@Configuration(proxyBeanMethods = false)
public class BulkFileJobConfiguration {

    /**
     * The threads that do the per-byte work of every job. At shutdown they finish what they run, within
     * {@code spring.lifecycle.timeout-per-shutdown-phase}, before the I/O engine closes (they read through
     * it, hence the dependency: beans that depend on the engine are destroyed before it).
     */
    @Bean(destroyMethod = "shutdown")
    @DependsOn("ioEngine")
    ThreadPoolTaskExecutor ringbatchWorkers(RingbatchProperties properties, LifecycleProperties lifecycle) {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        executor.setCorePoolSize(properties.workers());
        executor.setMaxPoolSize(properties.workers());
        executor.setThreadNamePrefix("ringbatch-worker-");
        waitAtShutdown(executor, lifecycle);
        executor.initialize();
        return executor;
    }

    /** Where {@code JobOperator.start} runs jobs, so that it returns at once; these threads only wait. */
    @Bean
    @BatchTaskExecutor
    ThreadPoolTaskExecutor ringbatchJobLauncher(RingbatchProperties properties, LifecycleProperties lifecycle) {
        ThreadPoolTaskExecutor executor = new ThreadPoolTaskExecutor();
        executor.setCorePoolSize(Math.max(2, properties.maxConcurrentJobs() + 1));
        executor.setMaxPoolSize(Math.max(2, properties.maxConcurrentJobs() + 1));
        executor.setThreadNamePrefix("ringbatch-job-");
        waitAtShutdown(executor, lifecycle);
        executor.initialize();
        return executor;
    }

    /**
     * Keeps taking and running tasks until the context destroys the executor, then waits up to the
     * shutdown timeout for them. Without this, Spring shuts the executor down as the context starts to
     * close, before {@link BatchJobRunner} has stopped the jobs: a job between its plan and its partitions
     * would have them refused and fail instead of stopping at a commit. By the time the executors are
     * destroyed the runner has waited for its jobs, so this wait is only for jobs that overran it.
     */
    private static void waitAtShutdown(ThreadPoolTaskExecutor executor, LifecycleProperties lifecycle) {
        executor.setWaitForTasksToCompleteOnShutdown(true);
        executor.setAwaitTerminationMillis(lifecycle.getTimeoutPerShutdownPhase().toMillis());
    }

    @Bean
    Job bulkFileJob(JobRepository repository, Step plan, Step process, Step finish, JobEnd jobEnd) {
        return new JobBuilder(Pipeline.JOB_NAME, repository)
                .listener(jobEnd)
                .start(plan)
                .next(process)
                .next(finish)
                .build();
    }

    @Bean
    Step plan(JobRepository repository, PlatformTransactionManager tm, Pipeline pipeline) {
        return new StepBuilder("plan", repository).tasklet(new PlanTasklet(pipeline), tm).build();
    }

    @Bean
    Step process(JobRepository repository, @Qualifier("work") Step work, Partitioner workPartitioner,
                 @Qualifier("ringbatchWorkers") TaskExecutor workers, RingbatchProperties properties,
                 Pipeline pipeline,
                 @Qualifier("distributedPartitionHandler")
                 org.springframework.beans.factory.ObjectProvider<org.springframework.batch.core.partition.PartitionHandler> cluster) {
        // with the cluster transport (PostgreSQL) the partitions go through the queue to every instance;
        // otherwise (H2, one instance) they run on the local executor, largest first
        org.springframework.batch.core.partition.PartitionHandler handler = cluster.getIfAvailable();
        if (handler == null) {
            LargestFirstPartitionHandler local = new LargestFirstPartitionHandler(pipeline);
            local.setStep(work);
            local.setTaskExecutor(workers);
            local.setGridSize(properties.workers());
            handler = local;
        }
        return new StepBuilder("process", repository)
                .partitioner("work", workPartitioner)
                .partitionHandler(handler)
                .build();
    }

    /** One attempt of one partition; {@code running} counts the attempts in this process (workers list, metrics). */
    @Bean
    Step work(JobRepository repository, PlatformTransactionManager tm, PartitionWork partitionWork, Pipeline pipeline,
              io.ringbatch.instance.RunningPartitions running) {
        return new StepBuilder("work", repository)
                // one item per commit: the reader batches blocks up to commit-interval, commit-bytes or
                // commit-time, which a chunk size (a count) cannot say
                .<ItemResult, ItemResult>chunk(1)
                .transactionManager(tm)
                .reader(partitionWork)
                .writer(partitionWork::write)
                .listener(running)
                .build();
    }

    @Bean
    Step finish(JobRepository repository, PlatformTransactionManager tm, Pipeline pipeline, Clock clock,
                FinishLine finishLine) {
        return new StepBuilder("finish", repository).tasklet(new FinishTasklet(pipeline, clock, finishLine), tm)
                .build();
    }

    /** One ExecutionContext per partition of the plan; partitions already completed are not run again. */
    @Bean
    @StepScope
    Partitioner workPartitioner(@Value("#{jobParameters['jobId']}") String jobId, Pipeline pipeline) {
        return gridSize -> {
            Plan plan;
            try {
                plan = pipeline.plan(jobId);
            } catch (java.io.IOException e) {
                throw new IllegalStateException("cannot read the plan of job " + jobId + ": " + e.getMessage(), e);
            }
            Map<String, ExecutionContext> out = new HashMap<>();
            for (int i = 0; i < plan.partitions().size(); i++) {
                ExecutionContext ctx = new ExecutionContext();
                ctx.putInt("partition", i);
                out.put(String.format("partition%06d", i), ctx);
            }
            return out;
        };
    }

    @Bean
    @StepScope
    PartitionWork partitionWork(@Value("#{jobParameters['jobId']}") String jobId,
                                @Value("#{stepExecutionContext['partition']}") Integer partition,
                                @Value("#{stepExecution.id}") Long attempt, Pipeline pipeline,
                                RingbatchProperties properties)
            throws java.io.IOException {
        JobFiles files = pipeline.files(jobId);
        JobDefinition definition = files.readDefinition(); // job.json, read and parsed once per attempt
        return new PartitionWork(files, pipeline.plan(jobId), definition,
                pipeline.operation(definition.operation()), pipeline.engine(), partition, attempt,
                pipeline.inputRoots(), pipeline.instanceId(), pipeline.stops())
                .commitEvery(pipeline.commitInterval(), pipeline.commitBytes(), pipeline.commitTime())
                .openAhead(properties.io().openAhead());
    }

    @Bean
    JobEnd jobEnd(Pipeline pipeline) {
        return new JobEnd(pipeline);
    }

    /** Tells the runner's listeners that an execution ended, and drops the cached plan. */
    static final class JobEnd implements JobExecutionListener {
        private final Pipeline pipeline;
        private final java.util.List<java.util.function.Consumer<String>> listeners =
                new java.util.concurrent.CopyOnWriteArrayList<>();
        /**
         * Jobs whose execution thread runs in this process now, each with what completes when it ends.
         * Spring Batch's stop marks the execution STOPPED (with an end time) at once, while its workers
         * still finish their chunks; only the end of the job's thread says that it has really ended.
         */
        private final Map<String, CompletableFuture<Void>> active = new ConcurrentHashMap<>();

        void launching(String jobId) {
            active.putIfAbsent(jobId, new CompletableFuture<>());
        }

        void launchFailed(String jobId) {
            ended(jobId);
        }

        boolean active(String jobId) {
            return active.containsKey(jobId);
        }

        /**
         * Completes when the job's execution thread here has ended (at once if none runs). Spring Batch
         * calls {@link #afterJob} after it has stored the execution's status and end time, so by then the
         * repository shows the end too.
         */
        CompletableFuture<Void> end(String jobId) {
            CompletableFuture<Void> end = active.get(jobId);
            return end == null ? CompletableFuture.completedFuture(null) : end;
        }

        private void ended(String jobId) {
            CompletableFuture<Void> end = active.remove(jobId);
            if (end != null) {
                end.complete(null);
            }
        }

        JobEnd(Pipeline pipeline) {
            this.pipeline = pipeline;
        }

        void add(java.util.function.Consumer<String> listener) {
            listeners.add(listener);
        }

        @Override
        public void afterJob(org.springframework.batch.core.job.JobExecution execution) {
            String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
            pipeline.forget(jobId);
            ended(jobId);
            for (var l : listeners) {
                try {
                    l.accept(jobId);
                } catch (RuntimeException ignored) {
                    // one listener's failure must not keep the others from hearing about the end
                }
            }
        }
    }
}
