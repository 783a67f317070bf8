package io.ringbatch.cluster;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * Partition leases. An instance that runs a partition attempt holds, for the attempt's whole life, a
 * PostgreSQL advisory lock keyed by the attempt's step execution id on a connection of its own that
 * stays idle (a session busy in a query would keep its locks until the query ends), and a row in
 * {@code RB_LEASE} that it renews every heartbeat. The lock goes with the session when the process dies
 * (kill -9, a lost node once TCP keepalive gives up); the renewal stops when the process is paused
 * (SIGSTOP), whose session keeps its locks. An attempt is alive while both hold.
 */
public class Leases {
    /** Opens a connection of its own for one lease (not from the pool: a lease holds it for a whole partition). */
    @FunctionalInterface
    public interface Connections {
        Connection open() throws SQLException;
    }

    /** The first key of ringbatch's advisory locks ("RB"); the second is the step execution id. */
    static final int LOCK_CLASS = 0x5242;
    private static final Logger log = LoggerFactory.getLogger(Leases.class);

    private final Connections connections;
    private final JdbcTemplate jdbc;
    private final String instanceId;

    /**
     * @param connections where each lease's own connection comes from: unpooled in the application, so that
     *                    {@code ringbatch.workers} running partitions never starve the pool of the connections
     *                    their chunks commit on
     */
    public Leases(DataSource dataSource, Connections connections, String instanceId) {
        this.connections = connections;
        this.jdbc = new JdbcTemplate(dataSource);
        this.instanceId = instanceId;
    }

    /** Leases on connections of the pool (tests). */
    public Leases(DataSource dataSource, String instanceId) {
        this(dataSource, dataSource::getConnection, instanceId);
    }

    /** The advisory lock's second key for a step execution (ids wrap at 2^32, far beyond any repository). */
    static int lockKey(long stepExecutionId) {
        return (int) stepExecutionId;
    }

    /**
     * Takes the lease of an attempt: the lock (on a connection of its own) and the row. Null when the lock
     * is held by another session (the same request delivered twice).
     */
    public Lease take(long stepExecutionId, long jobExecutionId) throws SQLException {
        Connection c = connections.open();
        boolean ok = false;
        try {
            c.setAutoCommit(true);
            try (PreparedStatement ps = c.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
                ps.setInt(1, LOCK_CLASS);
                ps.setInt(2, lockKey(stepExecutionId));
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    if (!rs.getBoolean(1)) {
                        return null;
                    }
                }
            }
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO RB_LEASE (STEP_EXECUTION_ID, JOB_EXECUTION_ID,"
                    + " INSTANCE_ID, TAKEN_AT, RENEWED_AT) VALUES (?, ?, ?, now(), now()) ON CONFLICT (STEP_EXECUTION_ID)"
                    + " DO UPDATE SET INSTANCE_ID = EXCLUDED.INSTANCE_ID, TAKEN_AT = now(), RENEWED_AT = now()")) {
                ps.setLong(1, stepExecutionId);
                ps.setLong(2, jobExecutionId);
                ps.setString(3, instanceId);
                ps.executeUpdate();
            }
            ok = true;
            return new Lease(c, stepExecutionId);
        } finally {
            if (!ok) {
                unlockAndClose(c, stepExecutionId);
            }
        }
    }

    /** Renews the leases of this instance (one statement, every heartbeat). */
    public void renew() {
        jdbc.update("UPDATE RB_LEASE SET RENEWED_AT = now() WHERE INSTANCE_ID = ?", instanceId);
    }

    /** What the manager knows of the leases of one job execution. */
    public record Holder(String instanceId, Duration sinceRenewal, boolean locked) {
    }

    /** The leases of a job execution's attempts, by step execution id, with whether their lock is held. */
    public Map<Long, Holder> holders(long jobExecutionId) {
        Set<Long> locked = new HashSet<>(jdbc.queryForList("SELECT objid::bigint FROM pg_locks WHERE locktype = 'advisory'"
                + " AND classid = ? AND objsubid = 2 AND granted", Long.class, LOCK_CLASS));
        Map<Long, Holder> out = new HashMap<>();
        jdbc.query("SELECT STEP_EXECUTION_ID, INSTANCE_ID, EXTRACT(EPOCH FROM (now() - RENEWED_AT)) * 1000"
                + " FROM RB_LEASE WHERE JOB_EXECUTION_ID = ?", rs -> {
            long id = rs.getLong(1);
            out.put(id, new Holder(rs.getString(2), Duration.ofMillis(Math.max(0, rs.getLong(3))),
                    locked.contains(Integer.toUnsignedLong(lockKey(id)))));
        }, jobExecutionId);
        return out;
    }

    /** Forgets the lease row of an attempt that was found lost (its holder, if it comes back, is fenced). */
    public void drop(long stepExecutionId) {
        jdbc.update("DELETE FROM RB_LEASE WHERE STEP_EXECUTION_ID = ?", stepExecutionId);
    }

    private static void unlockAndClose(Connection c, long stepExecutionId) {
        boolean unlocked = false;
        try (PreparedStatement ps = c.prepareStatement("SELECT pg_advisory_unlock_all()")) {
            ps.execute();
            unlocked = true;
        } catch (SQLException e) {
            log.debug("could not release the lease of step execution {}: {}", stepExecutionId, e.getMessage());
        }
        try {
            if (!unlocked) {
                // never give the pool a session that may still hold the lock: end it
                c.abort(Runnable::run);
            }
            c.close();
        } catch (SQLException e) {
            log.debug("could not close the lease connection of step execution {}: {}", stepExecutionId, e.getMessage());
        }
    }

    /** A held lease; {@link #close} frees it. */
    public final class Lease implements AutoCloseable {
        private final Connection connection;
        private final long stepExecutionId;
        private boolean closed;

        private Lease(Connection connection, long stepExecutionId) {
            this.connection = connection;
            this.stepExecutionId = stepExecutionId;
        }

        @Override
        public synchronized void close() {
            if (closed) {
                return;
            }
            closed = true;
            try (PreparedStatement ps = connection.prepareStatement(
                    "DELETE FROM RB_LEASE WHERE STEP_EXECUTION_ID = ? AND INSTANCE_ID = ?")) {
                ps.setLong(1, stepExecutionId);
                ps.setString(2, instanceId);
                ps.executeUpdate();
            } catch (SQLException e) {
                log.debug("could not delete the lease row of step execution {}: {}", stepExecutionId, e.getMessage());
            }
            unlockAndClose(connection, stepExecutionId);
        }
    }
}
