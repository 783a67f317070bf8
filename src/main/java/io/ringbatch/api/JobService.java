package io.ringbatch.api;

import io.ringbatch.batch.JobDefinition;
import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.JobRunnerException;
import io.ringbatch.batch.RunState;
import io.ringbatch.config.RingbatchProperties;
import java.io.IOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.context.SmartLifecycle;
import org.springframework.context.event.EventListener;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * Jobs as the API sees them: submission (validate, confine paths, persist in {@code RB_JOB}), the queue,
 * steering and views.
 * <p>
 * <b>Queue.</b> At most {@code ringbatch.max-concurrent-jobs} jobs run at once (status STARTING, STARTED or
 * STOPPING); up to {@code ringbatch.queue-capacity} more wait as QUEUED and start in the order they were
 * queued; past that a submission (or a restart) is refused with 429 and Retry-After. A dispatcher starts
 * queued jobs whenever a running one ends (the runner says so), every second, and at start-up (jobs left
 * QUEUED by an earlier process keep their place).
 * <p>
 * <b>Status.</b> QUEUED while waiting; afterwards the status of the job's latest Spring Batch execution,
 * as the runner reports it. The table keeps the status last seen (reconciled every second for running
 * jobs, and whenever a job is looked at) so that lists can filter by it.
 * <p>
 * <b>Steering.</b> stop: a running job is asked to stop at its next commit (it ends STOPPED); a QUEUED job
 * is taken out of the queue without running (it becomes STOPPED, or returns to the STOPPED or FAILED it
 * was re-queued from), and can be restarted. restart: a STOPPED or FAILED job goes to the end of the
 * queue (it starts at once if a slot is free), continuing where it stopped, or from the beginning if it
 * never ran. abandon: a STOPPED, FAILED or QUEUED job becomes ABANDONED and never runs again. Anything
 * else is a 409.
 * <p>
 * <b>Idempotency.</b> A submission with an {@code Idempotency-Key} that was already used with the same
 * body returns the job it made (200 instead of 202, nothing new runs); with a different body it is
 * refused (422). Keys are kept with the job, for as long as the job is.
 * <p>
 * One process is assumed to dispatch: the queue's limits are kept by a lock of this JVM.
 */
@Service
public class JobService implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(JobService.class);

    public static final String QUEUED = "QUEUED";
    public static final List<String> STATUSES = List.of(QUEUED, "STARTING", "STARTED", "STOPPING", "STOPPED",
            "COMPLETED", "FAILED", "ABANDONED", "UNKNOWN");
    /** Statuses that take one of the max-concurrent-jobs slots. */
    static final List<String> ACTIVE = List.of("STARTING", "STARTED", "STOPPING");
    /** Statuses in which a job's output path stays reserved for it. */
    static final List<String> CLAIMING = List.of(QUEUED, "STARTING", "STARTED", "STOPPING", "STOPPED", "FAILED",
            "UNKNOWN");
    /** Statuses a job can be restarted from. */
    static final List<String> RESTARTABLE = List.of("STOPPED", "FAILED");
    static final int MAX_VIEW_FILES = 100;
    static final int MAX_LIST_FILES = 100_000;
    static final int MAX_PAGE_SIZE = 100;
    private static final Pattern KEY = Pattern.compile("[\\x21-\\x7E]([\\x20-\\x7E]{0,198}[\\x21-\\x7E])?");
    private static final Duration STARTUP_WATCH = Duration.ofSeconds(60);
    private static final Duration ENDED_WATCH = Duration.ofSeconds(10);

    private final JobStore store;
    private final JobSpecValidator validator;
    private final JobRunner runner;
    private final RingbatchProperties properties;
    /** For what the table stores: independent of the application's Jackson settings, so it reads back the same. */
    private static final JsonMapper STORED = JsonMapper.builder().build();

    private final JobIds ids;
    private final ReentrantLock lock = new ReentrantLock();
    /** Jobs to reconcile even though their row does not look running: ended or resumed by the runner. */
    private final Map<String, Instant> watch = new ConcurrentHashMap<>();
    private volatile ScheduledExecutorService ticker;
    private volatile boolean dispatching;
    private volatile boolean lifecycleRunning;

    public JobService(JobStore store, JobSpecValidator validator, JobRunner runner, RingbatchProperties properties) {
        this.store = store;
        this.validator = validator;
        this.runner = runner;
        this.properties = properties;
        this.ids = new JobIds(store.maxId().orElse(null));
        runner.onExecutionEnded(this::executionEnded);
    }

    /** What the table's SPEC column holds. */
    record StoredSpec(JsonNode request, JobViews.Definition definition) {
    }

    /** A submission's answer: the job, and whether this request made it (false: an idempotent replay). */
    public record Submission(JobViews.JobView job, boolean created) {
    }

    // ---- submission ----------------------------------------------------------------------------------

    public Submission submit(JobRequest request, String idempotencyKey) {
        if (idempotencyKey != null && !KEY.matcher(idempotencyKey).matches()) {
            throw ApiException.invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters");
        }
        JsonNode submitted = STORED.valueToTree(request);
        if (idempotencyKey != null) {
            Optional<JobStore.Row> existing = store.findByIdempotencyKey(idempotencyKey);
            if (existing.isPresent()) {
                return replay(existing.get(), submitted, idempotencyKey);
            }
        }
        String id = ids.next();
        JobSpecValidator.Resolved resolved = validator.validate(request, id);
        JobViews.Definition definition = new JobViews.Definition(resolved.operation(), resolved.params(),
                resolved.inputRoot().toString(), resolved.include(), resolved.exclude(),
                resolved.outputPath().toString(), resolved.skipUnreadable());
        String spec = STORED.writeValueAsString(new StoredSpec(submitted, definition));
        lock.lock();
        try {
            if (idempotencyKey != null) {
                Optional<JobStore.Row> existing = store.findByIdempotencyKey(idempotencyKey);
                if (existing.isPresent()) {
                    return replay(existing.get(), submitted, idempotencyKey);
                }
            }
            Optional<String> claimed = store.outputClaimedBy(definition.outputPath(), CLAIMING);
            if (claimed.isPresent()) {
                throw ApiException.invalid("output.path", "is already the output of job " + claimed.get()
                        + ", which has not completed");
            }
            admit();
            Instant now = Instant.now();
            try {
                store.insert(new JobStore.Row(id, resolved.name(), resolved.operation(), QUEUED, ids.next(),
                        definition.outputPath(), idempotencyKey, null, now, now, spec, null));
            } catch (DuplicateKeyException e) {
                // another process took the key in the meantime
                JobStore.Row existing = store.findByIdempotencyKey(idempotencyKey).orElseThrow(() -> e);
                return replay(existing, submitted, idempotencyKey);
            }
            log.info("job {} submitted: {} of {} into {}", id, resolved.operation(), resolved.inputRoot(),
                    resolved.outputPath());
            dispatchLocked();
        } finally {
            lock.unlock();
        }
        return new Submission(view(id, Caller.OPERATOR), true);
    }

    private Submission replay(JobStore.Row existing, JsonNode submitted, String key) {
        JsonNode before = readSpec(existing).request();
        if (!submitted.equals(before)) {
            throw new ApiException(HttpStatus.UNPROCESSABLE_CONTENT, "Idempotency-Key '" + key
                    + "' was used for a different request (job " + existing.id() + "); use a new key for a new job",
                    List.of(new FieldError("Idempotency-Key", "was used for a different request")), null);
        }
        return new Submission(view(existing.id(), Caller.OPERATOR), false);
    }

    /** 429 unless the job can run now or wait in the queue. Call with the lock held. */
    private void admit() {
        int queued = store.count(List.of(QUEUED));
        int active = store.countHere(ACTIVE);
        int free = Math.max(0, properties.maxConcurrentJobs() - active);
        if (queued + 1 > properties.queueCapacity() + free) {
            long retry = retryAfterSeconds();
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "the queue is full: " + active + " job(s) running "
                    + "(ringbatch.max-concurrent-jobs=" + properties.maxConcurrentJobs() + ") and " + queued
                    + " waiting (ringbatch.queue-capacity=" + properties.queueCapacity() + "); retry in about "
                    + retry + " s", null, Map.of("Retry-After", Long.toString(retry)));
        }
    }

    /** When a slot may be free: the shortest estimated time left of the running jobs, 1 to 300 s. */
    private long retryAfterSeconds() {
        double best = Double.MAX_VALUE;
        for (JobStore.Row row : store.withStatus(ACTIVE, 100)) {
            JobViews.JobView v = view(row, runner.state(row.id()), false, Caller.OPERATOR);
            if (v.progress().etaSeconds() != null) {
                best = Math.min(best, v.progress().etaSeconds());
            }
        }
        if (best == Double.MAX_VALUE) {
            return 10;
        }
        return Math.max(1, Math.min(300, (long) Math.ceil(best)));
    }

    // ---- dispatching ---------------------------------------------------------------------------------

    /** Starts queued jobs while slots are free. Call with the lock held; returns the launches that failed. */
    private Map<String, Exception> dispatchLocked() {
        Map<String, Exception> failures = new HashMap<>();
        if (!dispatching) {
            return failures;
        }
        int active = store.countHere(ACTIVE);
        while (active < properties.maxConcurrentJobs()) {
            Optional<JobStore.Row> next = store.nextQueued();
            if (next.isEmpty()) {
                break;
            }
            JobStore.Row row = next.get();
            Exception failure = launch(row);
            if (failure != null) {
                failures.put(row.id(), failure);
            }
            active = store.countHere(ACTIVE); // the claim may have gone to another instance
        }
        return failures;
    }

    /** Starts (or restarts) one queued job; returns the failure, or null. */
    private Exception launch(JobStore.Row row) {
        String id = row.id();
        RunState before = runner.state(id);
        boolean first = before.status() == null;
        if (!store.claim(id, Instant.now())) {
            return null; // another instance took it
        }
        try {
            if (first) {
                runner.start(definition(row));
            } else {
                runner.restart(id);
            }
            log.info("job {} {}", id, first ? "started" : "restarted");
            return null;
        } catch (JobRunnerException | RuntimeException e) {
            RunState after = runner.state(id);
            String status = after.status() == null ? "FAILED" : after.status();
            String message = (first ? "could not start: " : "could not restart: ") + Texts.clean(e.getMessage(), 1000);
            if (e instanceof JobRunnerException) {
                log.warn("job {} {}", id, message);
            } else {
                log.error("job {} {}", id, message, e);
            }
            boolean fine = ACTIVE.contains(status) || "COMPLETED".equals(status) || "ABANDONED".equals(status);
            store.setStatus(id, null, status, fine ? null : message, Instant.now());
            return e;
        }
    }

    JobDefinition definition(JobStore.Row row) {
        JobViews.Definition d = readSpec(row).definition();
        return new JobDefinition(row.id(), d.operation(), d.params(), Path.of(d.inputRoot()), d.include(), d.exclude(),
                Path.of(d.outputPath()), d.skipUnreadable());
    }

    private void executionEnded(String jobId) {
        watch.put(jobId, Instant.now().plus(ENDED_WATCH));
        ScheduledExecutorService t = ticker;
        if (t != null && !t.isShutdown()) {
            try {
                t.execute(this::tick);
                // the runner may announce the end before the repository shows it
                t.schedule(this::tick, 200, TimeUnit.MILLISECONDS);
            } catch (RuntimeException e) {
                // shutting down
            }
        }
    }

    /** Reconciles the statuses of running jobs with the runner's, then starts what may start. */
    void tick() {
        lock.lock();
        try {
            Instant now = Instant.now();
            Set<String> check = new LinkedHashSet<>();
            for (JobStore.Row row : store.withStatus(ACTIVE, 10_000)) {
                check.add(row.id());
            }
            watch.entrySet().removeIf(e -> e.getValue().isBefore(now));
            check.addAll(watch.keySet());
            for (String id : check) {
                store.find(id).ifPresent(row -> reconcile(row, runner.state(id)));
            }
            dispatchLocked();
        } catch (RuntimeException e) {
            log.error("job dispatcher: {}", e.toString(), e);
        } finally {
            lock.unlock();
        }
    }

    /** Brings the row's status in line with the runner's. */
    private void reconcile(JobStore.Row row, RunState state) {
        String status = state.status();
        Instant now = Instant.now();
        if (status == null) {
            if (ACTIVE.contains(row.status()) && store.runsHere(row.id())) {
                // marked as starting by a process that died before the runner had it: queue it again, in place
                log.warn("job {} was {} but never started; it waits in the queue again", row.id(), row.status());
                store.setStatus(row.id(), row.status(), QUEUED, null, now);
            }
            return;
        }
        if (QUEUED.equals(row.status()) && !ACTIVE.contains(status)) {
            return; // waiting for a restart
        }
        if (!status.equals(row.status())) {
            store.setStatus(row.id(), row.status(), status, ACTIVE.contains(status) ? null : errorOf(row, state), now);
        }
    }

    private static String errorOf(JobStore.Row row, RunState state) {
        if (state.error() != null) {
            return state.error();
        }
        return "FAILED".equals(state.status()) ? row.error() : null;
    }

    @EventListener(ApplicationReadyEvent.class)
    @Order(Ordered.LOWEST_PRECEDENCE)
    public void ready() {
        lock.lock();
        try {
            // the runner may be resuming these (ringbatch.resume-on-start): keep an eye on them for a while
            Instant until = Instant.now().plus(STARTUP_WATCH);
            for (JobStore.Row row : store.withStatus(ACTIVE, 10_000)) {
                watch.put(row.id(), until);
            }
            dispatching = lifecycleRunning;
        } finally {
            lock.unlock();
        }
        if (!dispatching) {
            return;
        }
        ScheduledExecutorService t = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, "ringbatch-dispatcher");
            thread.setDaemon(true);
            return thread;
        });
        ticker = t;
        t.scheduleWithFixedDelay(this::tick, 0, 1, TimeUnit.SECONDS);
    }

    @Override
    public void start() {
        lifecycleRunning = true;
    }

    /** First thing at shutdown: no more jobs start (those running are the runner's to stop). */
    @Override
    public void stop() {
        lifecycleRunning = false;
        dispatching = false;
        ScheduledExecutorService t = ticker;
        if (t != null) {
            t.shutdownNow();
        }
    }

    @Override
    public boolean isRunning() {
        return lifecycleRunning;
    }

    @Override
    public int getPhase() {
        return Integer.MAX_VALUE;
    }

    // ---- steering ------------------------------------------------------------------------------------

    public JobViews.JobView stop(String id) {
        lock.lock();
        try {
            JobStore.Row row = require(id);
            RunState state = runner.state(id);
            String status = effective(row, state);
            if (QUEUED.equals(status)) {
                String back = state.status() == null ? "STOPPED" : state.status();
                store.setStatus(id, QUEUED, back, state.status() == null ? null : row.error(), Instant.now());
                log.info("job {} taken out of the queue ({})", id, back);
            } else if (ACTIVE.contains(status)) {
                steer(id, "stop", () -> runner.stop(id));
                RunState after = runner.state(id);
                if (after.status() != null) {
                    store.setStatus(id, null, after.status(), null, Instant.now());
                }
                log.info("job {} asked to stop", id);
            } else {
                throw ApiException.conflict("job " + id + " is " + status + "; only a queued or running job can be "
                        + "stopped");
            }
        } finally {
            lock.unlock();
        }
        return view(id, Caller.OPERATOR);
    }

    public JobViews.JobView restart(String id) {
        lock.lock();
        try {
            JobStore.Row row = require(id);
            RunState state = runner.state(id);
            String status = effective(row, state);
            if (!RESTARTABLE.contains(status)) {
                throw ApiException.conflict("job " + id + " is " + status + "; only a stopped or failed job can be "
                        + "restarted");
            }
            admit();
            store.requeue(id, ids.next(), Instant.now());
            log.info("job {} queued for a restart", id);
            Exception failure = dispatchLocked().get(id);
            if (failure instanceof JobRunnerException e && e.conflict()) {
                throw ApiException.conflict(Texts.clean(e.getMessage(), 1000));
            }
            if (failure != null) {
                throw new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "job " + id + " could not be restarted; "
                        + "see its error and the service log");
            }
        } finally {
            lock.unlock();
        }
        return view(id, Caller.OPERATOR);
    }

    public JobViews.JobView abandon(String id) {
        lock.lock();
        try {
            JobStore.Row row = require(id);
            RunState state = runner.state(id);
            String status = effective(row, state);
            if (QUEUED.equals(status) || RESTARTABLE.contains(status) || "UNKNOWN".equals(status)) {
                if (state.status() != null) {
                    steer(id, "abandon", () -> runner.abandon(id));
                }
                store.setStatus(id, null, "ABANDONED", row.error(), Instant.now());
                log.info("job {} abandoned", id);
            } else if (ACTIVE.contains(status)) {
                throw ApiException.conflict("job " + id + " is " + status + "; stop it before abandoning it");
            } else {
                throw ApiException.conflict("job " + id + " is " + status + "; it cannot be abandoned");
            }
        } finally {
            lock.unlock();
        }
        return view(id, Caller.OPERATOR);
    }

    private interface Steering {
        void run() throws JobRunnerException;
    }

    private void steer(String id, String what, Steering action) {
        try {
            action.run();
        } catch (JobRunnerException e) {
            if (e.conflict()) {
                throw ApiException.conflict(Texts.clean(e.getMessage(), 1000));
            }
            log.error("job {}: {} failed", id, what, e);
            throw new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "job " + id + " could not " + what
                    + "; see the service log");
        }
    }

    // ---- views ---------------------------------------------------------------------------------------

    private JobStore.Row require(String id) {
        return store.find(id).orElseThrow(() -> ApiException.notFound("no job with id '" + id + "'"));
    }

    /** The status a client sees: QUEUED while waiting, else the runner's, else what the table says. */
    static String effective(JobStore.Row row, RunState state) {
        if (QUEUED.equals(row.status()) && (state.status() == null || !ACTIVE.contains(state.status()))) {
            return QUEUED;
        }
        return state.status() == null ? row.status() : state.status();
    }

    public JobViews.JobView view(String id, Caller caller) {
        JobStore.Row row = require(id);
        return view(row, runner.state(id), true, caller);
    }

    private JobViews.JobView view(JobStore.Row row, RunState state, boolean withOutput, Caller caller) {
        String id = row.id();
        String status = effective(row, state);
        Instant updated = row.updatedAt();
        if (!status.equals(row.status()) && (ACTIVE.contains(row.status()) || ACTIVE.contains(status))) {
            Instant now = Instant.now();
            if (store.setStatus(id, row.status(), status, ACTIVE.contains(status) ? null : errorOf(row, state), now)) {
                updated = now;
            }
        }
        StoredSpec spec = readSpec(row);
        Instant now = Instant.now();

        double runSeconds = 0;
        List<JobViews.ExecutionView> executions = new ArrayList<>();
        for (RunState.Execution e : state.executions()) {
            if (e.startedAt() != null) {
                Instant end = e.endedAt() == null ? now : e.endedAt();
                runSeconds += Math.max(0, Duration.between(e.startedAt(), end).toMillis() / 1000.0);
            }
            executions.add(new JobViews.ExecutionView(e.id(), e.status(), e.startedAt(), e.endedAt(), e.exitCode(),
                    Texts.clean(e.exitDescription(), 1000)));
        }
        boolean running = ACTIVE.contains(status);
        double percent = percent(state.bytesDone(), state.bytesTotal(), "COMPLETED".equals(status));
        Double rate = runSeconds > 0 && state.bytesDone() > 0 ? state.bytesDone() / runSeconds : null;
        Double eta = null;
        if (running && rate != null && state.bytesTotal() > 0) {
            eta = round((state.bytesTotal() - state.bytesDone()) / rate);
        }
        JobViews.Progress progress = new JobViews.Progress(state.filesDone(), state.filesTotal(), state.bytesDone(),
                state.bytesTotal(), percent, rate == null ? null : round(rate), eta);

        Double queued = null;
        if (state.startedAt() != null) {
            queued = round(Math.max(0, Duration.between(row.createdAt(), state.startedAt()).toMillis() / 1000.0));
        } else if (QUEUED.equals(status)) {
            queued = round(Duration.between(row.createdAt(), now).toMillis() / 1000.0);
        }
        double wait = state.waitNanos() / 1e9;
        double busy = state.busyNanos() / 1e9;
        JobViews.Timings timings = new JobViews.Timings(queued, round(runSeconds), round(wait), round(busy),
                wait + busy > 0 ? round(wait / (wait + busy)) : null);

        List<JobViews.PartitionView> partitions = state.partitions().stream()
                .map(p -> new JobViews.PartitionView(p.index(), p.status(), p.files(), p.bytesTotal(), p.bytesDone(),
                        percent(p.bytesDone(), p.bytesTotal(), "COMPLETED".equals(p.status())),
                        round(p.waitNanos() / 1e9), round(p.busyNanos() / 1e9)))
                .toList();

        JobViews.OutputView output = null;
        if (withOutput) {
            Path dir = Path.of(spec.definition().outputPath());
            Listing listing = list(dir, MAX_VIEW_FILES);
            output = new JobViews.OutputView(dir.toString(), listing.exists(), listing.files(), listing.truncated());
        }

        String message = null;
        String detail = null;
        if (!running && !QUEUED.equals(status) && state.error() != null) {
            message = Texts.clean(state.error(), 1000);
            detail = Texts.clean(state.errorDetail(), 4000);
        } else if (row.error() != null && !running) {
            message = row.error();
        }
        JobViews.ErrorView error = message == null ? null : new JobViews.ErrorView(message, detail);

        Integer position = QUEUED.equals(status) ? store.queuedBefore(row.queueOrder()) : null;
        @SuppressWarnings("unchecked")
        Map<String, Object> submitted = STORED.treeToValue(spec.request(), Map.class);
        return new JobViews.JobView(id, row.name(), row.operation(), status, state.phase(), position, row.createdAt(),
                updated, state.startedAt(), state.endedAt(), progress, timings, state.engine(), row.owner(), partitions, executions,
                output, error, submitted, spec.definition(), JobStatus.of(status).actions(caller.operator()),
                JobViews.Links.of(id));
    }

    private static double percent(long done, long total, boolean complete) {
        if (total <= 0) {
            return complete ? 100.0 : 0.0;
        }
        return Math.min(100.0, Math.round(done * 1000.0 / total) / 10.0);
    }

    private static double round(double v) {
        return Math.round(v * 1000.0) / 1000.0;
    }

    StoredSpec readSpec(JobStore.Row row) {
        String spec = row.spec() != null ? row.spec() : store.find(row.id()).map(JobStore.Row::spec).orElseThrow();
        return STORED.readValue(spec, StoredSpec.class);
    }

    static final int MAX_QUERY = 200;


    /**
     * A page of jobs: of some statuses (none: all), whose id, name or operation contains {@code query}
     * (case-insensitively), ordered by {@code sort} (created, updated, name, operation or status;
     * default created) in {@code order} (asc or desc; default desc).
     */
    public JobViews.JobPage list(List<String> statusFilter, String query, String sort, String order, Integer page,
                                 Integer size, Caller caller) {
        List<FieldError> errors = new ArrayList<>();
        Set<String> statuses = statuses(statusFilter, "status", errors);
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
        JobStore.Filter filter = new JobStore.Filter(statuses, text);
        int total = store.count(filter);
        List<JobViews.JobSummary> items = new ArrayList<>();
        for (JobStore.Row row : store.page(filter, by, descending, (long) p * n, n)) {
            items.add(summary(row, caller));
        }
        return new JobViews.JobPage(items, p, n, total, (int) ((total + n - 1) / n));
    }

    private static Set<String> statuses(List<String> values, String field, List<FieldError> errors) {
        Set<String> statuses = new LinkedHashSet<>();
        if (values == null) {
            return statuses;
        }
        for (String value : values) {
            for (String s : value.split(",")) {
                String status = s.trim().toUpperCase(Locale.ROOT);
                if (status.isEmpty()) {
                    continue;
                }
                if (!STATUSES.contains(status)) {
                    errors.add(new FieldError(field, "unknown status '" + Texts.clean(s.trim(), 50) + "'; one of "
                            + String.join(", ", STATUSES)));
                } else {
                    statuses.add(status);
                }
            }
        }
        return statuses;
    }

    /** A row as the list shows it; a job that runs (or just ended) is looked up in the runner. */
    JobViews.JobSummary summary(JobStore.Row row, Caller caller) {
        String status = row.status();
        Double percent = "COMPLETED".equals(status) ? 100.0 : null;
        String error = row.error();
        if (ACTIVE.contains(status) || watch.containsKey(row.id())) {
            RunState state = runner.state(row.id());
            status = effective(row, state);
            if (ACTIVE.contains(status) || "COMPLETED".equals(status)) {
                percent = percent(state.bytesDone(), state.bytesTotal(), "COMPLETED".equals(status));
            }
            if (!ACTIVE.contains(status) && state.error() != null) {
                error = Texts.clean(state.error(), 1000);
            }
        }
        return new JobViews.JobSummary(row.id(), row.name(), row.operation(), status, row.createdAt(),
                row.updatedAt(), percent, ACTIVE.contains(status) ? null : error,
                JobStatus.of(status).actions(caller.operator()), JobViews.Links.of(row.id()));
    }

    /** The jobs that run now (STARTING, STARTED, STOPPING), newest first, as the list shows them. */
    public List<JobViews.JobSummary> running(Caller caller) {
        List<JobViews.JobSummary> out = new ArrayList<>();
        for (JobStore.Row row : store.page(new JobStore.Filter(ACTIVE, null), JobStore.Sort.CREATED, true, 0, 100)) {
            out.add(summary(row, caller));
        }
        return out;
    }

    /** How many jobs have each status, every status named (0 where none). */
    public Map<String, Integer> countByStatus() {
        Map<String, Integer> stored = store.countByStatus();
        Map<String, Integer> counts = new LinkedHashMap<>();
        for (JobStatus status : JobStatus.values()) {
            counts.put(status.name(), stored.getOrDefault(status.name(), 0));
        }
        return counts;
    }

    // ---- bulk ----------------------------------------------------------------------------------------

    static final int MAX_BULK = 500;

    /**
     * Restarts many jobs: those named, or every job of {@code status} (FAILED or STOPPED), oldest first.
     * Each goes through {@link #restart(String)}; one that cannot (a conflict, a full queue) is reported and
     * the rest go on, except that a full queue stops the batch (the rest would be refused too).
     */
    public JobViews.BulkResult restartAll(List<String> ids, String status) {
        List<String> targets = new ArrayList<>();
        if ((ids == null || ids.isEmpty()) == (status == null || status.isBlank())) {
            throw ApiException.invalid("ids", "give either ids (1 to " + MAX_BULK + " job ids) or status "
                    + "(FAILED or STOPPED), not both");
        }
        if (ids != null && !ids.isEmpty()) {
            if (ids.size() > MAX_BULK) {
                throw ApiException.invalid("ids", "must hold at most " + MAX_BULK + " job ids");
            }
            for (int i = 0; i < ids.size(); i++) {
                String id = ids.get(i);
                if (id == null || id.isBlank()) {
                    throw ApiException.invalid("ids[" + i + "]", "must be a job id");
                }
                if (!targets.contains(id)) {
                    targets.add(id);
                }
            }
        } else {
            String s = status.strip().toUpperCase(Locale.ROOT);
            if (!RESTARTABLE.contains(s)) {
                throw ApiException.invalid("status", "must be FAILED or STOPPED (the statuses a job restarts from)");
            }
            for (JobStore.Row row : store.page(new JobStore.Filter(List.of(s), null), JobStore.Sort.CREATED, false, 0,
                    MAX_BULK)) {
                targets.add(row.id());
            }
        }
        List<JobViews.BulkItem> results = new ArrayList<>();
        int restarted = 0;
        boolean full = false;
        for (String id : targets) {
            if (full) {
                results.add(new JobViews.BulkItem(id, false, 429, "not tried: the queue is full"));
                continue;
            }
            try {
                JobViews.JobView view = restart(id);
                results.add(new JobViews.BulkItem(id, true, 202, view.status()));
                restarted++;
            } catch (ApiException e) {
                full = e.status().value() == 429;
                results.add(new JobViews.BulkItem(id, false, e.status().value(), e.getMessage()));
            }
        }
        return new JobViews.BulkResult(targets.size(), restarted, targets.size() - restarted, results);
    }

    // ---- output --------------------------------------------------------------------------------------

    /** The job's output directory, as resolved at submission. */
    public Path outputDir(String id) {
        return Path.of(readSpec(require(id)).definition().outputPath());
    }

    public JobViews.OutputListing output(String id) {
        Path dir = outputDir(id);
        Listing listing = list(dir, MAX_LIST_FILES);
        long bytes = listing.files().stream().mapToLong(JobViews.FileView::size).sum();
        return new JobViews.OutputListing(id, dir.toString(), listing.exists(), listing.files().size(), bytes,
                listing.files());
    }

    record Listing(boolean exists, List<JobViews.FileView> files, boolean truncated) {
    }

    /** The regular files under {@code dir} (links not followed), by name; at most {@code max}. */
    static Listing list(Path dir, int max) {
        if (!Files.isDirectory(dir, LinkOption.NOFOLLOW_LINKS)) {
            return new Listing(false, List.of(), false);
        }
        List<JobViews.FileView> files = new ArrayList<>();
        boolean[] more = {false};
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (!attrs.isRegularFile()) {
                        return FileVisitResult.CONTINUE;
                    }
                    if (files.size() >= max) {
                        more[0] = true;
                        return FileVisitResult.TERMINATE;
                    }
                    files.add(new JobViews.FileView(slashed(dir.relativize(file)), attrs.size()));
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            log.warn("cannot list {}: {}", dir, e.toString());
        }
        files.sort(Comparator.comparing(JobViews.FileView::name));
        return new Listing(true, files, more[0]);
    }

    static String slashed(Path relative) {
        StringBuilder sb = new StringBuilder();
        for (Path part : relative) {
            if (!sb.isEmpty()) {
                sb.append('/');
            }
            sb.append(part);
        }
        return sb.toString();
    }

    /** Whether a job of this status may still change by itself (the events stream goes on). */
    static boolean ended(String status) {
        return !QUEUED.equals(status) && !ACTIVE.contains(status);
    }

    public Map<String, io.ringbatch.operation.Operation> operations() {
        return validator.operations();
    }
}
