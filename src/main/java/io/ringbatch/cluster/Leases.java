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
    /** Lease connections whose lease ended, each waiting idle, holding no lock, for the next one. */
    private final java.util.concurrent.BlockingDeque<Connection> idle = new java.util.concurrent.LinkedBlockingDeque<>();
    private volatile boolean shutDown;

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
     * Takes the lease of an attempt: the lock and the row, in one statement, on a lease connection of its own
     * (an idle one that an ended lease left, else a new one). Null when the lock is held by another session
     * (the same request delivered twice).
     */
    public Lease take(long stepExecutionId, long jobExecutionId) throws SQLException {
        Connection c = idle.pollFirst();
        if (c != null) {
            try {
                return take(c, stepExecutionId, jobExecutionId);
            } catch (SQLException e) {
                // the server may have ended it while it waited: once more on a new connection
                log.debug("an idle lease connection failed ({}): taking the lease on a new one", e.getMessage());
            }
        }
        Connection fresh = connections.open();
        try {
            fresh.setAutoCommit(true);
        } catch (SQLException e) {
            discard(fresh, stepExecutionId);
            throw e;
        }
        return take(fresh, stepExecutionId, jobExecutionId);
    }

    private Lease take(Connection c, long stepExecutionId, long jobExecutionId) throws SQLException {
        boolean ok = false;
        try {
            // the row only when the lock is ours: pg_try_advisory_lock is evaluated once, in the SELECT's filter
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO RB_LEASE (STEP_EXECUTION_ID, JOB_EXECUTION_ID,"
                    + " INSTANCE_ID, TAKEN_AT, RENEWED_AT) SELECT ?, ?, ?, now(), now() WHERE pg_try_advisory_lock(?, ?)"
                    + " ON CONFLICT (STEP_EXECUTION_ID) DO UPDATE SET INSTANCE_ID = EXCLUDED.INSTANCE_ID,"
                    + " TAKEN_AT = now(), RENEWED_AT = now()")) {
                ps.setLong(1, stepExecutionId);
                ps.setLong(2, jobExecutionId);
                ps.setString(3, instanceId);
                ps.setInt(4, LOCK_CLASS);
                ps.setInt(5, lockKey(stepExecutionId));
                if (ps.executeUpdate() == 0) {
                    // the lock is another session's: this one holds nothing and waits for the next lease
                    ok = true;
                    idle.offerFirst(c);
                    return null;
                }
            }
            ok = true;
            return new Lease(c, stepExecutionId);
        } finally {
            if (!ok) {
                discard(c, stepExecutionId);
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

    /**
     * Frees a lease on its connection: the row and the lock in one statement. The connection then waits idle
     * for the next lease; one that cannot say it let go of the lock is ended, never reused (its session could
     * still hold the lock).
     */
    private void release(Connection c, long stepExecutionId) {
        try (PreparedStatement ps = c.prepareStatement("WITH gone AS (DELETE FROM RB_LEASE WHERE STEP_EXECUTION_ID = ?"
                + " AND INSTANCE_ID = ?) SELECT pg_advisory_unlock(?, ?)")) {
            ps.setLong(1, stepExecutionId);
            ps.setString(2, instanceId);
            ps.setInt(3, LOCK_CLASS);
            ps.setInt(4, lockKey(stepExecutionId));
            try (ResultSet rs = ps.executeQuery()) {
                if (rs.next() && rs.getBoolean(1)) {
                    idle.offerFirst(c);
                    if (shutDown && idle.remove(c)) {
                        c.close(); // the instance is closing: no next lease
                    }
                    return;
                }
            }
            log.debug("the lease of step execution {} was no longer held by its session", stepExecutionId);
        } catch (SQLException e) {
            log.debug("could not release the lease of step execution {}: {}", stepExecutionId, e.getMessage());
        }
        discard(c, stepExecutionId);
    }

    /** Ends a lease connection: a session that may hold a lock is aborted, so that the lock goes with it. */
    private static void discard(Connection c, long stepExecutionId) {
        try {
            c.abort(Runnable::run);
        } catch (SQLException | RuntimeException e) {
            log.debug("could not abort the lease connection of step execution {}: {}", stepExecutionId, e.getMessage());
        }
        try {
            c.close();
        } catch (SQLException e) {
            log.debug("could not close the lease connection of step execution {}: {}", stepExecutionId, e.getMessage());
        }
    }

    /** Closes the idle lease connections (at shutdown); leases still held keep theirs until they end. */
    public void close() {
        shutDown = true;
        Connection c;
        while ((c = idle.pollFirst()) != null) {
            try {
                c.close();
            } catch (SQLException e) {
                log.debug("could not close an idle lease connection: {}", e.getMessage());
            }
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
            release(connection, stepExecutionId);
        }
    }
}
