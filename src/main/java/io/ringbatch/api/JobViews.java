package io.ringbatch.api;

import io.ringbatch.operation.ParameterSpec;
import io.swagger.v3.oas.annotations.media.ArraySchema;
import io.swagger.v3.oas.annotations.media.Schema;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** What the API answers with: the records below, as JSON. Times are ISO-8601 instants, durations seconds. */
public final class JobViews {
    private JobViews() {
    }

    static final String ACTIONS = "what the caller may do to the job now, of stop, restart and abandon (the POSTs "
            + "of those names); empty for a caller without role OPERATOR";

    @Schema(name = "Job", description = "A job: its status, progress, history, output and the submitted spec")
    public record JobView(
            String id,
            String name,
            String operation,
            JobStatus status,
            @Schema(description = "planning, processing, merging or done; null before it starts") String phase,
            @Schema(description = "for a QUEUED job: how many queued jobs start before it") Integer queuePosition,
            Instant createdAt,
            Instant updatedAt,
            @Schema(description = "when its first execution started") Instant startedAt,
            @Schema(description = "when its latest execution ended") Instant endedAt,
            Progress progress,
            Timings timings,
            @Schema(description = "the I/O engine its readers used: io_uring or blocking") String engine,
            @Schema(description = "the instance that runs it (ringbatch.instance-id); null before it first runs")
            String instance,
            List<PartitionView> partitions,
            List<ExecutionView> executions,
            OutputView output,
            ErrorView error,
            @Schema(description = "the request as submitted", implementation = JobRequest.class) Map<String, Object> spec,
            @Schema(description = "what the job runs: paths resolved, parameters normalised") Definition definition,
            @ArraySchema(arraySchema = @Schema(description = ACTIONS),
                    schema = @Schema(allowableValues = {JobStatus.STOP, JobStatus.RESTART, JobStatus.ABANDON}))
            List<String> actions,
            Links links) {
    }

    @Schema(name = "JobProgress")
    public record Progress(
            long filesDone,
            long filesTotal,
            long bytesDone,
            long bytesTotal,
            @Schema(description = "bytes done of bytes total, 0-100") double percent,
            @Schema(description = "bytes processed per second of run time; null before any") Double bytesPerSecond,
            @Schema(description = "seconds left at the current throughput, while it runs; null when unknown")
            Double etaSeconds) {
    }

    @Schema(name = "JobTimings")
    public record Timings(
            @Schema(description = "from submission to the first start (so far, while queued)") Double queuedSeconds,
            @Schema(description = "the run time of all its executions together") double runSeconds,
            @Schema(description = "time the workers waited for blocks from the I/O engine, summed over workers")
            double waitSeconds,
            @Schema(description = "time the workers spent in the operation, summed over workers") double busySeconds,
            @Schema(description = "wait / (wait + busy); null before any work") Double waitShare) {
    }

    @Schema(name = "JobPartition")
    public record PartitionView(int index, String status, int files, long bytesTotal, long bytesDone, double percent,
                                double waitSeconds, double busySeconds,
                                @Schema(description = "ringbatch.instance-id of the instance that runs or ran its newest "
                                        + "attempt, or null before one started") String worker,
                                @Schema(description = "attempts (step executions) of this partition in the job "
                                        + "execution that ran it last: 1, one more for each time its instance was "
                                        + "lost") int attempts) {
    }

    @Schema(name = "JobExecution", description = "one Spring Batch execution: the first run or a restart")
    public record ExecutionView(long id, String status, Instant startedAt, Instant endedAt, String exitCode,
                                String exitDescription) {
    }

    @Schema(name = "JobOutput")
    public record OutputView(
            String path,
            @Schema(description = "whether the output directory exists (results appear when the job completes)")
            boolean exists,
            @Schema(description = "the files, at most 100 here (all of them: GET /api/jobs/{id}/output)")
            List<FileView> files,
            @Schema(description = "true when there are more files than listed") boolean truncated) {
    }

    @Schema(name = "OutputListing")
    public record OutputListing(String jobId, String path, boolean exists, int fileCount, long bytes,
                                List<FileView> files) {
    }

    static final String NAME = "the name for people: its bytes as UTF-8, each byte that is not valid UTF-8 as \\xHH "
            + "(so two names may look alike here); nameBase64 has the exact bytes";
    static final String NAME_BASE64 = "the exact bytes of the name, base64url without padding (RFC 4648 section 5): "
            + "what GET /api/jobs/{id}/output-file?path= takes";

    @Schema(name = "OutputFile")
    public record FileView(
            @Schema(description = "path relative to the output directory, /-separated; " + NAME) String name,
            @Schema(description = NAME_BASE64) String nameBase64,
            long size) {
        /** From the path's byte string. */
        static FileView of(String bytes, long size) {
            return new FileView(io.ringbatch.io.FileNames.display(bytes), io.ringbatch.io.FileNames.base64(bytes),
                    size);
        }
    }

    @Schema(name = "JobError")
    public record ErrorView(String message, String detail) {
    }

    @Schema(name = "JobDefinition")
    public record Definition(String operation, Map<String, String> params, String inputRoot, List<String> include,
                             List<String> exclude, String outputPath, boolean skipUnreadable) {
    }

    @Schema(name = "JobLinks")
    public record Links(String self, String output, String events) {
        static Links of(String id) {
            String self = "/api/jobs/" + id;
            return new Links(self, self + "/output", self + "/events");
        }
    }

    @Schema(name = "JobSummary")
    public record JobSummary(
            String id,
            String name,
            String operation,
            JobStatus status,
            Instant createdAt,
            Instant updatedAt,
            @Schema(description = "progress 0-100 for running and completed jobs; null otherwise") Double percent,
            String error,
            @ArraySchema(arraySchema = @Schema(description = ACTIONS),
                    schema = @Schema(allowableValues = {JobStatus.STOP, JobStatus.RESTART, JobStatus.ABANDON}))
            List<String> actions,
            Links links) {
    }

    @Schema(name = "JobPage")
    public record JobPage(List<JobSummary> items,
                          @Schema(description = "0-based") int page,
                          int size,
                          long totalItems,
                          int totalPages) {
    }

    @Schema(name = "Operation")
    public record OperationView(String name, String description,
                                @Schema(description = "WHOLE, LINES or BYTES: how a large file may be cut") String split,
                                List<ParameterSpec> parameters) {
    }

    @Schema(name = "BulkRestartRequest", description = "either ids or status")
    public record BulkRestartRequest(
            @Schema(description = "the jobs to restart, at most 500") List<String> ids,
            @Schema(description = "restart every job of this status: FAILED or STOPPED (oldest first, at most 500)")
            String status) {
    }

    @Schema(name = "BulkRestartItem")
    public record BulkItem(String id, boolean restarted,
                           @Schema(description = "the status the single restart would have answered") int httpStatus,
                           @Schema(description = "the job's new status, or why it was not restarted") String detail) {
    }

    @Schema(name = "BulkRestartResult")
    public record BulkResult(int requested, int restarted, int refused, List<BulkItem> results) {
    }
}
