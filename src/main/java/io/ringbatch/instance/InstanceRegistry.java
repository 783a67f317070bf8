package io.ringbatch.instance;

import io.ringbatch.config.RingbatchProperties;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.ScheduledFuture;
import javax.sql.DataSource;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;
import org.springframework.dao.DataAccessException;
import org.springframework.dao.DuplicateKeyException;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.TaskScheduler;

/**
 * This instance's row in {@code RB_INSTANCE} (see {@code V3__rb_instance.sql}), written at start and every
 * {@code ringbatch.cluster.heartbeat} on Spring's scheduler, removed at a clean stop; and the live rows of
 * every instance that shares the database. Times are the database's ({@code CURRENT_TIMESTAMP}), so a row's
 * age does not depend on the clocks of the instances agreeing.
 */
public class InstanceRegistry implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(InstanceRegistry.class);
    /** One live instance as its last heartbeat described it. */
    public record Instance(String id, String role, int threads, int partitionsRunning, Instant started,
                           Instant lastSeen) {
    }

    private final JdbcTemplate jdbc;
    private final RingbatchProperties properties;
    private final RunningPartitions running;
    private final TaskScheduler scheduler;
    private volatile ScheduledFuture<?> beats;
    private volatile boolean started;

    public InstanceRegistry(DataSource dataSource, RingbatchProperties properties, RunningPartitions running,
                            TaskScheduler scheduler) {
        this.jdbc = new JdbcTemplate(dataSource);
        this.properties = properties;
        this.running = running;
        this.scheduler = scheduler;
    }

    /** Writes this instance's row: the first call of the process sets STARTED too. */
    public void heartbeat() {
        String id = properties.instanceId();
        String role = properties.role().name();
        int threads = properties.workers();
        int partitions = running.count();
        try {
            int changed = started
                    ? jdbc.update("UPDATE RB_INSTANCE SET ROLE = ?, THREADS = ?, PARTITIONS_RUNNING = ?,"
                    + " LAST_SEEN = CURRENT_TIMESTAMP WHERE ID = ?", role, threads, partitions, id)
                    : jdbc.update("UPDATE RB_INSTANCE SET ROLE = ?, THREADS = ?, PARTITIONS_RUNNING = ?,"
                    + " STARTED = CURRENT_TIMESTAMP, LAST_SEEN = CURRENT_TIMESTAMP WHERE ID = ?",
                    role, threads, partitions, id);
            if (changed == 0) {
                try {
                    jdbc.update("INSERT INTO RB_INSTANCE (ID, ROLE, THREADS, PARTITIONS_RUNNING, STARTED, LAST_SEEN)"
                            + " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)", id, role, threads, partitions);
                } catch (DuplicateKeyException e) {
                    // another process with the same instance id beat us to it: the next beat updates the row
                }
            }
            started = true;
        } catch (DataAccessException e) {
            // the database is away: the row ages, and the next beat tries again
            log.debug("heartbeat of instance {} not written: {}", id, e.toString());
        }
    }

    /** The instances seen within {@code ringbatch.cluster.loss-timeout}, by id. */
    public List<Instance> live() {
        long timeoutMillis = properties.cluster().lossTimeout().toMillis();
        List<Instance> out = new ArrayList<>();
        jdbc.query("SELECT ID, ROLE, THREADS, PARTITIONS_RUNNING, STARTED, LAST_SEEN, CURRENT_TIMESTAMP AS NOW"
                + " FROM RB_INSTANCE", (ResultSet rs) -> {
            Instant now = instant(rs, "NOW");
            Instant lastSeen = instant(rs, "LAST_SEEN");
            if (!lastSeen.isBefore(now.minusMillis(timeoutMillis))) {
                out.add(new Instance(rs.getString("ID"), rs.getString("ROLE"), rs.getInt("THREADS"),
                        rs.getInt("PARTITIONS_RUNNING"), instant(rs, "STARTED"), lastSeen));
            }
        });
        out.sort(Comparator.comparing(Instance::id));
        return out;
    }

    private static Instant instant(ResultSet rs, String column) throws SQLException {
        return rs.getObject(column, OffsetDateTime.class).toInstant();
    }

    @Override
    public void start() {
        heartbeat();
        try {
            // rows of instances gone for good (a worker Deployment's pods get a new name each time)
            jdbc.update("DELETE FROM RB_INSTANCE WHERE LAST_SEEN < CURRENT_TIMESTAMP - INTERVAL '7' DAY");
        } catch (DataAccessException e) {
            log.debug("old instance rows not removed: {}", e.toString());
        }
        Duration every = properties.cluster().heartbeat();
        beats = scheduler.scheduleWithFixedDelay(this::heartbeat, scheduler.getClock().instant().plus(every), every);
    }

    /** A clean stop removes the row at once, so the list does not show this instance for the loss timeout. */
    @Override
    public void stop() {
        ScheduledFuture<?> b = beats;
        beats = null;
        if (b != null) {
            b.cancel(false);
            try {
                jdbc.update("DELETE FROM RB_INSTANCE WHERE ID = ?", properties.instanceId());
            } catch (DataAccessException e) {
                log.debug("row of instance {} not removed: {}", properties.instanceId(), e.toString());
            }
        }
    }

    /** Stops late (after the web server and the job runner): the row goes when the instance really ends. */
    @Override
    public int getPhase() {
        return 0;
    }

    @Override
    public boolean isRunning() {
        return beats != null;
    }
}
