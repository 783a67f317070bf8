package io.ringbatch.api;

import io.ringbatch.io.FileNames;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.http.HttpStatus;
import org.springframework.stereotype.Service;
import tools.jackson.databind.JsonNode;

/**
 * Submission: validate, confine paths, persist in {@code RB_JOB} as QUEUED, and start it if a slot is
 * free. Refused with 400 when another job that has not completed writes to the same output, and with 429
 * when the queue is full ({@link JobAdmission}).
 * <p>
 * <b>Idempotency.</b> A submission with an {@code Idempotency-Key} that was already used with the same
 * body returns the job it made (200 instead of 202, nothing new runs); with a different body it is
 * refused (422). Keys are kept with the job, for as long as the job is.
 */
@Service
public class JobSubmissions {
    private static final Logger log = LoggerFactory.getLogger(JobSubmissions.class);
    private static final Pattern KEY = Pattern.compile("[\\x21-\\x7E]([\\x20-\\x7E]{0,198}[\\x21-\\x7E])?");

    private final JobStore store;
    private final JobSpecValidator validator;
    private final JobDispatcher dispatcher;
    private final JobAdmission admission;
    private final JobIds ids;
    private final JobQueries queries;
    private final Clock clock;

    JobSubmissions(JobStore store, JobSpecValidator validator, JobDispatcher dispatcher, JobAdmission admission,
                   JobIds ids, JobQueries queries, Clock clock) {
        this.store = store;
        this.validator = validator;
        this.dispatcher = dispatcher;
        this.admission = admission;
        this.ids = ids;
        this.queries = queries;
        this.clock = clock;
    }

    /** A submission's answer: the job, and whether this request made it (false: an idempotent replay). */
    public record Submission(JobViews.JobView job, boolean created) {
    }

    public Submission submit(JobRequest request, String idempotencyKey) {
        if (idempotencyKey != null && !KEY.matcher(idempotencyKey).matches()) {
            throw ApiException.invalid("Idempotency-Key", "must be 1 to 200 printable ASCII characters");
        }
        JsonNode submitted = StoredSpec.tree(request);
        Optional<Submission> replay = replay(idempotencyKey, submitted);
        if (replay.isPresent()) {
            return replay.get();
        }
        String id = ids.next();
        JobSpecValidator.Resolved resolved = validator.validate(request, id);
        JobViews.Definition definition = new JobViews.Definition(resolved.operation(), resolved.params(),
                resolved.inputRoot().toString(), resolved.include(), resolved.exclude(),
                resolved.outputPath().toString(), resolved.skipUnreadable());
        String spec = new StoredSpec(submitted, definition).json();
        Optional<Submission> raced = dispatcher.exclusively(() -> {
            // the key may have been used while this request was validated
            Optional<Submission> again = replay(idempotencyKey, submitted);
            if (again.isPresent()) {
                return again;
            }
            Optional<String> claimed = store.outputClaimedBy(definition.outputPath(),
                    JobStatus.names(JobStatus.CLAIMING));
            if (claimed.isPresent()) {
                throw ApiException.invalid("output.path", "is already the output of job " + claimed.get()
                        + ", which has not completed");
            }
            admission.admit();
            Instant now = Instant.now(clock);
            try {
                store.insert(new JobStore.Row(id, resolved.name(), resolved.operation(), JobStatus.QUEUED.name(),
                        ids.next(), definition.outputPath(), idempotencyKey, null, now, now, spec, null));
            } catch (DuplicateKeyException e) {
                // another process took the key in the meantime
                return Optional.of(replay(store.findByIdempotencyKey(idempotencyKey).orElseThrow(() -> e), submitted,
                        idempotencyKey));
            }
            log.info("job {} submitted: {} of {} into {}", id, resolved.operation(),
                    FileNames.inMessage(resolved.inputRoot()), FileNames.inMessage(resolved.outputPath()));
            dispatcher.dispatch();
            return Optional.empty();
        });
        return raced.orElseGet(() -> new Submission(queries.view(id, Caller.OPERATOR), true));
    }

    /** The job this key made, if it was used before (and for the same request). */
    private Optional<Submission> replay(String key, JsonNode submitted) {
        if (key == null) {
            return Optional.empty();
        }
        return store.findByIdempotencyKey(key).map(existing -> replay(existing, submitted, key));
    }

    private Submission replay(JobStore.Row existing, JsonNode submitted, String key) {
        JsonNode before = StoredSpec.of(store, existing).request();
        if (!submitted.equals(before)) {
            throw new ApiException(HttpStatus.UNPROCESSABLE_CONTENT, "Idempotency-Key '" + key
                    + "' was used for a different request (job " + existing.id() + "); use a new key for a new job",
                    List.of(new FieldError("Idempotency-Key", "was used for a different request")), null);
        }
        return new Submission(queries.view(existing.id(), Caller.OPERATOR), false);
    }
}
