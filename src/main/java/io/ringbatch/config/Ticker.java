package io.ringbatch.config;

import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A task run once a second on a daemon thread of its own, from {@link #start} until {@link #stop}. A run
 * that throws is logged and the next one still comes (a plain scheduled executor would stop for good).
 */
public final class Ticker {
    private static final Logger log = LoggerFactory.getLogger(Ticker.class);

    private final String threadName;
    private final Runnable task;
    private ScheduledExecutorService executor;

    public Ticker(String threadName, Runnable task) {
        this.threadName = threadName;
        this.task = task;
    }

    /** Runs the task after {@code initialDelayMillis}, then a second after each run ends. */
    public synchronized void start(long initialDelayMillis) {
        if (executor != null) {
            return;
        }
        executor = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread thread = new Thread(r, threadName);
            thread.setDaemon(true);
            return thread;
        });
        executor.scheduleWithFixedDelay(() -> {
            try {
                task.run();
            } catch (RuntimeException e) {
                log.error("{}: {}", threadName, e.toString(), e);
            }
        }, initialDelayMillis, 1000, TimeUnit.MILLISECONDS);
    }

    /** No run starts after this; one under way is interrupted. */
    public synchronized void stop() {
        if (executor != null) {
            executor.shutdownNow();
            executor = null;
        }
    }
}
