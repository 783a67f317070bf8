package io.ringbatch.cluster;

/** {@code ringbatch.role=worker} without the cluster transport: a worker would have nothing to run. */
public class WorkerNeedsPostgresException extends IllegalStateException {
    public WorkerNeedsPostgresException(String message) {
        super(message);
    }
}
