package io.ringbatch.config;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.FunctionTimer;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import io.micrometer.core.instrument.binder.MeterBinder;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import java.util.concurrent.TimeUnit;

/**
 * The engine's totals as meters, tagged with the engine that runs. The figure that proves the design
 * is {@code ringbatch.io.consumer.wait}: how often, and for how long in total, processing threads
 * waited for a block because the read ahead had not finished.
 */
public class IoEngineMetrics implements MeterBinder {
    private final IoEngines.Selection selection;

    public IoEngineMetrics(IoEngines.Selection selection) {
        this.selection = selection;
    }

    @Override
    public void bindTo(MeterRegistry registry) {
        IoEngine engine = selection.engine();
        Tags tags = Tags.of("engine", engine.name());
        Gauge.builder("ringbatch.io.engine", () -> 1)
                .tags(tags).tag("requested", selection.requested().value())
                .description("The I/O engine that runs (value 1; see the engine tag)")
                .register(registry);
        FunctionCounter.builder("ringbatch.io.read", engine, e -> e.stats().bytes())
                .tags(tags).baseUnit(BaseUnits.BYTES)
                .description("Bytes handed to consumers")
                .register(registry);
        FunctionCounter.builder("ringbatch.io.blocks", engine, e -> e.stats().blocks())
                .tags(tags).description("Blocks handed to consumers")
                .register(registry);
        FunctionCounter.builder("ringbatch.io.reads", engine, e -> e.stats().reads())
                .tags(tags).description("Reads submitted to the operating system")
                .register(registry);
        FunctionCounter.builder("ringbatch.io.readers.opened", engine, e -> e.stats().readersOpened())
                .tags(tags).description("Readers opened")
                .register(registry);
        FunctionTimer.builder("ringbatch.io.consumer.wait", engine,
                        e -> e.stats().waits(), e -> e.stats().waitNanos(), TimeUnit.NANOSECONDS)
                .tags(tags).description("Time consumers spent waiting for a block that was not ready")
                .register(registry);
        Timer perReader = Timer.builder("ringbatch.io.reader.wait")
                .tags(tags).description("Per reader (one file or range): the time its consumer waited for blocks,"
                        + " recorded when the reader closes")
                .register(registry);
        engine.onReaderClosed(stats -> perReader.record(stats.waitNanos(), TimeUnit.NANOSECONDS));
        Gauge.builder("ringbatch.io.reads.in.flight", engine, e -> e.stats().readsInFlight())
                .tags(tags).description("Reads in flight")
                .register(registry);
        Gauge.builder("ringbatch.io.readers.open", engine, e -> e.stats().readersOpen())
                .tags(tags).description("Readers open")
                .register(registry);
        Gauge.builder("ringbatch.io.buffers.in.use", engine, e -> e.stats().buffersInUse())
                .tags(tags).description("Pool buffers in use (in flight or held by a consumer)")
                .register(registry);
        Gauge.builder("ringbatch.io.buffers.capacity", engine, e -> e.stats().bufferCapacity())
                .tags(tags).description("Buffers in the pool")
                .register(registry);
    }
}
