package io.ringbatch.api;

import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.springframework.core.io.FileSystemResource;
import org.springframework.core.io.Resource;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.MediaTypeFactory;
import org.springframework.http.ResponseEntity;
import org.springframework.security.core.Authentication;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/** {@code /api/jobs}: submit, list, look at, steer, download and follow jobs. */
@RestController
@RequestMapping("/api/jobs")
@Tag(name = "jobs")
public class JobController {
    private final JobSubmissions submissions;
    private final JobQueries queries;
    private final JobCommands commands;
    private final JobOutputs outputs;
    private final JobEvents events;

    public JobController(JobSubmissions submissions, JobQueries queries, JobCommands commands, JobOutputs outputs,
                         JobEvents events) {
        this.submissions = submissions;
        this.queries = queries;
        this.commands = commands;
        this.outputs = outputs;
        this.events = events;
    }

    @PostMapping(consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(operationId = "submitJob",
            summary = "Submit a job", description = "Validates the spec, confines its paths to the configured roots "
            + "and queues the job; it starts at once when fewer than ringbatch.max-concurrent-jobs run. "
            + "With an Idempotency-Key already used for the same body, answers 200 with that job instead.")
    @ApiResponse(responseCode = "202", description = "accepted: queued or starting",
            headers = @Header(name = "Location", description = "/api/jobs/{id}"),
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    @ApiResponse(responseCode = "200", description = "an Idempotency-Key replay: the job this key made",
            headers = @Header(name = "Location", description = "/api/jobs/{id}"),
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    @ApiResponse(responseCode = "400", description = "a bad spec; errors lists every field found wrong")
    @ApiResponse(responseCode = "422", description = "the Idempotency-Key was used for a different request")
    @ApiResponse(responseCode = "429", description = "the queue is full; see Retry-After",
            headers = @Header(name = "Retry-After", description = "seconds until a slot may be free"))
    public ResponseEntity<JobViews.JobView> submit(
            @io.swagger.v3.oas.annotations.parameters.RequestBody(required = true, content = @Content(
                    mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = JobRequest.class)))
            @RequestBody byte[] body,
            @Parameter(description = "makes retries safe: the same key and body return the same job")
            @RequestHeader(name = "Idempotency-Key", required = false) String idempotencyKey,
            HttpServletRequest request) {
        JobSubmissions.Submission submission = submissions.submit(JobRequestReader.read(body), idempotencyKey);
        URI location = URI.create(request.getContextPath() + "/api/jobs/" + submission.job().id());
        return ResponseEntity.status(submission.created() ? HttpStatus.ACCEPTED : HttpStatus.OK).location(location)
                .body(submission.job());
    }

    @GetMapping
    @Operation(operationId = "listJobs",
            summary = "List jobs: filter, search, sort, page (newest first by default)")
    @ApiResponse(responseCode = "200", description = "one page of jobs", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = JobViews.JobPage.class)))
    public JobViews.JobPage list(
            @Parameter(description = "only jobs of these statuses (repeat it, or separate by commas)")
            @RequestParam(required = false) List<String> status,
            @Parameter(description = "only jobs whose id, name or operation contains this text (any case)")
            @RequestParam(required = false) String q,
            @Parameter(description = "created (default), updated, name, operation or status")
            @RequestParam(required = false) String sort,
            @Parameter(description = "asc or desc (default)") @RequestParam(required = false) String order,
            @Parameter(description = "0-based page number") @RequestParam(required = false) Integer page,
            @Parameter(description = "jobs per page, 1-100 (default 20)") @RequestParam(required = false) Integer size,
            @Parameter(hidden = true) Authentication caller) {
        return queries.list(status, q, sort, order, page, size, Caller.of(caller));
    }

    @PostMapping(path = "/bulk-restart", consumes = MediaType.APPLICATION_JSON_VALUE)
    @Operation(operationId = "bulkRestart",
            summary = "Restart many stopped or failed jobs", description = "Either the jobs named in ids, or every "
            + "job of a status (FAILED or STOPPED), oldest first, at most 500. Each is restarted as by "
            + "POST /api/jobs/{id}/restart; the answer says, per job, whether it was and why not.")
    @ApiResponse(responseCode = "200", description = "per job, restarted or why not", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE, schema = @Schema(implementation = JobViews.BulkResult.class)))
    public JobViews.BulkResult bulkRestart(@RequestBody JobViews.BulkRestartRequest request) {
        return commands.restartAll(request.ids(), request.status());
    }

    @GetMapping("/{id}")
    @Operation(operationId = "getJob",
            summary = "A job: status, progress, timings, partitions, executions, output, error, spec")
    @ApiResponse(responseCode = "200", description = "the job",
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    public JobViews.JobView get(@PathVariable String id, @Parameter(hidden = true) Authentication caller) {
        return queries.view(id, Caller.of(caller));
    }

    @PostMapping("/{id}/stop")
    @Operation(operationId = "stopJob",
            summary = "Stop a job", description = "A running job stops at its next commit and ends STOPPED; a "
            + "queued job leaves the queue without running. 409 for any other status.")
    @ApiResponse(responseCode = "202", description = "stopping (or stopped, if it was queued)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    @ApiResponse(responseCode = "409", description = "the job is not running or queued")
    public ResponseEntity<JobViews.JobView> stop(@PathVariable String id) {
        return ResponseEntity.accepted().body(commands.stop(id));
    }

    @PostMapping("/{id}/restart")
    @Operation(operationId = "restartJob",
            summary = "Restart a stopped or failed job", description = "It goes to the end of the queue (starting "
            + "at once if a slot is free) and continues where it stopped. 409 for any other status, 429 when the "
            + "queue is full.")
    @ApiResponse(responseCode = "202", description = "queued again (or starting)",
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    @ApiResponse(responseCode = "409", description = "the job is neither stopped nor failed")
    @ApiResponse(responseCode = "429", description = "the queue is full; see Retry-After",
            headers = @Header(name = "Retry-After", description = "seconds until a slot may be free"))
    public ResponseEntity<JobViews.JobView> restart(@PathVariable String id) {
        return ResponseEntity.accepted().body(commands.restart(id));
    }

    @PostMapping("/{id}/abandon")
    @Operation(operationId = "abandonJob",
            summary = "Abandon a stopped, failed or queued job", description = "It will never run again. 409 for "
            + "a running, completed or abandoned job.")
    @ApiResponse(responseCode = "200", description = "abandoned",
            content = @Content(mediaType = MediaType.APPLICATION_JSON_VALUE,
                    schema = @Schema(implementation = JobViews.JobView.class)))
    @ApiResponse(responseCode = "409", description = "the job is running, completed or already abandoned")
    public JobViews.JobView abandon(@PathVariable String id) {
        return commands.abandon(id);
    }

    @GetMapping("/{id}/output")
    @Operation(operationId = "listOutput",
            summary = "The job's output files, with sizes")
    @ApiResponse(responseCode = "200", description = "the output directory's files", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE,
            schema = @Schema(implementation = JobViews.OutputListing.class)))
    public JobViews.OutputListing output(@PathVariable String id) {
        return outputs.output(id);
    }

    @GetMapping("/{id}/output/{*file}")
    @Operation(operationId = "downloadOutput",
            summary = "Download one output file", description = "file is its path relative to the output "
            + "directory, as the listing gives it; it may contain '/'")
    @ApiResponse(responseCode = "200", description = "the file's bytes; the media type is guessed from its name "
            + "(application/octet-stream when unknown)",
            headers = @Header(name = "Content-Disposition", description = "attachment; filename=...",
                    schema = @Schema(type = "string")),
            content = @Content(mediaType = "application/octet-stream", schema = @Schema(type = "string",
                    format = "binary")))
    @ApiResponse(responseCode = "400", description = "file is missing or not a path inside the output directory")
    @ApiResponse(responseCode = "404", description = "no such job, or no such file in its output")
    public ResponseEntity<Resource> download(@PathVariable String id,
                                             @Parameter(description = "path relative to the output directory")
                                             @PathVariable String file) throws IOException {
        Path real = outputs.file(id, file);
        MediaType type = MediaTypeFactory.getMediaType(real.getFileName().toString())
                .orElse(MediaType.APPLICATION_OCTET_STREAM);
        return ResponseEntity.ok()
                .contentType(type)
                .contentLength(Files.size(real))
                .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment()
                        .filename(real.getFileName().toString(), StandardCharsets.UTF_8).build().toString())
                .body(new FileSystemResource(real));
    }

    @GetMapping(path = "/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    @Operation(operationId = "jobEvents",
            summary = "Server-sent events with the job's view", description = "Event 'job' with the body of GET "
            + "/api/jobs/{id} at once and every second in which it changed; event 'end' with the final view when "
            + "the job has ended, then the stream completes.")
    @ApiResponse(responseCode = "200", description = "the stream", content = @Content(
            mediaType = MediaType.TEXT_EVENT_STREAM_VALUE, schema = @Schema(type = "string")))
    public SseEmitter events(@PathVariable String id, @Parameter(hidden = true) Authentication caller) {
        return events.subscribe(id, Caller.of(caller));
    }
}
