package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.operation.Operation;
import java.util.List;
import org.springframework.batch.core.step.StepContribution;
import org.springframework.batch.core.scope.context.ChunkContext;
import org.springframework.batch.core.step.tasklet.Tasklet;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;

/**
 * The plan step: opens the input root by descriptor ({@link InputRoots}), walks it and writes
 * {@code plan.json} ({@link PlanFile}); its totals go in the step's context. Input
 * files with more than one hard link fail the job here, naming the first, unless hard links are allowed
 * or the job skips unreadable files (see {@link Planner}).
 */
class PlanTasklet implements Tasklet {
    static final String FILES_TOTAL = "rb.filesTotal";
    static final String BYTES_TOTAL = "rb.bytesTotal";
    static final String PIECES = "rb.pieces";
    static final String PARTITIONS = "rb.partitions";

    private final Pipeline pipeline;

    PlanTasklet(Pipeline pipeline) {
        this.pipeline = pipeline;
    }

    @Override
    public RepeatStatus execute(StepContribution contribution, ChunkContext chunkContext) throws Exception {
        String jobId = chunkContext.getStepContext().getStepExecution().getJobExecution().getJobParameters()
                .getString(Pipeline.JOB_ID);
        JobFiles files = pipeline.files(jobId);
        JobDefinition job = files.readDefinition();
        Operation operation = pipeline.operation(job.operation());
        var step = chunkContext.getStepContext().getStepExecution();
        var stopSignal = pipeline.stops().flag(jobId);
        Planner planner = pipeline.planner().allowHardLinks(Planner.hardLinksAllowed(files))
                .stopWhen(() -> stopSignal.get() || step.isTerminateOnly());
        Plan plan;
        // opened by descriptor and checked to lie under the input roots again: the job may have waited
        // (queued, stopped) since its submission checked the path
        try (Dir root = pipeline.inputRoots().open(job.inputRoot())) {
            plan = planner.plan(root, pipeline.instanceId(), job.include(), job.exclude(), operation.split(),
                    operation.slowPerByte());
        } catch (Planner.Stopped e) {
            throw new org.springframework.batch.core.job.JobInterruptedException(e.getMessage()); // STOPPED
        }
        List<String> refused = planner.refused();
        if (!refused.isEmpty() && !job.skipUnreadable()) {
            // refused like an unreadable file, before any work: with skipUnreadable the partitions skip them
            // and the report lists them
            throw new java.io.IOException(refused.get(0) + (refused.size() == 1 ? ""
                    : " (and " + (refused.size() - 1) + " more input file(s) with several hard links)"));
        }
        PlanFile.write(files, plan); // as a stream: a plan of a million files is not one array of bytes
        // the partitions and the finish step of this job on this instance take it as it is, not parsed back
        pipeline.remember(jobId, plan);
        var ctx = chunkContext.getStepContext().getStepExecution().getExecutionContext();
        ctx.putLong(FILES_TOTAL, plan.files().size());
        ctx.putLong(BYTES_TOTAL, plan.totalBytes());
        ctx.putInt(PIECES, plan.pieces().size());
        ctx.putInt(PARTITIONS, plan.partitions().size());
        return RepeatStatus.FINISHED;
    }
}
