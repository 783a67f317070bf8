package io.ringbatch.config;

import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The data dir: absolute, and there before the H2 file database opens in it. */
@Configuration(proxyBeanMethods = false)
public class DataConfiguration {

    @Bean
    static DataDirectory dataDirectory() {
        return new DataDirectory();
    }
}
