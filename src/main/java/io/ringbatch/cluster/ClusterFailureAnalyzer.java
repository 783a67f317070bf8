package io.ringbatch.cluster;

import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;

/** A worker started without PostgreSQL, as a report instead of a stack trace ({@code META-INF/spring.factories}). */
public class ClusterFailureAnalyzer implements FailureAnalyzer {
    @Override
    public FailureAnalysis analyze(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof WorkerNeedsPostgresException e) {
                return new FailureAnalysis(e.getMessage(),
                        "A worker runs the partitions of jobs that other instances manage, which reach it through "
                                + "the job repository's PostgreSQL: set spring.datasource.url (and username, password) "
                                + "to the PostgreSQL the other instances use and leave ringbatch.cluster.enabled unset "
                                + "(or true); or start this instance with ringbatch.role=combined.", e);
            }
        }
        return null;
    }
}
