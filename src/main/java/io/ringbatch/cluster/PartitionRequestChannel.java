package io.ringbatch.cluster;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.task.TaskRejectedException;
import org.springframework.integration.jdbc.channel.PostgresChannelMessageTableSubscriber;
import org.springframework.integration.jdbc.channel.PostgresSubscribableChannel;
import org.springframework.integration.jdbc.store.JdbcChannelMessageStore;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;

/**
 * The queue of partition requests as a channel: a {@link PostgresSubscribableChannel} whose dispatch runs
 * on the instance's worker threads ({@code ringbatch.workers}), each taking one request at a time from
 * the table and running its partition before it takes the next.
 * <p>
 * The channel's own {@code notifyUpdate} starts one drain on one thread. PostgreSQL folds the NOTIFYs of
 * one transaction (every request of a job is sent in one) into one, so a JVM would drain the whole queue
 * on a single thread (spring-integration#9102). Here every notification, and the periodic kick, starts as
 * many drains as there are idle worker threads, and never more: requests nobody here can take yet stay in
 * the table, for other instances.
 */
public class PartitionRequestChannel extends PostgresSubscribableChannel {
    private static final Logger log = LoggerFactory.getLogger(PartitionRequestChannel.class);
    private final ThreadPoolTaskExecutor workers;
    private volatile boolean open = true;

    public PartitionRequestChannel(JdbcChannelMessageStore store, Object groupId,
                                   PostgresChannelMessageTableSubscriber subscriber, ThreadPoolTaskExecutor workers) {
        super(store, groupId, subscriber);
        this.workers = workers;
        setDispatcherExecutor(workers);
    }

    /** Starts a drain on each idle worker thread. */
    @Override
    public synchronized void notifyUpdate() {
        if (!open) {
            return;
        }
        int idle = workers.getMaxPoolSize() - workers.getActiveCount() - workers.getQueueSize();
        try {
            for (int i = 0; i < idle; i++) {
                super.notifyUpdate();
            }
        } catch (TaskRejectedException e) {
            log.debug("partition requests not taken: the worker threads are shutting down");
        }
    }

    /** No new drains from now on (shutdown); drains under way end with the partition they run. */
    void close() {
        open = false;
    }

    /** Takes requests again (a lifecycle start after a stop). */
    void open() {
        open = true;
    }
}
