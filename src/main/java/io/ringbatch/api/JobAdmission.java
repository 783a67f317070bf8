package io.ringbatch.api;

import io.ringbatch.batch.JobRunner;
import io.ringbatch.batch.RunState;
import io.ringbatch.config.RingbatchProperties;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Component;

/**
 * Whether one more job may be queued: at most {@code ringbatch.max-concurrent-jobs} run here and up to
 * {@code ringbatch.queue-capacity} more wait; past that a submission or a restart gets 429 with a
 * Retry-After of when a slot may be free. Called with the dispatcher's lock held, so that the count
 * and the insert that follows are one step.
 */
@Component
class JobAdmission {
    /** Running jobs looked at for Retry-After: the one that ends first is what matters. */
    private static final int ETA_SAMPLE = 100;

    private final JobStore store;
    private final JobRunner runner;
    private final RingbatchProperties properties;
    private final Clock clock;

    JobAdmission(JobStore store, JobRunner runner, RingbatchProperties properties, Clock clock) {
        this.store = store;
        this.runner = runner;
        this.properties = properties;
        this.clock = clock;
    }

    /** 429 unless the job can run now or wait in the queue. Call with the dispatcher's lock held. */
    void admit() {
        int queued = store.count(List.of(JobStatus.QUEUED.name()));
        int active = store.countHere(JobStatus.names(JobStatus.ACTIVE));
        int free = Math.max(0, properties.maxConcurrentJobs() - active);
        if (queued + 1 > properties.queueCapacity() + free) {
            long retry = retryAfterSeconds();
            throw new ApiException(HttpStatus.TOO_MANY_REQUESTS, "the queue is full: " + active + " job(s) running "
                    + "(ringbatch.max-concurrent-jobs=" + properties.maxConcurrentJobs() + ") and " + queued
                    + " waiting (ringbatch.queue-capacity=" + properties.queueCapacity() + "); retry in about "
                    + retry + " s", null, Map.of("Retry-After", Long.toString(retry)));
        }
    }

    /**
     * When a slot may be free: the shortest estimated time left of the running jobs, 1 to 300 s; 10 s
     * when none has an estimate yet. Only each job's progress is computed: no spec, no output listing.
     */
    long retryAfterSeconds() {
        Instant now = Instant.now(clock);
        double best = Double.MAX_VALUE;
        for (JobStore.Row row : store.page(new JobStore.Filter(JobStatus.names(JobStatus.ACTIVE), null),
                JobStore.Sort.CREATED, false, 0, ETA_SAMPLE)) {
            RunState state = runner.state(row.id());
            JobStatus status = JobQueries.effective(row, state);
            Double eta = JobQueries.progress(state, status, JobQueries.runSeconds(state, now)).etaSeconds();
            if (eta != null) {
                best = Math.min(best, eta);
            }
        }
        if (best == Double.MAX_VALUE) {
            return 10;
        }
        return Math.max(1, Math.min(300, (long) Math.ceil(best)));
    }
}
