package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.StagingFiles;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.batch.core.job.JobExecution;
import org.springframework.batch.core.scope.context.ChunkContext;
import org.springframework.batch.core.step.StepContribution;
import org.springframework.batch.core.step.StepExecution;
import org.springframework.batch.core.step.tasklet.Tasklet;
import org.springframework.batch.infrastructure.repeat.RepeatStatus;
import tools.jackson.databind.JsonNode;

/**
 * The finish step: the operation merges every partition's records, in piece order, into a staging
 * directory beside the output (same file system), {@code job-report.json} is written there too, and the
 * staging directory is renamed to the output path in one step. All of it by descriptor beneath
 * {@code ringbatch.output-root} ({@link Dir}: no symbolic link followed below the root), so a link
 * planted where the staging directory or the output goes redirects nothing.
 * <p>
 * It is idempotent. Run again after a crash or a stop before the rename, it starts the staging afresh;
 * the work files stay until the output is in place. Run again after the rename (a crash, or a stop from
 * another process, between the rename and the step's commit leaves the output in place), it
 * finds an output directory whose {@code job-report.json} names this job and completes without touching
 * it. A stop seen before the rename ends the step STOPPED with no output in place; a stop that comes
 * after the rename, sent to any instance of the job repository, is refused ({@link FinishLine}), so the
 * job ends COMPLETED at once.
 */
class FinishTasklet implements Tasklet {
    static final String REPORT = "job-report.json";
    private static final int DIR_MODE = 0777;

    /**
     * Test seams: called with the job id right before and right after the rename, so that a test can stop
     * or fail the step at exactly the moment the output is (not yet) in place. Null outside tests.
     */
    static volatile java.util.function.Consumer<String> beforeRename;
    static volatile java.util.function.Consumer<String> afterRename;

    private final Pipeline pipeline;
    private final Clock clock;
    private final FinishLine finishLine;

    FinishTasklet(Pipeline pipeline, Clock clock, FinishLine finishLine) {
        this.pipeline = pipeline;
        this.clock = clock;
        this.finishLine = finishLine;
    }

    @Override
    public RepeatStatus execute(StepContribution contribution, ChunkContext chunkContext) throws Exception {
        StepExecution step = chunkContext.getStepContext().getStepExecution();
        JobExecution execution = step.getJobExecution();
        String jobId = execution.getJobParameters().getString(Pipeline.JOB_ID);
        JobFiles files = pipeline.files(jobId);
        JobDefinition job = files.readDefinition();
        Plan plan = pipeline.plan(jobId); // the one the partitions used, parsed at most once per job
        Operation operation = pipeline.operation(job.operation());
        // the root itself as configured (the admin's path, links in it followed); everything below by descriptor
        java.nio.file.Files.createDirectories(pipeline.outputRoot());
        String output = JobFiles.outputRelative(pipeline.outputRoot(), job.outputPath());
        int slash = output.lastIndexOf('/');
        String parentName = slash < 0 ? "" : output.substring(0, slash);
        String leaf = output.substring(slash + 1);
        String stagingName = "." + leaf + ".ringbatch-staging";
        List<JobExecution> executions;
        try (Dir root = Dir.open(pipeline.outputRoot()); Dir work = files.open()) {
            // each partition's newest completed attempt: its files, and exactly the bytes it committed in them
            // the job's executions, read from the repository once (each read loads every step execution and
            // its context): what to merge, the report's numbers and what to delete afterwards all come from
            // them. The steps they describe have ended; only this one runs, and none of it is taken from it
            executions = pipeline.runStates().executions(jobId);
            CommittedWork committed = CommittedWork.of(work, plan, executions);
            if (!parentName.isEmpty()) {
                StagingFiles.mkdirs(root, parentName, DIR_MODE);
            }
            Dir parent = parentName.isEmpty() ? root : root.dir(parentName);
            try {
                if (finishedBefore(parent, leaf, jobId)) {
                    deleteIfPresent(parent, stagingName);
                    return RepeatStatus.FINISHED;
                }
                deleteIfPresent(parent, stagingName);
                parent.mkdir(stagingName, DIR_MODE);
                try {
                    try (Dir staging = parent.dir(stagingName)) {
                        merge(operation, job, plan, committed, work, staging);
                        RunState state = pipeline.runStates().state(executions);
                        writeReport(staging, job, plan, state, execution, pipeline.skipped(executions));
                    }
                    java.util.function.Consumer<String> before = beforeRename;
                    if (before != null) {
                        before.accept(jobId);
                    }
                    if (pipeline.stops().raised(jobId) || !finishLine.cross(jobId)) {
                        // asked to stop before the output is in place: it stays out, and the step ends
                        // STOPPED (Spring Batch turns terminate-only into STOPPED after the tasklet)
                        deleteIfPresent(parent, stagingName);
                        step.setTerminateOnly();
                        return RepeatStatus.FINISHED;
                    }
                    // past the line: a stop from now on is refused, so nothing marks the job STOPPING and
                    // the step's commit ends it COMPLETED with its output in place
                    moveIntoPlace(parent, stagingName, leaf, job.outputPath());
                    java.util.function.Consumer<String> hook = afterRename;
                    if (hook != null) {
                        hook.accept(jobId);
                    }
                } catch (IOException | RuntimeException e) {
                    // a half-merged result helps nobody and holds the space a full disk needs back; the work
                    // files stay, so a restart merges again from them
                    try {
                        deleteIfPresent(parent, stagingName);
                    } catch (IOException cleanup) {
                        e.addSuppressed(cleanup);
                    }
                    throw e;
                }
            } finally {
                if (parent != root) {
                    parent.close();
                }
            }
        }
        if (!step.isTerminateOnly()) {
            deleteUnreferenced(files, plan, executions);
        }
        return RepeatStatus.FINISHED;
    }

    /**
     * Whether {@code leaf} is an output directory this job's own finish put in place: a real directory
     * (no link) whose {@code job-report.json} names the job. An absent or empty directory is not.
     */
    static boolean finishedBefore(Dir parent, String leaf, String jobId) throws IOException {
        try {
            if (!parent.stat(leaf).isDirectory()) {
                return false;
            }
        } catch (NoSuchFileException e) {
            return false;
        }
        try (Dir out = parent.dir(leaf)) {
            JsonNode report = JobFiles.JSON.readTree(JobFiles.read(out, REPORT));
            return jobId.equals(report.path("jobId").asString(null));
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException | RuntimeException e) {
            // an unreadable or foreign report: not ours; the rename then says why the path is taken
            return false;
        }
    }

    private static void merge(Operation operation, JobDefinition job, Plan plan, CommittedWork committed, Dir work,
                              Dir staging) throws IOException {
        List<Operation.Piece> pieces = plan.operationPieces();
        StagingFiles stagingFiles = StagingFiles.of(staging, committed::openPieceOutput);
        operation.merge(job.params(), new MergeInput() {
            @Override
            public List<Operation.Piece> pieces() {
                return pieces;
            }

            @Override
            public void forEachRecord(RecordVisitor visitor) throws IOException {
                committed.forEachRecord(pieces, visitor);
            }

            @Override
            public Path pieceOutput(int pieceIndex) {
                try {
                    return Dir.procPath(work.fd()).resolve(committed.pieceOutputName(pieceIndex));
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }

            @Override
            public Path staging() {
                // for an operation that writes by path (tests' operations): beneath the held descriptor
                return Dir.procPath(staging.fd());
            }

            @Override
            public StagingFiles files() {
                return stagingFiles;
            }
        });
    }

    /**
     * Once the output is in place: the work files no committed state names (attempts given up or
     * superseded) go. Nothing can read them any more; a failure here fails nothing.
     */
    private static void deleteUnreferenced(JobFiles files, Plan plan, List<JobExecution> executions) {
        try (Dir work = files.open()) {
            CommittedWork.of(work, plan, executions).deleteUnreferenced();
        } catch (IOException | RuntimeException e) {
            org.slf4j.LoggerFactory.getLogger(FinishTasklet.class).warn("job {}: could not delete the work files of"
                    + " attempts given up: {}", files.jobId(), e.getMessage());
        }
    }

    private void writeReport(Dir staging, JobDefinition job, Plan plan, RunState state, JobExecution execution,
                             List<String> skipped) throws IOException {
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
        report.put("skipped", skipped(skipped,
                () -> plan.files().stream().map(Plan.FileEntry::path).iterator()));
        JobFiles.writeAtomically(staging, REPORT, JobFiles.JSON.writerWithDefaultPrettyPrinter()
                .writeValueAsBytes(report));
    }

    /**
     * The skipped input files as {@code {name, nameBase64, reason}}: name is the display form (invalid
     * UTF-8 as \xHH), nameBase64 the exact bytes. A worker records "path: reason" with the path as a byte
     * string and the reason as text (a message, names in it in {@link FileNames#inMessage} form); the
     * longest planned path that prefixes the entry is its path (a name may hold ": " too). An entry with
     * no planned path (never expected) is shown whole, as text, its control characters escaped.
     */
    static List<Map<String, String>> skipped(List<String> entries, Iterable<String> planned) {
        List<Map<String, String>> out = new ArrayList<>();
        if (entries.isEmpty()) {
            return out;
        }
        // one pass over the plan's paths (a view, never a list of them all), looking each up among the
        // prefixes the entries could have: linear in the files, not files times entries
        Set<String> candidates = new HashSet<>();
        for (String entry : entries) {
            for (int i = entry.indexOf(": "); i >= 0; i = entry.indexOf(": ", i + 1)) {
                candidates.add(entry.substring(0, i));
            }
        }
        Set<String> paths = new HashSet<>();
        for (String p : planned) {
            if (candidates.contains(p)) {
                paths.add(p);
            }
        }
        for (String entry : entries) {
            String name = null;
            for (int i = entry.lastIndexOf(": "); i >= 0; i = entry.lastIndexOf(": ", i - 1)) {
                if (paths.contains(entry.substring(0, i))) {
                    name = entry.substring(0, i); // the longest planned path first
                    break;
                }
            }
            String reason = name == null ? FileNames.inMessage(FileNames.ofText(entry))
                    : entry.substring(name.length() + 2);
            Map<String, String> item = new LinkedHashMap<>();
            item.put("name", name == null ? null : FileNames.display(name));
            item.put("nameBase64", name == null ? null : FileNames.base64(name));
            item.put("reason", reason);
            out.add(item);
        }
        return out;
    }

    /**
     * Renames the staging directory to the output path (which must not exist, or be an empty directory),
     * renameat within one directory held open.
     */
    static void moveIntoPlace(Dir parent, String stagingName, String leaf, Path output) throws IOException {
        try {
            parent.rename(stagingName, parent, leaf);
        } catch (java.nio.file.FileAlreadyExistsException | java.nio.file.NotDirectoryException e) {
            throw new IOException("output path " + FileNames.inMessage(output) + " is taken (not an empty directory); nothing was "
                    + "overwritten", e);
        } catch (IOException e) {
            // renameat(2) over a directory that is not empty: ENOTEMPTY (errno 39 on Linux)
            String message = String.valueOf(e.getMessage());
            if (message.contains("ENOTEMPTY") || message.contains("errno 39)")) {
                throw new IOException("output path " + FileNames.inMessage(output) + " is not empty; nothing was overwritten",
                        e);
            }
            throw e;
        }
    }

    private static void deleteIfPresent(Dir parent, String name) throws IOException {
        try {
            parent.deleteTree(name);
        } catch (NoSuchFileException absent) {
            // nothing left from an earlier run
        }
    }
}
