package io.ringbatch.config;

import java.time.Clock;
import org.springframework.boot.autoconfigure.condition.ConditionalOnMissingBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.scheduling.annotation.EnableScheduling;

/**
 * Time and periodic work. Every class that reads the time takes this {@link Clock} (a test may put a
 * fixed or moved one in its place), and periodic tasks run on Spring's task scheduler
 * ({@code spring.task.scheduling.*}), which logs a run that throws and still runs the next one.
 */
@Configuration(proxyBeanMethods = false)
@EnableScheduling
public class TimeConfiguration {

    @Bean
    @ConditionalOnMissingBean
    Clock clock() {
        return Clock.systemUTC();
    }
}
