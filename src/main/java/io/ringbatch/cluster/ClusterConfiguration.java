package io.ringbatch.cluster;

import io.ringbatch.batch.ClusterHooks;
import io.ringbatch.batch.Pipeline;
import io.ringbatch.config.RingbatchProperties;
import io.ringbatch.instance.InstanceRegistry;
import java.sql.DriverManager;
import javax.sql.DataSource;
import org.postgresql.jdbc.PgConnection;
import org.springframework.batch.core.repository.JobRepository;
import org.springframework.beans.factory.BeanFactory;
import org.springframework.beans.factory.SmartInitializingSingleton;
import org.springframework.beans.factory.annotation.Qualifier;
import org.springframework.boot.autoconfigure.context.LifecycleProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Conditional;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.env.Environment;
import org.springframework.integration.jdbc.channel.PostgresChannelMessageTableSubscriber;
import org.springframework.integration.jdbc.store.JdbcChannelMessageStore;
import org.springframework.integration.jdbc.store.channel.PostgresChannelMessageStoreQueryProvider;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.concurrent.ThreadPoolTaskExecutor;
import org.springframework.transaction.PlatformTransactionManager;

/**
 * The cluster transport, on PostgreSQL only ({@link ClusterMode}): a job's partition requests travel through
 * Spring Integration's JDBC channel message store (table INT_CHANNEL_MESSAGE, region {@value PartitionQueue#REGION},
 * priority on: the largest partitions first across the cluster), woken by LISTEN/NOTIFY, and every instance
 * runs them on its worker threads. No transaction manager on the channel: one would keep a database
 * transaction open for a whole partition. Delivery is therefore at most once; a request taken by an
 * instance that dies is found lost by its manager and sent again ({@link DistributedPartitionHandler}).
 */
@Configuration(proxyBeanMethods = false)
@Conditional(ClusterMode.class)
public class ClusterConfiguration {

    @Bean
    JdbcChannelMessageStore partitionRequestStore(DataSource dataSource) {
        JdbcChannelMessageStore store = new JdbcChannelMessageStore(dataSource);
        store.setChannelMessageStoreQueryProvider(new PostgresChannelMessageStoreQueryProvider());
        store.setPriorityEnabled(true);
        store.setRegion(PartitionQueue.REGION);
        // Java deserialization is allow-listed: the request and the message that carries it, nothing else
        store.addAllowedPatterns("org.springframework.batch.integration.partition.StepExecutionRequest",
                "org.springframework.integration.support.MutableMessage",
                "org.springframework.integration.support.MutableMessageHeaders",
                "org.springframework.messaging.support.GenericMessage",
                "org.springframework.messaging.MessageHeaders",
                "java.util.*", "java.lang.*");
        return store;
    }

    /** LISTENs on its own unpooled connection (a pooled one could be closed under it). */
    @Bean
    PostgresChannelMessageTableSubscriber partitionRequestSubscriber(Environment env) {
        String url = env.getRequiredProperty("spring.datasource.url");
        String user = env.getProperty("spring.datasource.username");
        String password = env.getProperty("spring.datasource.password");
        return new PostgresChannelMessageTableSubscriber(
                () -> DriverManager.getConnection(url, user, password).unwrap(PgConnection.class));
    }

    @Bean
    PartitionRequestChannel partitionRequestChannel(JdbcChannelMessageStore partitionRequestStore,
                                                    PostgresChannelMessageTableSubscriber partitionRequestSubscriber,
                                                    @Qualifier("ringbatchWorkers") ThreadPoolTaskExecutor workers) {
        return new PartitionRequestChannel(partitionRequestStore, PartitionQueue.GROUP, partitionRequestSubscriber,
                workers);
    }

    @Bean
    PartitionQueue partitionQueue(PartitionRequestChannel partitionRequestChannel, DataSource dataSource) {
        return new PartitionQueue(partitionRequestChannel, dataSource);
    }

    /** Each lease on an unpooled connection of its own, held idle for the partition's life. */
    @Bean
    Leases partitionLeases(DataSource dataSource, RingbatchProperties properties, Environment env) {
        String url = env.getRequiredProperty("spring.datasource.url");
        String user = env.getProperty("spring.datasource.username");
        String password = env.getProperty("spring.datasource.password");
        return new Leases(dataSource, () -> DriverManager.getConnection(url, user, password), properties.instanceId());
    }

    @Bean
    PartitionConsumer partitionConsumer(JobRepository repository, BeanFactory beans, Leases partitionLeases,
                                        PartitionQueue partitionQueue, PartitionRequestChannel partitionRequestChannel,
                                        Pipeline pipeline, DataSource dataSource, RingbatchProperties properties,
                                        LifecycleProperties lifecycle) {
        return new PartitionConsumer(repository, beans, partitionLeases, partitionQueue, partitionRequestChannel,
                pipeline, new JdbcTemplate(dataSource), properties.instanceId(), properties.cluster().heartbeat(),
                lifecycle.getTimeoutPerShutdownPhase());
    }

    @Bean
    DistributedPartitionHandler distributedPartitionHandler(JobRepository repository, PartitionQueue partitionQueue,
                                                            Leases partitionLeases, DataSource dataSource,
                                                            PlatformTransactionManager tm, Pipeline pipeline,
                                                            RingbatchProperties properties,
                                                            PostgresChannelMessageTableSubscriber partitionRequestSubscriber) {
        RingbatchProperties.Cluster cluster = properties.cluster();
        DistributedPartitionHandler handler = new DistributedPartitionHandler(repository, partitionQueue, partitionLeases,
                new JdbcTemplate(dataSource), tm, partition -> {
            String jobId = partition.getJobExecution().getJobParameters().getString(Pipeline.JOB_ID);
            Object index = partition.getExecutionContext().get("partition");
            return index instanceof Integer i ? ClusterHooks.partitionBytes(pipeline, jobId, i) : 0;
        }, cluster.heartbeat(), cluster.lossTimeout(), cluster.maxAttempts());
        handler.setGridSize(properties.workers());
        return handler.wakeOnEnds(partitionRequestSubscriber);
    }

    @Bean
    ClusterRecovery clusterRecovery(JobRepository repository, PartitionQueue partitionQueue, Leases partitionLeases,
                                    RingbatchProperties properties) {
        return new ClusterRecovery(repository, partitionQueue, partitionLeases, properties.cluster().heartbeat(),
                properties.cluster().lossTimeout());
    }

    /**
     * Plans are cut for the threads of every live instance (their heartbeat rows), not only the planning
     * instance's: one job's partitions then keep every worker of the cluster busy.
     */
    @Bean
    SmartInitializingSingleton clusterPlanning(Pipeline pipeline, InstanceRegistry instances) {
        return () -> pipeline.clusterThreads(
                () -> instances.live().stream().mapToInt(InstanceRegistry.Instance::threads).sum());
    }
}
