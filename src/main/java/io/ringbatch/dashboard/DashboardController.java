package io.ringbatch.dashboard;

import io.ringbatch.api.ApiException;
import io.ringbatch.api.Caller;
import io.ringbatch.api.JobEvents;
import io.ringbatch.api.JobService;
import io.ringbatch.api.JobStore;
import io.ringbatch.api.JobViews;
import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.io.IoEngines;
import io.swagger.v3.oas.annotations.Operation;
import io.swagger.v3.oas.annotations.Parameter;
import io.swagger.v3.oas.annotations.media.Schema;
import io.swagger.v3.oas.annotations.tags.Tag;
import jakarta.servlet.http.HttpServletRequest;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.http.MediaType;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.security.core.Authentication;
import org.springframework.security.core.GrantedAuthority;
import org.springframework.security.web.csrf.CsrfToken;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

/**
 * What the dashboard needs beyond the jobs API: the overview of the service (and its live stream), a
 * job's throughput over time, and who is logged in (with the CSRF token its page sends back). The page
 * itself is static ({@code static/index.html} and {@code static/assets/}).
 */
@RestController
@Tag(name = "dashboard")
public class DashboardController {
    private final JobService jobs;
    private final JobStore store;
    private final JobEvents events;
    private final Throughput throughput;
    private final IoEngines.Selection engine;
    private final ThreadPoolTaskExecutor workers;
    private final RingbatchProperties properties;

    public DashboardController(JobService jobs, JobStore store, JobEvents events, Throughput throughput,
                               IoEngines.Selection engine,
                               @Qualifier("ringbatchWorkers") ThreadPoolTaskExecutor workers,
                               RingbatchProperties properties) {
        this.jobs = jobs;
        this.store = store;
        this.events = events;
        this.throughput = throughput;
        this.engine = engine;
        this.workers = workers;
        this.properties = properties;
    }

    @Schema(name = "Overview", description = "the service at a glance")
    public record Overview(
            Instant at,
            @Schema(description = "jobs in the repository by status, every status named") Map<String, Integer> jobsByStatus,
            @Schema(description = "jobs starting, running or stopping") int running,
            @Schema(description = "jobs waiting for a slot") int queued,
            int maxConcurrentJobs,
            int queueCapacity,
            Workers workers,
            Engine engine,
            @Schema(description = "bytes per second over all jobs, the mean of the last 5 seconds") double bytesPerSecond,
            @Schema(description = "one sample per second, oldest first: the last 10 minutes from GET, the newest "
                    + "only in the events stream") List<Throughput.Sample> history,
            @Schema(description = "the running jobs, as the list shows them") List<JobViews.JobSummary> active,
            @Schema(description = "ringbatch.input-roots: where jobs may read") List<String> inputRoots,
            @Schema(description = "ringbatch.output-root: where jobs write") String outputRoot) {
    }

    @Schema(name = "Workers")
    public record Workers(
            @Schema(description = "ringbatch.workers: threads of the processing executor") int size,
            @Schema(description = "threads running a partition now") int active,
            @Schema(description = "workers computing, on average over the last second") double busy,
            @Schema(description = "workers waiting for I/O, on average over the last second") double waiting) {
    }

    @Schema(name = "Engine")
    public record Engine(@Schema(description = "io_uring or blocking") String name,
                         @Schema(description = "ringbatch.io.engine") String requested,
                         @Schema(description = "why the engine is not the one requested, or null") String fallbackReason) {
    }

    @Schema(name = "Me")
    public record Me(String name, List<String> roles,
                     @Schema(description = "whether this user may steer jobs (role OPERATOR)") boolean operator,
                     @Schema(description = "for requests that ride on the session cookie") Csrf csrf) {
    }

    @Schema(name = "Csrf")
    public record Csrf(String headerName, String parameterName, String token) {
    }

    @GetMapping("/api/overview")
    @Operation(summary = "The service at a glance: jobs by status, throughput, workers, engine, queue")
    public Overview overview(@Parameter(hidden = true) Authentication authentication) {
        return overview(true, Caller.of(authentication));
    }

    @GetMapping(path = "/api/overview/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    @Operation(summary = "Server-sent events with the overview", description = "Event 'overview' at once and every "
            + "second, with the newest throughput sample only in history.")
    public SseEmitter overviewEvents(@Parameter(hidden = true) Authentication authentication) {
        Caller caller = Caller.of(authentication);
        return events.subscribe(new JobEvents.Topic() {
            @Override
            public String key() {
                return "overview:" + caller.operator(); // the active jobs' actions differ by caller
            }

            @Override
            public Object view() {
                return overview(false, caller);
            }

            @Override
            public String event(Object view) {
                return "overview";
            }

            @Override
            public boolean ends(Object view) {
                return false;
            }
        }, "poll GET /api/overview");
    }

    private Overview overview(boolean fullHistory, Caller caller) {
        Map<String, Integer> counts = jobs.countByStatus();
        int running = counts.get("STARTING") + counts.get("STARTED") + counts.get("STOPPING");
        // the stream sends only the newest sample: no copy of the 10 minutes every second
        List<Throughput.Sample> history = fullHistory ? throughput.history() : throughput.recent(5);
        double rate = history.subList(Math.max(0, history.size() - 5), history.size()).stream()
                .mapToDouble(Throughput.Sample::bytesPerSecond).average().orElse(0);
        Throughput.Sample latest = history.isEmpty() ? null : history.get(history.size() - 1);
        Workers w = new Workers(workers.getMaxPoolSize(), workers.getActiveCount(),
                latest == null ? 0 : latest.workersBusy(), latest == null ? 0 : latest.workersWaiting());
        Engine e = new Engine(engine.engine().name(), engine.requested().value(), engine.fallbackReason());
        List<Throughput.Sample> sent = fullHistory || latest == null ? history : List.of(latest);
        return new Overview(Instant.now(), counts, running, counts.get(JobService.QUEUED),
                properties.maxConcurrentJobs(), properties.queueCapacity(), w, e, Math.round(rate * 10) / 10.0, sent,
                jobs.running(caller), properties.inputRoots().stream().map(Object::toString).toList(),
                properties.outputRoot().toString());
    }

    @GetMapping("/api/jobs/{id}/throughput")
    @Operation(summary = "A job's throughput over time", description = "At most 300 points over the job's whole life "
            + "(all its executions), each with the bytes done by then and the rate since the point before.")
    public List<Throughput.JobPoint> jobThroughput(@PathVariable String id) {
        if (store.find(id).isEmpty()) {
            throw ApiException.notFound("no job with id '" + id + "'");
        }
        return throughput.job(id);
    }

    @GetMapping("/api/me")
    @Operation(summary = "Who is logged in, with what roles, and the CSRF token for session requests")
    public Me me(Authentication authentication, HttpServletRequest request) {
        List<String> roles = authentication.getAuthorities().stream().map(GrantedAuthority::getAuthority)
                .filter(a -> a.startsWith("ROLE_")).map(a -> a.substring(5)).sorted().toList();
        CsrfToken token = (CsrfToken) request.getAttribute(CsrfToken.class.getName());
        Csrf csrf = token == null ? null : new Csrf(token.getHeaderName(), token.getParameterName(), token.getToken());
        return new Me(authentication.getName(), roles, roles.contains("OPERATOR"), csrf);
    }
}
