package io.ringbatch.batch;

import io.ringbatch.operation.Operation;
import java.nio.file.Files;
import org.springframework.batch.core.step.StepContribution;
import org.springframework.batch.core.scope.context.ChunkContext;
import org.springframework.batch.core.step.tasklet.Tasklet;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;

/** The plan step: walks the input and writes {@code plan.json}; its totals go in the step's context. */
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
        if (!Files.isDirectory(job.inputRoot())) {
            throw new java.io.IOException("input root " + job.inputRoot() + " is not a directory any more");
        }
        Plan plan = pipeline.planner().plan(job.inputRoot(), job.include(), job.exclude(), operation.split());
        files.writePlan(plan);
        var ctx = chunkContext.getStepContext().getStepExecution().getExecutionContext();
        ctx.putLong(FILES_TOTAL, plan.files().size());
        ctx.putLong(BYTES_TOTAL, plan.totalBytes());
        ctx.putInt(PIECES, plan.pieces().size());
        ctx.putInt(PARTITIONS, plan.partitions().size());
        return RepeatStatus.FINISHED;
    }
}
