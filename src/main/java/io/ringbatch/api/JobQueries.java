package io.ringbatch.api;

import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.RunState;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.springframework.stereotype.Service;

/**
 * Jobs as clients see them: a job's view, pages of the list, the running jobs, counts by status. Nothing
 * here writes: the status shown is the runner's where the table lags behind (QUEUED while waiting,
 * else the latest execution's, else the stored one); the dispatcher brings the table in line.
 */
@Service
public class JobQueries {
    static final int MAX_PAGE_SIZE = 100;
    static final int MAX_QUERY = 200;
    /** Jobs the running list shows at most (the overview's). */
    private static final int MAX_RUNNING = 100;

    private final JobStore store;
    private final JobRunner runner;
    private final JobDispatcher dispatcher;
    private final Clock clock;
    private final Path outputRoot;

    JobQueries(JobStore store, JobRunner runner, JobDispatcher dispatcher, Clock clock,
               io.ringbatch.config.RingbatchProperties properties) {
        this.outputRoot = properties.outputRoot().toAbsolutePath();
        this.store = store;
        this.runner = runner;
        this.dispatcher = dispatcher;
        this.clock = clock;
    }

    JobStore.Row require(String id) {
        return store.find(id).orElseThrow(() -> ApiException.notFound("no job with id '" + id + "'"));
    }

    /** The status a client sees: QUEUED while waiting, else the runner's, else what the table says. */
    static JobStatus effective(JobStore.Row row, RunState state) {
        JobStatus run = JobStatus.of(state.status());
        if (JobStatus.QUEUED.name().equals(row.status()) && (run == null || !run.active())) {
            return JobStatus.QUEUED;
        }
        return run == null ? JobStatus.of(row.status()) : run;
    }

    /** The run time of all the job's executions together, the one under way until {@code now}. */
    static double runSeconds(RunState state, Instant now) {
        double seconds = 0;
        for (RunState.Execution e : state.executions()) {
            if (e.startedAt() != null) {
                Instant end = e.endedAt() == null ? now : e.endedAt();
                seconds += Math.max(0, Duration.between(e.startedAt(), end).toMillis() / 1000.0);
            }
        }
        return seconds;
    }

    /** Files and bytes done, the throughput over the run time, and while it runs the time left. */
    static JobViews.Progress progress(RunState state, JobStatus status, double runSeconds) {
        double percent = percent(state.bytesDone(), state.bytesTotal(), status == JobStatus.COMPLETED);
        Double rate = runSeconds > 0 && state.bytesDone() > 0 ? state.bytesDone() / runSeconds : null;
        Double eta = null;
        if (status.active() && rate != null && state.bytesTotal() > 0) {
            eta = round((state.bytesTotal() - state.bytesDone()) / rate);
        }
        return new JobViews.Progress(state.filesDone(), state.filesTotal(), state.bytesDone(), state.bytesTotal(),
                percent, rate == null ? null : round(rate), eta);
    }

    public JobViews.JobView view(String id, Caller caller) {
        JobStore.Row row = require(id);
        return view(row, runner.state(id), caller);
    }

    private JobViews.JobView view(JobStore.Row row, RunState state, Caller caller) {
        String id = row.id();
        JobStatus status = effective(row, state);
        StoredSpec spec = StoredSpec.of(store, row);
        Instant now = Instant.now(clock);

        double runSeconds = runSeconds(state, now);
        List<JobViews.ExecutionView> executions = state.executions().stream()
                .map(e -> new JobViews.ExecutionView(e.id(), e.status(), e.startedAt(), e.endedAt(), e.exitCode(),
                        Texts.clean(e.exitDescription(), 1000)))
                .toList();
        boolean running = status.active();
        JobViews.Progress progress = progress(state, status, runSeconds);

        Double queued = null;
        if (state.startedAt() != null) {
            queued = round(Math.max(0, Duration.between(row.createdAt(), state.startedAt()).toMillis() / 1000.0));
        } else if (status == JobStatus.QUEUED) {
            queued = round(Duration.between(row.createdAt(), now).toMillis() / 1000.0);
        }
        double wait = state.waitNanos() / 1e9;
        double busy = state.busyNanos() / 1e9;
        JobViews.Timings timings = new JobViews.Timings(queued, round(runSeconds), round(wait), round(busy),
                wait + busy > 0 ? round(wait / (wait + busy)) : null);

        List<JobViews.PartitionView> partitions = state.partitions().stream()
                .map(p -> new JobViews.PartitionView(p.index(), p.status(), p.files(), p.bytesTotal(), p.bytesDone(),
                        percent(p.bytesDone(), p.bytesTotal(), "COMPLETED".equals(p.status())),
                        round(p.waitNanos() / 1e9), round(p.busyNanos() / 1e9), p.worker(), p.attempts()))
                .toList();

        Path dir = Path.of(spec.definition().outputPath());
        JobOutputs.Listing listing = JobOutputs.list(outputRoot, dir, JobOutputs.MAX_VIEW_FILES);
        JobViews.OutputView output = new JobViews.OutputView(dir.toString(), listing.exists(), listing.files(),
                listing.truncated());

        String message = null;
        String detail = null;
        if (!running && status != JobStatus.QUEUED && state.error() != null) {
            message = Texts.clean(state.error(), 1000);
            detail = Texts.clean(state.errorDetail(), 4000);
        } else if (row.error() != null && !running) {
            message = row.error();
        }
        JobViews.ErrorView error = message == null ? null : new JobViews.ErrorView(message, detail);

        Integer position = status == JobStatus.QUEUED ? store.queuedBefore(row.queueOrder()) : null;
        return new JobViews.JobView(id, row.name(), row.operation(), status, state.phase(), position, row.createdAt(),
                row.updatedAt(), state.startedAt(), state.endedAt(), progress, timings, state.engine(), row.owner(),
                partitions, executions, output, error, spec.submitted(), spec.definition(),
                status.actions(caller.operator()), JobViews.Links.of(id));
    }

    static double percent(long done, long total, boolean complete) {
        if (total <= 0) {
            return complete ? 100.0 : 0.0;
        }
        return Math.min(100.0, Math.round(done * 1000.0 / total) / 10.0);
    }

    private static double round(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    /**
     * A page of jobs: of some statuses (none: all), whose id, name or operation contains {@code query}
     * (case-insensitively), ordered by {@code sort} (created, updated, name, operation or status;
     * default created) in {@code order} (asc or desc; default desc).
     */
    public JobViews.JobPage list(List<String> statusFilter, String query, String sort, String order, Integer page,
                                 Integer size, Caller caller) {
        List<FieldError> errors = new ArrayList<>();
        Set<JobStatus> statuses = statuses(statusFilter, errors);
        String text = query == null || query.isBlank() ? null : query.strip();
        if (text != null && text.length() > MAX_QUERY) {
            errors.add(new FieldError("q", "must be at most " + MAX_QUERY + " characters"));
        }
        JobStore.Sort by = JobStore.Sort.CREATED;
        if (sort != null && !sort.isBlank()) {
            try {
                by = JobStore.Sort.valueOf(sort.strip().toUpperCase(Locale.ROOT));
            } catch (IllegalArgumentException e) {
                errors.add(new FieldError("sort", "unknown sort '" + Texts.clean(sort, 50)
                        + "'; one of created, updated, name, operation, status"));
            }
        }
        boolean descending = true;
        if (order != null && !order.isBlank()) {
            switch (order.strip().toLowerCase(Locale.ROOT)) {
                case "asc" -> descending = false;
                case "desc" -> descending = true;
                default -> errors.add(new FieldError("order", "must be asc or desc"));
            }
        }
        int p = page == null ? 0 : page;
        int n = size == null ? 20 : size;
        if (p < 0) {
            errors.add(new FieldError("page", "must be 0 or more (pages count from 0)"));
        }
        if (n < 1 || n > MAX_PAGE_SIZE) {
            errors.add(new FieldError("size", "must be between 1 and " + MAX_PAGE_SIZE));
        }
        if (!errors.isEmpty()) {
            throw ApiException.invalid(errors);
        }
        JobStore.Filter filter = new JobStore.Filter(JobStatus.names(statuses), text);
        int total = store.count(filter);
        List<JobViews.JobSummary> items = new ArrayList<>();
        for (JobStore.Row row : store.page(filter, by, descending, (long) p * n, n)) {
            items.add(summary(row, caller));
        }
        return new JobViews.JobPage(items, p, n, total, (int) ((total + n - 1) / n));
    }

    /** The statuses a filter names (repeated, or separated by commas; any case); unknown ones are errors. */
    private static Set<JobStatus> statuses(List<String> values, List<FieldError> errors) {
        Set<JobStatus> statuses = new LinkedHashSet<>();
        if (values == null) {
            return statuses;
        }
        for (String value : values) {
            for (String s : value.split(",")) {
                if (s.isBlank()) {
                    continue;
                }
                JobStatus status = JobStatus.parse(s);
                if (status == null) {
                    errors.add(new FieldError("status", "unknown status '" + Texts.clean(s.trim(), 50) + "'; one of "
                            + Stream.of(JobStatus.values()).map(Enum::name).collect(Collectors.joining(", "))));
                } else {
                    statuses.add(status);
                }
            }
        }
        return statuses;
    }

    /** A row as the list shows it; a job that runs (or just ended) is looked up in the runner. */
    JobViews.JobSummary summary(JobStore.Row row, Caller caller) {
        JobStatus status = JobStatus.of(row.status());
        Double percent = status == JobStatus.COMPLETED ? 100.0 : null;
        String error = row.error();
        if (status.active() || dispatcher.watched(row.id())) {
            RunState state = runner.state(row.id());
            status = effective(row, state);
            if (status.active() || status == JobStatus.COMPLETED) {
                percent = percent(state.bytesDone(), state.bytesTotal(), status == JobStatus.COMPLETED);
            }
            if (!status.active() && state.error() != null) {
                error = Texts.clean(state.error(), 1000);
            }
        }
        return new JobViews.JobSummary(row.id(), row.name(), row.operation(), status, row.createdAt(),
                row.updatedAt(), percent, status.active() ? null : error, status.actions(caller.operator()),
                JobViews.Links.of(row.id()));
    }

    /** The jobs that run now (STARTING, STARTED, STOPPING), newest first, as the list shows them. */
    public List<JobViews.JobSummary> running(Caller caller) {
        List<JobViews.JobSummary> out = new ArrayList<>();
        for (JobStore.Row row : store.page(new JobStore.Filter(JobStatus.names(JobStatus.ACTIVE), null),
                JobStore.Sort.CREATED, true, 0, MAX_RUNNING)) {
            out.add(summary(row, caller));
        }
        return out;
    }

    /** How many jobs have each status: every status, in {@link JobStatus}'s order, 0 where none. */
    public Map<JobStatus, Integer> countByStatus() {
        Map<String, Integer> stored = store.countByStatus();
        Map<JobStatus, Integer> counts = new LinkedHashMap<>();
        for (JobStatus status : JobStatus.values()) {
            counts.put(status, stored.getOrDefault(status.name(), 0));
        }
        return counts;
    }
}
