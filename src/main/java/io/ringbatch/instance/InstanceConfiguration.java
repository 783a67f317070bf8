package io.ringbatch.instance;

import io.ringbatch.config.RingbatchProperties;
import javax.sql.DataSource;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.TaskScheduler;

/** The instance registry ({@code RB_INSTANCE}), the running-partitions count and their meters. */
@Configuration(proxyBeanMethods = false)
public class InstanceConfiguration {

    @Bean
    RunningPartitions runningPartitions(RingbatchProperties properties) {
        return new RunningPartitions(properties.instanceId());
    }

    @Bean
    @DependsOnDatabaseInitialization
    InstanceRegistry instanceRegistry(DataSource dataSource, RingbatchProperties properties,
                                      RunningPartitions running, TaskScheduler scheduler) {
        return new InstanceRegistry(dataSource, properties, running, scheduler);
    }

    @Bean
    @DependsOnDatabaseInitialization
    InstanceMetrics instanceMetrics(RunningPartitions running, DataSource dataSource) {
        return new InstanceMetrics(running, dataSource);
    }
}
