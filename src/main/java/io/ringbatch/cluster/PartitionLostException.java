package io.ringbatch.cluster;

/** A partition was lost {@code ringbatch.cluster.max-attempts} times in one job execution: the job fails. */
public class PartitionLostException extends RuntimeException {
    public PartitionLostException(String message) {
        super(message);
    }
}
