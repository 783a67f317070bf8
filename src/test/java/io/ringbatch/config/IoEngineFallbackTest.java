package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.io.Errno;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoUringUnavailableException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.context.TestConfiguration;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Bean;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * {@code auto} where io_uring is refused (EPERM, as a seccomp profile answers): the blocking engine runs.
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: its engine is another.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.io.engine=auto", "ringbatch.security.admin-password=admin-secret"})
@DirtiesContext
class IoEngineFallbackTest {

    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void dataDir(DynamicPropertyRegistry registry) {
        registry.add("ringbatch.data-dir", () -> dataDir.toString());
    }

    @TestConfiguration(proxyBeanMethods = false)
    static class RefusedUring {
        @Bean
        IoEngines.UringStarter refusingUringStarter() {
            return options -> {
                throw new IoUringUnavailableException("io_uring_setup", Errno.EPERM);
            };
        }
    }

    @LocalServerPort
    int port;

    @Autowired
    IoEngine engine;

    @Test
    void theBlockingEngineRunsAndHealthSaysWhy() throws Exception {
        assertThat(engine.name()).isEqualTo("blocking");
        TestHttp http = new TestHttp(port);

        JsonNode anonymous = TestHttp.json(http.get("/actuator/health"));
        assertThat(anonymous.path("status").asString()).as("the fallback is healthy").isEqualTo("UP");

        JsonNode details = TestHttp.json(http.get("/actuator/health", "admin", "admin-secret"))
                .path("components").path("ioEngine").path("details");
        assertThat(details.path("engine").asString()).isEqualTo("blocking");
        assertThat(details.path("requested").asString()).isEqualTo("auto");
        assertThat(details.path("fallbackReason").asString()).contains("io_uring_setup").contains("EPERM");

        String metrics = http.get("/actuator/prometheus", "admin", "admin-secret").body();
        assertThat(metrics).containsPattern("(?m)^ringbatch_io_engine\\{engine=\"blocking\",requested=\"auto\"} 1(\\.0)?$")
                .doesNotContain("engine=\"io_uring\"");
    }
}
