package io.ringbatch.api;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.sql.DataSource;
import org.springframework.core.io.ClassPathResource;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.jdbc.datasource.init.ResourceDatabasePopulator;
import org.springframework.stereotype.Repository;

/**
 * The {@code RB_JOB} table (see {@code db/ringbatch-jobs.sql}): one row per submitted job, with the
 * submitted spec, the status last seen and the queue order. Plain JDBC, portable SQL; the schema
 * script runs when this bean is created, so it exists before the job service reads it.
 */
@Repository
public class JobStore {
    static final String SCHEMA = "db/ringbatch-jobs.sql";
    private static final String SUMMARY_COLUMNS = "ID, NAME, OPERATION, STATUS, QUEUE_ORDER, OUTPUT_PATH, "
            + "IDEMPOTENCY_KEY, ERROR, CREATED_AT, UPDATED_AT";
    private static final String ALL_COLUMNS = SUMMARY_COLUMNS + ", SPEC";

    private final JdbcTemplate jdbc;

    public JobStore(DataSource dataSource) {
        ResourceDatabasePopulator schema = new ResourceDatabasePopulator(new ClassPathResource(SCHEMA));
        schema.setSqlScriptEncoding("UTF-8");
        schema.execute(dataSource);
        this.jdbc = new JdbcTemplate(dataSource);
    }

    /** One row. {@code spec} is null when read for a list. */
    public record Row(String id, String name, String operation, String status, String queueOrder, String outputPath,
                      String idempotencyKey, String error, Instant createdAt, Instant updatedAt, String spec) {
    }

    private static final RowMapper<Row> SUMMARY = (rs, n) -> row(rs, false);
    private static final RowMapper<Row> FULL = (rs, n) -> row(rs, true);

    private static Row row(ResultSet rs, boolean spec) throws SQLException {
        return new Row(rs.getString("ID"), rs.getString("NAME"), rs.getString("OPERATION"), rs.getString("STATUS"),
                rs.getString("QUEUE_ORDER"), rs.getString("OUTPUT_PATH"), rs.getString("IDEMPOTENCY_KEY"),
                rs.getString("ERROR"), instant(rs, "CREATED_AT"), instant(rs, "UPDATED_AT"),
                spec ? rs.getString("SPEC") : null);
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime t = rs.getObject(column, OffsetDateTime.class);
        return t == null ? null : t.toInstant();
    }

    private static OffsetDateTime at(Instant instant) {
        return instant.atOffset(ZoneOffset.UTC);
    }

    /** @throws org.springframework.dao.DuplicateKeyException when the idempotency key is taken */
    public void insert(Row row) {
        jdbc.update("INSERT INTO RB_JOB (ID, NAME, OPERATION, STATUS, QUEUE_ORDER, SPEC, OUTPUT_PATH, IDEMPOTENCY_KEY,"
                        + " ERROR, CREATED_AT, UPDATED_AT) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                row.id(), row.name(), row.operation(), row.status(), row.queueOrder(), row.spec(), row.outputPath(),
                row.idempotencyKey(), row.error(), at(row.createdAt()), at(row.updatedAt()));
    }

    public Optional<Row> find(String id) {
        return jdbc.query("SELECT " + ALL_COLUMNS + " FROM RB_JOB WHERE ID = ?", FULL, id).stream().findFirst();
    }

    public Optional<Row> findByIdempotencyKey(String key) {
        return jdbc.query("SELECT " + ALL_COLUMNS + " FROM RB_JOB WHERE IDEMPOTENCY_KEY = ?", FULL, key).stream()
                .findFirst();
    }

    public int count(Collection<String> statuses) {
        if (statuses == null || statuses.isEmpty()) {
            Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM RB_JOB", Integer.class);
            return n == null ? 0 : n;
        }
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM RB_JOB WHERE STATUS IN (" + marks(statuses.size()) + ")",
                Integer.class, statuses.toArray());
        return n == null ? 0 : n;
    }

    /** A page of jobs, newest first; all statuses when {@code statuses} is empty. */
    public List<Row> page(Collection<String> statuses, long offset, int limit) {
        if (statuses == null || statuses.isEmpty()) {
            return jdbc.query("SELECT " + SUMMARY_COLUMNS + " FROM RB_JOB ORDER BY ID DESC OFFSET ? ROWS FETCH FIRST ? "
                    + "ROWS ONLY", SUMMARY, offset, limit);
        }
        if (statuses.size() == 1) {
            // ordered as the (STATUS, ID) index is: read backwards, no sort
            return jdbc.query("SELECT " + SUMMARY_COLUMNS + " FROM RB_JOB WHERE STATUS = ? ORDER BY STATUS DESC, ID DESC"
                    + " OFFSET ? ROWS FETCH FIRST ? ROWS ONLY", SUMMARY, statuses.iterator().next(), offset, limit);
        }
        Object[] args = new Object[statuses.size() + 2];
        int i = 0;
        for (String s : statuses) {
            args[i++] = s;
        }
        args[i++] = offset;
        args[i] = limit;
        return jdbc.query("SELECT " + SUMMARY_COLUMNS + " FROM RB_JOB WHERE STATUS IN (" + marks(statuses.size())
                + ") ORDER BY ID DESC OFFSET ? ROWS FETCH FIRST ? ROWS ONLY", SUMMARY, args);
    }

    /** Jobs of these statuses, in queue order, with their specs. */
    public List<Row> withStatus(Collection<String> statuses, int limit) {
        Object[] args = new Object[statuses.size() + 1];
        int i = 0;
        for (String s : statuses) {
            args[i++] = s;
        }
        args[i] = limit;
        return jdbc.query("SELECT " + ALL_COLUMNS + " FROM RB_JOB WHERE STATUS IN (" + marks(statuses.size())
                + ") ORDER BY QUEUE_ORDER FETCH FIRST ? ROWS ONLY", FULL, args);
    }

    /** How many QUEUED jobs come before this queue position. */
    public int queuedBefore(String queueOrder) {
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM RB_JOB WHERE STATUS = 'QUEUED' AND QUEUE_ORDER < ?",
                Integer.class, queueOrder);
        return n == null ? 0 : n;
    }

    /** A job of one of these statuses whose output goes to {@code path}, other than {@code exceptId}. */
    public Optional<String> outputClaimedBy(String path, Collection<String> statuses) {
        Object[] args = new Object[statuses.size() + 1];
        int i = 0;
        for (String s : statuses) {
            args[i++] = s;
        }
        args[i] = path;
        return jdbc.queryForList("SELECT ID FROM RB_JOB WHERE STATUS IN (" + marks(statuses.size())
                + ") AND OUTPUT_PATH = ? FETCH FIRST 1 ROWS ONLY", String.class, args).stream().findFirst();
    }

    /**
     * Sets the status (and the error, which may be null) if the row still has {@code expected} (any status
     * when null); returns whether it did.
     */
    public boolean setStatus(String id, String expected, String status, String error, Instant now) {
        if (expected == null) {
            return jdbc.update("UPDATE RB_JOB SET STATUS = ?, ERROR = ?, UPDATED_AT = ? WHERE ID = ?", status,
                    clip(error), at(now), id) == 1;
        }
        return jdbc.update("UPDATE RB_JOB SET STATUS = ?, ERROR = ?, UPDATED_AT = ? WHERE ID = ? AND STATUS = ?", status,
                clip(error), at(now), id, expected) == 1;
    }

    /** Puts the job at the end of the queue. */
    public void requeue(String id, String queueOrder, Instant now) {
        jdbc.update("UPDATE RB_JOB SET STATUS = 'QUEUED', QUEUE_ORDER = ?, ERROR = NULL, UPDATED_AT = ? WHERE ID = ?",
                queueOrder, at(now), id);
    }

    public Optional<String> maxId() {
        return Optional.ofNullable(jdbc.queryForObject("SELECT MAX(ID) FROM RB_JOB", String.class));
    }

    JdbcTemplate jdbc() {
        return jdbc;
    }

    private static String clip(String error) {
        return error == null || error.length() <= 4000 ? error : error.substring(0, 3997) + "...";
    }

    private static String marks(int n) {
        return String.join(", ", java.util.Collections.nCopies(n, "?"));
    }
}
