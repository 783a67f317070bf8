package io.ringbatch.batch;

import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.scope.context.ChunkContext;
import org.springframework.batch.core.step.StepContribution;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.tasklet.Tasklet;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;

/**
 * The finish step: the operation merges every partition's records, in piece order, into a staging
 * directory beside the output (same file system), {@code job-report.json} is written there too, and the
 * staging directory is renamed to the output path in one step. Run again after a crash, it starts the
 * staging afresh; the work files stay until the output is in place.
 */
class FinishTasklet implements Tasklet {
    private final Pipeline pipeline;
    private final Clock clock;

    FinishTasklet(Pipeline pipeline, Clock clock) {
        this.pipeline = pipeline;
        this.clock = clock;
    }

    @Override
    public RepeatStatus execute(StepContribution contribution, ChunkContext chunkContext) throws Exception {
        StepExecution step = chunkContext.getStepContext().getStepExecution();
        JobExecution execution = step.getJobExecution();
        String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
        JobFiles files = pipeline.files(jobId);
        JobDefinition job = files.readDefinition();
        Plan plan = files.readPlan();
        Operation operation = pipeline.operation(job.operation());
        Path output = job.outputPath();
        Path staging = output.resolveSibling("." + output.getFileName() + ".ringbatch-staging");
        deleteTree(staging);
        Files.createDirectories(staging);
        List<Operation.Piece> pieces = plan.operationPieces();
        try {
            merge(operation, job, plan, files, pieces, staging);
            RunState state = pipeline.runStates().state(jobId);
            writeReport(staging.resolve("job-report.json"), job, plan, state, execution);
            moveIntoPlace(staging, output);
        } catch (IOException | RuntimeException e) {
            // a half-merged result helps nobody and holds the space a full disk needs back; the work files
            // stay, so a restart merges again from them
            try {
                deleteTree(staging);
            } catch (IOException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw e;
        }
        return RepeatStatus.FINISHED;
    }

    private static void merge(Operation operation, JobDefinition job, Plan plan, JobFiles files,
                              List<Operation.Piece> pieces, Path staging) throws IOException {
        operation.merge(job.params(), new MergeInput() {
            @Override
            public List<Operation.Piece> pieces() {
                return pieces;
            }

            @Override
            public void forEachRecord(RecordVisitor visitor) throws IOException {
                for (int p = 0; p < plan.partitions().size(); p++) {
                    Path rec = files.records(p);
                    if (!Files.exists(rec)) {
                        continue;
                    }
                    try (FileChannel ch = FileChannel.open(rec, StandardOpenOption.READ)) {
                        readFrames(ch, pieces, visitor);
                    }
                }
            }

            @Override
            public Path pieceOutput(int pieceIndex) {
                return files.pieceOutput(pieceIndex);
            }

            @Override
            public Path staging() {
                return staging;
            }
        });
    }

    private static void readFrames(FileChannel ch, List<Operation.Piece> pieces, MergeInput.RecordVisitor visitor)
            throws IOException {
        ByteBuffer header = ByteBuffer.allocate(8);
        long size = ch.size();
        long pos = 0;
        while (pos < size) {
            header.clear();
            while (header.hasRemaining()) {
                if (ch.read(header, pos + header.position()) < 0) {
                    throw new IOException("record file ends inside a record header");
                }
            }
            header.flip();
            int piece = header.getInt();
            int len = header.getInt();
            ByteBuffer body = ByteBuffer.allocate(len);
            while (body.hasRemaining()) {
                if (ch.read(body, pos + 8 + body.position()) < 0) {
                    throw new IOException("record file ends inside a record");
                }
            }
            body.flip();
            visitor.record(pieces.get(piece), body);
            pos += 8 + len;
        }
    }

    private void writeReport(Path target, JobDefinition job, Plan plan, RunState state, JobExecution execution)
            throws IOException {
        Map<String, Object> report = new LinkedHashMap<>();
        report.put("jobId", job.jobId());
        report.put("operation", job.operation());
        report.put("params", job.params());
        report.put("inputRoot", job.inputRoot().toString());
        report.put("files", plan.files().size());
        report.put("bytes", plan.totalBytes());
        report.put("pieces", plan.pieces().size());
        report.put("partitions", plan.partitions().size());
        report.put("engine", pipeline.engine().name());
        report.put("workers", pipeline.workers());
        // Spring Batch keeps its times as LocalDateTime in the JVM's zone
        Instant started = state.startedAt() != null ? state.startedAt() : execution.getStartTime() == null ? null
                : execution.getStartTime().atZone(ZoneId.systemDefault()).toInstant();
        report.put("startedAt", state.startedAt() == null ? null : state.startedAt().toString());
        report.put("executions", state.executions().size());
        double seconds = started == null ? 0 : Duration.between(started, clock.instant()).toMillis() / 1000.0;
        report.put("seconds", seconds);
        report.put("workerWaitSeconds", state.waitNanos() / 1e9);
        report.put("workerBusySeconds", state.busyNanos() / 1e9);
        List<String> skipped = new ArrayList<>(pipeline.skipped(execution));
        report.put("skipped", skipped);
        JobFiles.writeAtomically(target, JobFiles.JSON.writerWithDefaultPrettyPrinter().writeValueAsBytes(report));
    }

    /** Renames the staging directory to the output path (which must not exist, or be empty). */
    static void moveIntoPlace(Path staging, Path output) throws IOException {
        Files.createDirectories(output.getParent());
        try {
            Files.move(staging, output, StandardCopyOption.ATOMIC_MOVE);
        } catch (DirectoryNotEmptyException e) {
            throw new IOException("output path " + output + " is not empty; nothing was overwritten", e);
        } catch (AtomicMoveNotSupportedException e) {
            throw new IOException("cannot move the results into " + output + " in one step: " + e.getMessage(), e);
        }
    }

    static void deleteTree(Path dir) throws IOException {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        Files.walkFileTree(dir, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.delete(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                Files.delete(d);
                return FileVisitResult.CONTINUE;
            }
        });
    }
}
