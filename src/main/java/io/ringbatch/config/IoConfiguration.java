package io.ringbatch.config;

import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoUringEngine;
import java.util.Locale;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * The I/O engine, chosen by {@code ringbatch.io.engine}, with its health contributor and meters.
 * <p>
 * A bean of type {@link IoEngines.UringStarter} replaces the real io_uring start-up (tests use one
 * that is refused like a seccomp profile would refuse it).
 */
@Configuration(proxyBeanMethods = false)
public class IoConfiguration {
    private static final Logger log = LoggerFactory.getLogger(IoConfiguration.class);

    @Bean
    IoEngines.Selection ioEngineSelection(RingbatchProperties properties,
                                          ObjectProvider<IoEngines.UringStarter> uringStarter) {
        RingbatchProperties.Io io = properties.io();
        IoEngines.Selection selection = IoEngines.select(io.engine(), io.toOptions(),
                uringStarter.getIfAvailable(() -> IoUringEngine::new));
        IoEngine engine = selection.engine();
        if (selection.fallbackReason() != null) {
            log.warn("io_uring is not available here ({}); the blocking engine runs instead"
                    + " (ringbatch.io.engine=auto). To use io_uring in a container, allow io_uring_setup,"
                    + " io_uring_enter and io_uring_register in its seccomp profile.", selection.fallbackReason());
        }
        log.info("I/O engine: {} (ringbatch.io.engine={}{}, block size {} bytes, queue depth {}, read-ahead {},"
                        + " {} buffers, O_DIRECT {})", engine.name(), selection.requested().value(),
                engine instanceof IoUringEngine ? ", topology " + io.topology().name().toLowerCase(Locale.ROOT)
                        .replace('_', '-') : "",
                engine.options().blockSize(), engine.options().queueDepth(), engine.options().readAhead(),
                engine.options().bufferPoolSize(), engine.options().direct() ? "on" : "off");
        return selection;
    }

    @Bean(destroyMethod = "close")
    IoEngine ioEngine(IoEngines.Selection selection) {
        return selection.engine();
    }

    @Bean
    IoEngineHealthIndicator ioEngineHealthIndicator(IoEngines.Selection selection) {
        return new IoEngineHealthIndicator(selection);
    }

    @Bean
    IoEngineMetrics ioEngineMetrics(IoEngines.Selection selection) {
        return new IoEngineMetrics(selection);
    }
}
