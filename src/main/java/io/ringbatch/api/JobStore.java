package io.ringbatch.api;

import io.ringbatch.batch.JobOwnership;
import io.ringbatch.config.RingbatchProperties;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import javax.sql.DataSource;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.jdbc.core.ConnectionCallback;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.jdbc.core.RowCallbackHandler;
import org.springframework.jdbc.core.RowMapper;
import org.springframework.stereotype.Repository;

/**
 * The {@code RB_JOB} table (made by the Flyway migrations under {@code db/migration}): one row per
 * submitted job, with the submitted spec, the status last seen and the queue order. Plain JDBC, portable
 * SQL. Boot makes only its own JDBC beans (JdbcTemplate, JobRepository...) wait for Flyway; this one
 * builds its JdbcTemplate from the DataSource, so it asks to wait: it and every bean that uses it (the
 * job service reads the table at start-up) come after the migrations and Spring Batch's script.
 */
@Repository
@DependsOnDatabaseInitialization
public class JobStore implements JobOwnership {
    private static final String SUMMARY_COLUMNS = "ID, NAME, OPERATION, STATUS, QUEUE_ORDER, OUTPUT_PATH, "
            + "IDEMPOTENCY_KEY, ERROR, CREATED_AT, UPDATED_AT, OWNER";
    private static final String ALL_COLUMNS = SUMMARY_COLUMNS + ", SPEC";

    private final JdbcTemplate jdbc;
    private final String instance;
    private final boolean shared;

    public JobStore(DataSource dataSource, RingbatchProperties properties) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.instance = properties.instanceId();
        this.shared = !"H2".equals(jdbc.execute((ConnectionCallback<String>) c -> c.getMetaData().getDatabaseProductName()));
    }

    /** One row. {@code spec} is null when read for a list; {@code owner} is null until it first runs. */
    public record Row(String id, String name, String operation, String status, String queueOrder, String outputPath,
                      String idempotencyKey, String error, Instant createdAt, Instant updatedAt, String spec,
                      String owner) {
    }

    /**
     * Whether other instances may share the table: any database but H2, whose file one process holds. Only
     * then does a job's owner matter.
     */
    public boolean shared() {
        return shared;
    }

    /** This instance's name ({@code ringbatch.instance-id}). */
    public String instance() {
        return instance;
    }

    /**
     * Whether this instance may run the job: it never ran, or it ran here (its work directory is here), or
     * nobody else can share the table.
     */
    @Override
    public boolean runsHere(String jobId) {
        if (!shared) {
            return true;
        }
        List<String> owner = jdbc.queryForList("SELECT OWNER FROM RB_JOB WHERE ID = ?", String.class, jobId);
        return owner.isEmpty() || owner.get(0) == null || owner.get(0).equals(instance);
    }

    /** QUEUED -> STARTING, owned by this instance, if it still waits and may run here; whether it did. */
    public boolean claim(String id, Instant now) {
        return jdbc.update("UPDATE RB_JOB SET STATUS = 'STARTING', OWNER = ?, ERROR = NULL, UPDATED_AT = ? WHERE ID = ?"
                + " AND STATUS = 'QUEUED' AND (OWNER IS NULL OR OWNER = ? OR ?)", instance, at(now), id, instance,
                !shared) == 1;
    }

    /** The queued job to start next here: the first in queue order that never ran or ran here. */
    public Optional<Row> nextQueued() {
        return jdbc.query("SELECT " + ALL_COLUMNS + " FROM RB_JOB WHERE STATUS = 'QUEUED' AND (OWNER IS NULL OR OWNER = ?"
                + " OR ?) ORDER BY QUEUE_ORDER FETCH FIRST 1 ROWS ONLY", FULL, instance, !shared).stream().findFirst();
    }

    /** Jobs of these statuses that this instance runs (all of them when the table is not shared). */
    public int countHere(Collection<String> statuses) {
        if (!shared) {
            return count(statuses);
        }
        List<Object> args = new ArrayList<>(statuses);
        args.add(instance);
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM RB_JOB WHERE STATUS IN (" + marks(statuses.size())
                + ") AND OWNER = ?", Integer.class, args.toArray());
        return n == null ? 0 : n;
    }

    private static final RowMapper<Row> SUMMARY = (rs, n) -> row(rs, false);
    private static final RowMapper<Row> FULL = (rs, n) -> row(rs, true);

    private static Row row(ResultSet rs, boolean spec) throws SQLException {
        return new Row(rs.getString("ID"), rs.getString("NAME"), rs.getString("OPERATION"), rs.getString("STATUS"),
                rs.getString("QUEUE_ORDER"), rs.getString("OUTPUT_PATH"), rs.getString("IDEMPOTENCY_KEY"),
                rs.getString("ERROR"), instant(rs, "CREATED_AT"), instant(rs, "UPDATED_AT"),
                spec ? rs.getString("SPEC") : null, rs.getString("OWNER"));
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

    /** How the list may be ordered: a column, and for ties the newest first. */
    public enum Sort {
        CREATED("ID"), UPDATED("UPDATED_AT"), NAME("NAME"), OPERATION("OPERATION"), STATUS("STATUS");

        final String column;

        Sort(String column) {
            this.column = column;
        }
    }

    /** What a list asks for: statuses (none: all), a text to find in the id, name or operation (or null). */
    public record Filter(Collection<String> statuses, String text) {
        boolean none() {
            return (statuses == null || statuses.isEmpty()) && (text == null || text.isEmpty());
        }
    }

    public int count(Collection<String> statuses) {
        return count(new Filter(statuses, null));
    }

    public int count(Filter filter) {
        List<Object> args = new ArrayList<>();
        Integer n = jdbc.queryForObject("SELECT COUNT(*) FROM RB_JOB" + where(filter, args), Integer.class,
                args.toArray());
        return n == null ? 0 : n;
    }

    /** How many jobs have each status (statuses without jobs are left out). */
    public Map<String, Integer> countByStatus() {
        Map<String, Integer> counts = new TreeMap<>();
        jdbc.query("SELECT STATUS, COUNT(*) AS N FROM RB_JOB GROUP BY STATUS",
                (RowCallbackHandler) rs -> counts.put(rs.getString("STATUS"), rs.getInt("N")));
        return counts;
    }

    /** A page of jobs, newest first; all statuses when {@code statuses} is empty. */
    public List<Row> page(Collection<String> statuses, long offset, int limit) {
        return page(new Filter(statuses, null), Sort.CREATED, true, offset, limit);
    }

    /**
     * A page of jobs. Newest first by status is what the (STATUS, ID) index gives without a sort; a search
     * or another order sorts the rows that match (a few milliseconds for 10,000 jobs).
     */
    public List<Row> page(Filter filter, Sort sort, boolean descending, long offset, int limit) {
        List<Object> args = new ArrayList<>();
        String where = where(filter, args);
        String order;
        if (sort == Sort.CREATED && descending && filter.text() == null && filter.statuses() != null
                && filter.statuses().size() == 1) {
            order = "STATUS DESC, ID DESC"; // as the (STATUS, ID) index is: read backwards, no sort
        } else if (sort == Sort.CREATED) {
            order = descending ? "ID DESC" : "ID";
        } else {
            order = sort.column + (descending ? " DESC" : "") + ", ID DESC";
        }
        args.add(offset);
        args.add(limit);
        return jdbc.query("SELECT " + SUMMARY_COLUMNS + " FROM RB_JOB" + where + " ORDER BY " + order
                + " OFFSET ? ROWS FETCH FIRST ? ROWS ONLY", SUMMARY, args.toArray());
    }

    private static String where(Filter filter, List<Object> args) {
        if (filter == null || filter.none()) {
            return "";
        }
        List<String> terms = new ArrayList<>();
        if (filter.statuses() != null && !filter.statuses().isEmpty()) {
            terms.add(filter.statuses().size() == 1 ? "STATUS = ?" : "STATUS IN (" + marks(filter.statuses().size()) + ")");
            args.addAll(filter.statuses());
        }
        if (filter.text() != null && !filter.text().isEmpty()) {
            String like = "%" + escapeLike(filter.text().toLowerCase(Locale.ROOT)) + "%";
            terms.add("(LOWER(NAME) LIKE ? ESCAPE '\\' OR LOWER(OPERATION) LIKE ? ESCAPE '\\' "
                    + "OR LOWER(ID) LIKE ? ESCAPE '\\')");
            args.add(like);
            args.add(like);
            args.add(like);
        }
        return " WHERE " + String.join(" AND ", terms);
    }

    /** The text as a LIKE pattern that matches it literally ({@code \} escapes). */
    static String escapeLike(String text) {
        StringBuilder out = new StringBuilder(text.length() + 8);
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '%' || c == '_' || c == '\\') {
                out.append('\\');
            }
            out.append(c);
        }
        return out.toString();
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
