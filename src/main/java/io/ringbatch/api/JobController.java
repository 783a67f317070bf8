package io.ringbatch.api;

import io.ringbatch.io.Dir;
import io.ringbatch.io.FileNames;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.headers.Header;
import io.swagger.v3.oas.annotations.media.Content;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.responses.ApiResponse;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import java.net.URI;
import java.nio.charset.StandardCharsets;
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
import org.springframework.web.context.request.RequestAttributes;
import org.springframework.web.context.request.RequestContextHolder;
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
            summary = "The job's output files, with sizes", description = "Each file's name is shown for people "
            + "(bytes that are not UTF-8 as \\xHH) and as nameBase64, its exact bytes, which "
            + "GET /api/jobs/{id}/output-file?path= (or this address with ?path=) takes to download it.")
    @ApiResponse(responseCode = "200", description = "the output directory's files", content = @Content(
            mediaType = MediaType.APPLICATION_JSON_VALUE,
            schema = @Schema(implementation = JobViews.OutputListing.class)))
    public JobViews.OutputListing output(@PathVariable String id) {
        return outputs.output(id);
    }

    @GetMapping("/{id}/output/{*file}")
    @Operation(operationId = "downloadOutput",
            summary = "Download one output file by its path", description = "file is its path relative to the "
            + "output directory, as the listing's name gives it; it may contain '/'. A name that is not valid "
            + "UTF-8, or that holds a byte the server refuses in a path (an encoded backslash, percent sign, "
            + "semicolon, slash or a control character), is downloaded with GET /api/jobs/{id}/output-file?path= "
            + "instead, which takes any name.")
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
                                             @PathVariable String file) {
        return serve(outputs.open(id, FileNames.ofText(file), "file"));
    }

    @GetMapping(path = "/{id}/output-file", params = "path")
    @Operation(operationId = "downloadOutputFile",
            summary = "Download one output file by the bytes of its name", description = "path is the exact bytes "
            + "of the file's path relative to the output directory ('/'-separated), base64url-encoded (RFC 4648 "
            + "section 5, padding optional): the listing's nameBase64. Any name a job wrote can be downloaded "
            + "this way, nested or not, valid UTF-8 or not. GET /api/jobs/{id}/output?path= is the same.")
    @ApiResponse(responseCode = "200", description = "the file's bytes; the media type is guessed from its name "
            + "(application/octet-stream when unknown)",
            headers = @Header(name = "Content-Disposition", description = "attachment; filename=... (and filename* "
                    + "in UTF-8, RFC 6266), the display form of the name's last segment",
                    schema = @Schema(type = "string")),
            content = @Content(mediaType = "application/octet-stream", schema = @Schema(type = "string",
                    format = "binary")))
    @ApiResponse(responseCode = "400", description = "path is not base64url, or not a path inside the output "
            + "directory")
    @ApiResponse(responseCode = "404", description = "no such job, or no such file in its output")
    public ResponseEntity<Resource> downloadByName(@PathVariable String id,
            @Parameter(description = "the path's bytes, base64url (the listing's nameBase64)", required = true,
                    example = "bmVzdGVkL2Rpci9jb3VudC50eHQ")
            @RequestParam("path") String path) {
        return serve(outputs.open(id, decode(path), "path"));
    }

    /** The same download at the listing's address with ?path= (documented with downloadOutputFile). */
    @GetMapping(path = "/{id}/output", params = "path")
    @io.swagger.v3.oas.annotations.Hidden
    public ResponseEntity<Resource> downloadAtListing(@PathVariable String id, @RequestParam("path") String path) {
        return serve(outputs.open(id, decode(path), "path"));
    }

    private static String decode(String base64) {
        try {
            return FileNames.fromBase64(base64);
        } catch (IllegalArgumentException e) {
            throw ApiException.invalid("path", "must be the name's bytes in base64url (RFC 4648 section 5), as the "
                    + "listing's nameBase64 gives them");
        }
    }

    private static ResponseEntity<Resource> serve(JobOutputs.Opened file) {
        // the descriptor stays open until the request completes: the body is read by reopening that inode
        // through /proc/self/fd (never the path), and a Range request may read it more than once
        RequestContextHolder.currentRequestAttributes().registerDestructionCallback(
                "ringbatch.download." + file.fd(), () -> Dir.closeFd(file.fd()), RequestAttributes.SCOPE_REQUEST);
        MediaType type = MediaTypeFactory.getMediaType(file.fileName()).orElse(MediaType.APPLICATION_OCTET_STREAM);
        Resource body = new FileSystemResource(Dir.procPath(file.fd())) {
            @Override
            public String getFilename() {
                return file.fileName();
            }
        };
        return ResponseEntity.ok()
                .contentType(type)
                .contentLength(file.size())
                .header(HttpHeaders.CONTENT_DISPOSITION, ContentDisposition.attachment()
                        .filename(file.fileName(), StandardCharsets.UTF_8).build().toString())
                .body(body);
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
