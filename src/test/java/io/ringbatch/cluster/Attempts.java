package io.ringbatch.cluster;

import java.io.ByteArrayInputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;
import java.util.stream.Collectors;
import org.springframework.batch.core.repository.dao.DefaultExecutionContextSerializer;

/**
 * The partition attempts of a ringbatch job as the job repository holds them, read with plain SQL by the
 * test (not through the service): every row of {@code BATCH_STEP_EXECUTION} of a worker step
 * ({@code work:<partition>}) in the job's executions, with its execution context. One partition run again
 * inside the same job execution has one row per attempt, under the same step name.
 */
record Attempts(List<Attempt> all) {
    /** One step execution of a partition. */
    record Attempt(long id, long jobExecutionId, String partition, String status, String exitCode, String exitMessage,
                   int version, long readCount, long commitCount, Map<String, Object> context) {
        String worker() {
            return (String) context.get("rb.worker");
        }

        long bytesDone() {
            return number("rb.bytesDone");
        }

        long bytesTotal() {
            return number("rb.bytesTotal");
        }

        private long number(String key) {
            Object v = context.get(key);
            return v instanceof Number n ? n.longValue() : 0;
        }

        boolean running() {
            return status.equals("STARTING") || status.equals("STARTED");
        }

        @Override
        public String toString() {
            return "#" + id + " " + partition + " (job execution " + jobExecutionId + ") " + status + " on " + worker()
                    + ", v" + version + ", " + readCount + " blocks read, bytesDone " + bytesDone() + "/" + bytesTotal()
                    + (exitMessage == null || exitMessage.isEmpty() ? "" : ", exit: "
                    + exitMessage.lines().findFirst().orElse(""));
        }
    }

    private static final String QUERY = """
            SELECT se.STEP_EXECUTION_ID, se.JOB_EXECUTION_ID, se.STEP_NAME, se.STATUS, se.EXIT_CODE, se.EXIT_MESSAGE,
                   se.VERSION, se.READ_COUNT, se.COMMIT_COUNT, c.SHORT_CONTEXT, c.SERIALIZED_CONTEXT
              FROM BATCH_STEP_EXECUTION se
              JOIN BATCH_JOB_EXECUTION_PARAMS p ON p.JOB_EXECUTION_ID = se.JOB_EXECUTION_ID
                   AND p.PARAMETER_NAME = 'jobId' AND p.PARAMETER_VALUE = ?
              LEFT JOIN BATCH_STEP_EXECUTION_CONTEXT c ON c.STEP_EXECUTION_ID = se.STEP_EXECUTION_ID
             WHERE se.STEP_NAME LIKE 'work:%'
             ORDER BY se.STEP_EXECUTION_ID""";

    private static final DefaultExecutionContextSerializer SERIALIZER = new DefaultExecutionContextSerializer();

    /** Reads the job's attempts now. */
    static Attempts read(Supplier<Connection> connections, String jobId) throws SQLException {
        try (Connection c = connections.get(); PreparedStatement st = c.prepareStatement(QUERY)) {
            st.setString(1, jobId);
            List<Attempt> rows = new ArrayList<>();
            try (ResultSet rs = st.executeQuery()) {
                while (rs.next()) {
                    String serialized = rs.getString("SERIALIZED_CONTEXT");
                    if (serialized == null) {
                        serialized = rs.getString("SHORT_CONTEXT");
                    }
                    rows.add(new Attempt(rs.getLong(1), rs.getLong(2), rs.getString(3), rs.getString(4), rs.getString(5),
                            rs.getString(6), rs.getInt(7), rs.getLong(8), rs.getLong(9), context(serialized)));
                }
            }
            return new Attempts(rows);
        }
    }

    private static Map<String, Object> context(String serialized) {
        if (serialized == null || serialized.isEmpty()) {
            return Map.of();
        }
        try {
            return SERIALIZER.deserialize(new ByteArrayInputStream(serialized.getBytes(StandardCharsets.UTF_8)));
        } catch (java.io.IOException e) {
            throw new IllegalStateException("an execution context the test cannot read: " + e, e);
        }
    }

    /** The attempts of one partition of one job execution, oldest first. */
    List<Attempt> of(Attempt one) {
        return all.stream().filter(a -> a.jobExecutionId() == one.jobExecutionId() && a.partition().equals(one.partition()))
                .sorted(Comparator.comparingLong(Attempt::id)).toList();
    }

    Attempt byId(long id) {
        return all.stream().filter(a -> a.id() == id).findFirst()
                .orElseThrow(() -> new AssertionError("no step execution " + id + " in " + this));
    }

    /** The instances that ran (or run) an attempt. */
    Set<String> workers() {
        return all.stream().map(Attempt::worker).filter(w -> w != null).collect(Collectors.toCollection(TreeSet::new));
    }

    List<Attempt> running() {
        return all.stream().filter(Attempt::running).toList();
    }

    /** Attempts per partition name over all the job's executions. */
    Map<String, List<Attempt>> byPartition() {
        return all.stream().collect(Collectors.groupingBy(Attempt::partition, LinkedHashMap::new, Collectors.toList()));
    }

    @Override
    public String toString() {
        return all.stream().map(Attempt::toString).collect(Collectors.joining("\n  ", "attempts:\n  ", ""));
    }
}
