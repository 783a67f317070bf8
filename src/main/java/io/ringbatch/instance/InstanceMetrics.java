package io.ringbatch.instance;

import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.binder.MeterBinder;
import javax.sql.DataSource;
import org.springframework.dao.DataAccessException;
import org.springframework.jdbc.BadSqlGrammarException;
import org.springframework.jdbc.core.JdbcTemplate;

/**
 * {@code ringbatch.partitions.running}: partitions running in this instance now;
 * {@code ringbatch.partitions.queued}: partition requests waiting in the cluster's queue (the rows of
 * Spring Integration's {@code INT_CHANNEL_MESSAGE} in region {@code ringbatch}, the same figure on every
 * instance; 0 where the table
 * does not exist, as on H2, where partitions go straight to the local executor).
 */
public class InstanceMetrics implements MeterBinder {
    private final RunningPartitions running;
    private final JdbcTemplate jdbc;
    /** Set once the queue table turned out to be missing (H2): no query per scrape that can only fail. */
    private volatile boolean noQueue;

    public InstanceMetrics(RunningPartitions running, DataSource dataSource) {
        this.running = running;
        this.jdbc = new JdbcTemplate(dataSource);
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        Gauge.builder("ringbatch.partitions.running", running, RunningPartitions::count)
                .description("Partitions (attempts of the work step) running in this instance")
                .register(registry);
        Gauge.builder("ringbatch.partitions.queued", this, InstanceMetrics::queued)
                .description("Partition requests waiting in the cluster's queue (0 without one)")
                .register(registry);
    }

    /** Messages waiting in the queue table; NaN (no sample) while the database cannot be read. */
    double queued() {
        if (noQueue) {
            return 0;
        }
        try {
            // ringbatch's region of the table (the cluster's partition queue)
            Long n = jdbc.queryForObject("SELECT COUNT(*) FROM INT_CHANNEL_MESSAGE WHERE REGION = 'ringbatch'",
                    Long.class);
            return n == null ? 0 : n;
        } catch (BadSqlGrammarException e) {
            noQueue = true;
            return 0;
        } catch (DataAccessException e) {
            return Double.NaN;
        }
    }
}
