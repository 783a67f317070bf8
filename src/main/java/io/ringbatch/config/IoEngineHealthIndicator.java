package io.ringbatch.config;

import io.ringbatch.io.EngineStats;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoOptions;
import io.ringbatch.io.IoUringEngine;
import java.util.Locale;
import org.springframework.boot.health.contributor.Health;
import org.springframework.boot.health.contributor.HealthIndicator;

/**
 * {@code /actuator/health} component {@code ioEngine}: which engine runs, what was asked for and,
 * when they differ, why; the engine's tuning and its current load; for io_uring, the kernel features in
 * use and the completions dropped because they named no read in flight.
 */
public class IoEngineHealthIndicator implements HealthIndicator {
    private final IoEngines.Selection selection;

    public IoEngineHealthIndicator(IoEngines.Selection selection) {
        this.selection = selection;
    }

    @Override
    public Health health() {
        IoEngine engine = selection.engine();
        IoOptions options = engine.options();
        EngineStats stats = engine.stats();
        Health.Builder health = Health.up()
                .withDetail("engine", engine.name())
                .withDetail("requested", selection.requested().value());
        if (selection.fallbackReason() != null) {
            health.withDetail("fallbackReason", selection.fallbackReason());
        }
        if (engine instanceof IoUringEngine uring) {
            health.withDetail("topology", uring.topology().name().toLowerCase(Locale.ROOT).replace('_', '-'))
                    .withDetail("rings", uring.rings())
                    // what set-up negotiated with this kernel: an older one runs without some of them
                    .withDetail("features", uring.features())
                    .withDetail("staleCompletions", uring.staleCompletions());
        }
        return health
                .withDetail("blockSize", options.blockSize())
                .withDetail("queueDepth", options.queueDepth())
                .withDetail("readAhead", options.readAhead())
                .withDetail("direct", options.direct())
                .withDetail("readTimeout", options.readTimeout().toString())
                .withDetail("readersOpen", stats.readersOpen())
                .withDetail("readsInFlight", stats.readsInFlight())
                .withDetail("buffersInUse", stats.buffersInUse())
                .withDetail("bufferCapacity", stats.bufferCapacity())
                .build();
    }
}
