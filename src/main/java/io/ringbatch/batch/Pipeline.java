package io.ringbatch.batch;

import io.ringbatch.config.PipelineProperties;
import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.io.IoEngine;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.stereotype.Component;

/** What every step of the {@code bulkFile} job needs: the operations, the engine, the work files. */
@Component
public class Pipeline {
    public static final String JOB_NAME = "bulkFile";
    public static final String JOB_ID = "jobId";

    private final RingbatchProperties properties;
    private final PipelineProperties pipeline;
    private final IoEngine engine;
    private final Map<String, Operation> operations = new LinkedHashMap<>();
    private final RunStates runStates;
    private final Map<String, Plan> plans = new ConcurrentHashMap<>();
    private final StopRegistry stops;
    private volatile java.util.function.IntSupplier clusterThreads = () -> 0;

    public Pipeline(RingbatchProperties properties, PipelineProperties pipeline, IoEngine engine,
                    List<Operation> operations, RunStates runStates, StopRegistry stops) {
        this.stops = stops;
        this.properties = properties;
        this.pipeline = pipeline;
        this.engine = engine;
        for (Operation op : operations) {
            this.operations.put(op.name(), op);
        }
        this.runStates = runStates;
    }

    public Path dataDir() {
        return Path.of(properties.dataDir().toString());
    }

    /** ringbatch.output-root, absolute as configured (links in it are the admin's to make). */
    public Path outputRoot() {
        return properties.outputRoot().toAbsolutePath();
    }

    /** {@code ringbatch.work-dir}: the root of every job's work directory (default {@code <data-dir>/jobs}). */
    public Path workDir() {
        return properties.workDir();
    }

    public JobFiles files(String jobId) {
        return new JobFiles(workDir(), jobId);
    }

    /** Whether a job was asked to stop, on this instance or another. */
    public StopRegistry stops() {
        return stops;
    }

    public Operation operation(String name) {
        Operation op = operations.get(name);
        if (op == null) {
            throw new IllegalStateException("no operation named '" + name + "'");
        }
        return op;
    }

    public Collection<Operation> operations() {
        return operations.values();
    }

    public IoEngine engine() {
        return engine;
    }

    public int workers() {
        return properties.workers();
    }

    public int commitInterval() {
        return pipeline.commitInterval();
    }

    /** {@code ringbatch.pipeline.commit-bytes}: input bytes per commit at most. */
    public long commitBytes() {
        return pipeline.commitBytes().toBytes();
    }

    /** {@code ringbatch.pipeline.commit-time}: time between commits at most. */
    public java.time.Duration commitTime() {
        return pipeline.commitTime();
    }

    /** The configured input roots, which a job's root must still lie under each time it is opened. */
    public InputRoots inputRoots() {
        return new InputRoots(properties.inputRoots());
    }

    /** This instance's {@code ringbatch.instance-id}: a plan compares devices only where it was made. */
    public String instanceId() {
        return properties.instanceId();
    }

    /**
     * A planner for this instance's threads, or in cluster mode for the threads of every live instance
     * (those of {@link #clusterThreads}), whichever is more: a job's partitions are cut so that every thread
     * that may take one has several, not only the threads of the instance that plans.
     */
    public Planner planner() {
        int threads = properties.workers();
        try {
            threads = Math.max(threads, clusterThreads.getAsInt());
        } catch (RuntimeException e) {
            // the database cannot say: the instance's own threads
        }
        return new Planner(pipeline.splitSize().toBytes(), threads);
    }

    /** In cluster mode: the threads of the live instances, which plans are cut for (see {@link #planner}). */
    public void clusterThreads(java.util.function.IntSupplier threads) {
        this.clusterThreads = threads;
    }

    RunStates runStates() {
        return runStates;
    }

    /** The job's plan, read once per job and kept while it runs. */
    Plan plan(String jobId) throws IOException {
        Plan plan = plans.get(jobId);
        if (plan == null) {
            plan = PlanFile.read(files(jobId)); // as a stream, into the plan's compact arrays
            plans.put(jobId, plan);
        }
        return plan;
    }

    /** The plan the plan step has just written for the job: what {@link #plan} gives from now on. */
    void remember(String jobId, Plan plan) {
        plans.put(jobId, plan);
    }

    void forget(String jobId) {
        plans.remove(jobId);
    }

    /**
     * The files the workers of every execution of this job skipped (with options.skipUnreadable), from the
     * job's executions as {@link RunStates#executions} loaded them.
     */
    List<String> skipped(List<JobExecution> executions) {
        List<String> out = new ArrayList<>();
        for (StepExecution s : runStates.latestWorkerSteps(executions)) {
            @SuppressWarnings("unchecked")
            List<String> list = (List<String>) s.getExecutionContext().get(PartitionWork.SKIPPED);
            if (list != null) {
                out.addAll(list);
            }
        }
        return out;
    }
}
