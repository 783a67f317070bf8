package io.ringbatch.config;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.springframework.boot.flyway.autoconfigure.FlywayMigrationStrategy;
import org.springframework.stereotype.Component;

/**
 * Runs ringbatch's Flyway migrations ({@code db/migration}) one instance at a time on a shared PostgreSQL,
 * as the chart's replicas start together (its StatefulSet starts them in parallel).
 *
 * <p>Flyway locks its history table while it applies migrations, but looks at the database before it
 * locks: an instance that finds no history table goes on to check whether the schema is empty, and when
 * another instance has made the history table in between, it takes the database for one made before
 * migrations, baselines it (baseline-on-migrate, see application.yml) and fails ("unable to baseline ...
 * it already exists, and is empty"). Eight instances on an empty database failed so in 3 rounds out
 * of 10. A session-level advisory lock around the whole of {@code migrate()} lets the next instance look
 * only once the first is done; it waits as long as Flyway waits for its own lock
 * ({@code spring.flyway.lock-retry-count}, a second each). The lock goes with the connection if the
 * process dies. H2 needs none: one process holds its file.
 */
@Component
public class SchemaMigrationStrategy implements FlywayMigrationStrategy {
    /** Any number, the same in every instance; Flyway's own lock uses another (a hash of its table's name). */
    static final long LOCK = 0x7262_6a6f_6273L;

    @Override
    public void migrate(Flyway flyway) {
        DataSource dataSource = flyway.getConfiguration().getDataSource();
        try (Connection c = dataSource.getConnection()) {
            if (!"PostgreSQL".equals(c.getMetaData().getDatabaseProductName())) {
                flyway.migrate();
                return;
            }
            lock(c, "pg_advisory_lock", flyway.getConfiguration().getLockRetryCount());
            try {
                flyway.migrate();
            } finally {
                lock(c, "pg_advisory_unlock", 0);
            }
        } catch (SQLException e) {
            throw new FlywayException("Could not take the lock that lets one instance at a time migrate: "
                    + e.getMessage(), e);
        }
    }

    private static void lock(Connection c, String function, int seconds) throws SQLException {
        try (PreparedStatement st = c.prepareStatement("SELECT " + function + "(?)")) {
            st.setLong(1, LOCK);
            // 0: no limit, as Flyway's lock-retry-count of -1
            st.setQueryTimeout(Math.max(seconds, 0));
            st.execute();
        }
    }
}
