package io.ringbatch.api;

import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.JobRunnerException;
import io.ringbatch.batch.RunState;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;

/**
 * Steering: stop, restart, abandon, and restart for many jobs. What each status allows is
 * {@link JobStatus}'s to say (the views offer the same); anything else is a 409.
 * <ul>
 *   <li>stop: a running job is asked to stop at its next commit (it ends STOPPED); a QUEUED job is taken
 *       out of the queue without running (it becomes STOPPED, or returns to the STOPPED or FAILED it was
 *       re-queued from), and can be restarted.</li>
 *   <li>restart: a STOPPED or FAILED job goes to the end of the queue (it starts at once if a slot is
 *       free), continuing where it stopped, or from the beginning if it never ran; 429 when the queue is
 *       full.</li>
 *   <li>abandon: a STOPPED, FAILED, QUEUED or UNKNOWN job becomes ABANDONED and never runs again.</li>
 * </ul>
 */
@Service
public class JobCommands {
    private static final Logger log = LoggerFactory.getLogger(JobCommands.class);
    static final int MAX_BULK = 500;

    private final JobStore store;
    private final JobRunner runner;
    private final JobDispatcher dispatcher;
    private final JobAdmission admission;
    private final JobIds ids;
    private final JobQueries queries;
    private final Clock clock;

    JobCommands(JobStore store, JobRunner runner, JobDispatcher dispatcher, JobAdmission admission, JobIds ids,
                JobQueries queries, Clock clock) {
        this.store = store;
        this.runner = runner;
        this.dispatcher = dispatcher;
        this.admission = admission;
        this.ids = ids;
        this.queries = queries;
        this.clock = clock;
    }

    public JobViews.JobView stop(String id) {
        dispatcher.exclusively(() -> {
            JobStore.Row row = queries.require(id);
            RunState state = runner.state(id);
            JobStatus status = JobQueries.effective(row, state);
            if (!status.stoppable()) {
                throw ApiException.conflict("job " + id + " is " + status + "; only a queued or running job can be "
                        + "stopped");
            }
            if (status == JobStatus.QUEUED) {
                String back = state.status() == null ? JobStatus.STOPPED.name() : state.status();
                store.setStatus(id, JobStatus.QUEUED.name(), back, state.status() == null ? null : row.error(),
                        Instant.now(clock));
                log.info("job {} taken out of the queue ({})", id, back);
            } else {
                steer(id, "stop", () -> runner.stop(id));
                RunState after = runner.state(id);
                if (after.status() != null) {
                    store.setStatus(id, null, after.status(), null, Instant.now(clock));
                }
                log.info("job {} asked to stop", id);
            }
            return null;
        });
        return queries.view(id, Caller.OPERATOR);
    }

    public JobViews.JobView restart(String id) {
        dispatcher.exclusively(() -> {
            JobStatus status = JobQueries.effective(queries.require(id), runner.state(id));
            if (!status.restartable()) {
                throw ApiException.conflict("job " + id + " is " + status + "; only a stopped or failed job can be "
                        + "restarted");
            }
            admission.admit();
            store.requeue(id, ids.next(), Instant.now(clock));
            log.info("job {} queued for a restart", id);
            Exception failure = dispatcher.dispatch().get(id);
            if (failure instanceof JobRunnerException e && e.conflict()) {
                throw ApiException.conflict(Texts.clean(e.getMessage(), 1000));
            }
            if (failure != null) {
                throw new ApiException(HttpStatus.INTERNAL_SERVER_ERROR, "job " + id + " could not be restarted; "
                        + "see its error and the service log");
            }
            return null;
        });
        return queries.view(id, Caller.OPERATOR);
    }

    public JobViews.JobView abandon(String id) {
        dispatcher.exclusively(() -> {
            JobStore.Row row = queries.require(id);
            RunState state = runner.state(id);
            JobStatus status = JobQueries.effective(row, state);
            if (status.active()) {
                throw ApiException.conflict("job " + id + " is " + status + "; stop it before abandoning it");
            }
            if (!status.abandonable()) {
                throw ApiException.conflict("job " + id + " is " + status + "; it cannot be abandoned");
            }
            if (state.status() != null) {
                steer(id, "abandon", () -> runner.abandon(id));
            }
            store.setStatus(id, null, JobStatus.ABANDONED.name(), row.error(), Instant.now(clock));
            log.info("job {} abandoned", id);
            return null;
        });
        return queries.view(id, Caller.OPERATOR);
    }

    private interface Steering {
        void run() throws JobRunnerException;
    }

    private static void steer(String id, String what, Steering action) {
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
            JobStatus s = JobStatus.parse(status);
            if (s == null || !s.restartable()) {
                throw ApiException.invalid("status", "must be FAILED or STOPPED (the statuses a job restarts from)");
            }
            for (JobStore.Row row : store.page(new JobStore.Filter(List.of(s.name()), null), JobStore.Sort.CREATED,
                    false, 0, MAX_BULK)) {
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
                results.add(new JobViews.BulkItem(id, true, 202, view.status().name()));
                restarted++;
            } catch (ApiException e) {
                full = e.status().value() == 429;
                results.add(new JobViews.BulkItem(id, false, e.status().value(), e.getMessage()));
            }
        }
        return new JobViews.BulkResult(targets.size(), restarted, targets.size() - restarted, results);
    }
}
