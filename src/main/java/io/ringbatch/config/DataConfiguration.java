package io.ringbatch.config;

import org.springframework.beans.factory.InitializingBean;
import org.springframework.boot.sql.init.dependency.DependsOnDatabaseInitialization;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The data dir: absolute, owner-only, and there before the H2 file database opens in it. */
@Configuration(proxyBeanMethods = false)
public class DataConfiguration {

    @Bean
    static DataDirectory dataDirectory() {
        return new DataDirectory();
    }

    /** Once the migrations have opened the database: its files 0600, whatever the umask made them. */
    @Bean
    @DependsOnDatabaseInitialization
    InitializingBean databaseFilePermissions(RingbatchProperties properties) {
        return () -> DataDirectory.restrictDatabaseFiles(properties.dataDir());
    }
}
