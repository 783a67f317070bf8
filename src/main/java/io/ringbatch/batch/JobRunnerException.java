package io.ringbatch.batch;

/** A steering request the job's state does not allow (the API answers 409), or a failure to launch. */
public class JobRunnerException extends Exception {
    private final boolean conflict;

    public JobRunnerException(String message, boolean conflict) {
        super(message);
        this.conflict = conflict;
    }

    public JobRunnerException(String message, Throwable cause) {
        super(message, cause);
        this.conflict = false;
    }

    /** True when the job's state forbids the request (409); false for an internal failure. */
    public boolean conflict() {
        return conflict;
    }
}
