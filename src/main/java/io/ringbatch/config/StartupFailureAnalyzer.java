package io.ringbatch.config;

import java.sql.SQLException;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.diagnostics.FailureAnalyzer;

/**
 * Start-up failures an operator can fix, as a report instead of a stack trace: the data dir cannot be
 * used, or the H2 database in it is held by another process. Registered in {@code META-INF/spring.factories}.
 */
public class StartupFailureAnalyzer implements FailureAnalyzer {
    /** H2's DATABASE_ALREADY_OPEN_1: the file is locked by another process. */
    static final int H2_DATABASE_ALREADY_OPEN = 90020;

    @Override
    public FailureAnalysis analyze(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof DataDirectoryException e) {
                return new FailureAnalysis(e.getMessage() + ".",
                        "Point ringbatch.data-dir (RINGBATCH_DATADIR) at a directory this process can create and write; "
                                + "it holds the H2 job repository and the jobs' work directories.", e);
            }
            if (t instanceof SQLException e && e.getErrorCode() == H2_DATABASE_ALREADY_OPEN) {
                return new FailureAnalysis("The H2 job repository is in use by another process (another ringbatch "
                        + "on the same ringbatch.data-dir?): " + firstLine(e.getMessage()) + ".",
                        "Stop the other process, or give this one its own ringbatch.data-dir. Several instances can "
                                + "share one job repository only on PostgreSQL (spring.datasource.url), each with "
                                + "its own data dir.", e);
            }
        }
        return null;
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "locked";
        }
        int nl = message.indexOf('\n');
        String line = nl < 0 ? message : message.substring(0, nl);
        int bracket = line.indexOf(" [");
        return (bracket < 0 ? line : line.substring(0, bracket)).strip();
    }
}
