package io.ringbatch;

import org.springframework.boot.SpringApplication;
import org.springframework.boot.autoconfigure.SpringBootApplication;
import org.springframework.boot.context.properties.ConfigurationPropertiesScan;

/** The ringbatch service: bulk file-processing jobs on Spring Batch, fed by io_uring. */
@SpringBootApplication
@ConfigurationPropertiesScan
public class RingbatchApplication {

    public static void main(String[] args) {
        SpringApplication.run(RingbatchApplication.class, args);
    }
}
