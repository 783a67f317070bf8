package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.ParameterSpec;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * What a running job gets at shutdown is {@code spring.lifecycle.timeout-per-shutdown-phase}: with 3 s, a
 * job whose block does not end is asked to stop (it resumes at the next start), the shutdown waits for it
 * those 3 s, and then goes on and ends within about that time, not after a wait of its own.
 */
@Timeout(120)
class ShutdownTimeoutTest {
    static final Duration TIMEOUT = Duration.ofSeconds(3);

    @TempDir
    Path dataDir;

    /** An operation whose first block holds its worker until the test lets it go, ignoring stops. */
    static final class HoldOperation implements Operation {
        final CountDownLatch entered = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);

        @Override
        public String name() {
            return "test-hold";
        }

        @Override
        public String description() {
            return "holds its worker (test)";
        }

        @Override
        public List<ParameterSpec> parameters() {
            return List.of();
        }

        @Override
        public Map<String, String> validate(Map<String, Object> params) {
            return Map.of();
        }

        @Override
        public Split split() {
            return Split.WHOLE;
        }

        @Override
        public boolean resumableMidPiece() {
            return false;
        }

        @Override
        public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
            return new PieceProcessor() {
                @Override
                public void process(ByteBuffer data, FragmentSink out) throws IOException {
                    entered.countDown();
                    try {
                        release.await(2, TimeUnit.MINUTES);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                    throw new IOException("released after the shutdown");
                }

                @Override
                public void finish(FragmentSink out) {
                }
            };
        }

        @Override
        public void merge(Map<String, String> params, MergeInput in) {
        }

        @Override
        public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
            return List.of();
        }
    }

    @Configuration(proxyBeanMethods = false)
    static class Hold {
        static final HoldOperation OPERATION = new HoldOperation();

        @Bean
        Operation holdOperation() {
            return OPERATION;
        }
    }

    @Test
    void aJobThatDoesNotStopGetsTheShutdownTimeoutAndNoMore() throws Exception {
        Path input = Files.createDirectories(dataDir.resolve("input/one"));
        Files.writeString(input.resolve("a.txt"), "a\n");
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", "0");
        props.put("ringbatch.data-dir", dataDir.toString());
        props.put("ringbatch.input-roots", dataDir.resolve("input").toString());
        props.put("ringbatch.output-root", dataDir.resolve("output").toString());
        props.put("ringbatch.security.admin-password", "shutdown-test");
        props.put("ringbatch.workers", "1");
        // the held worker is left running when the context closes: no native ring to close under it
        props.put("ringbatch.io.engine", "blocking");
        HoldOperation hold = Hold.OPERATION;
        // an argument, as the chart's application.yml would: the builder's properties are only defaults, and
        // the service's own application.yml sets this key
        ConfigurableApplicationContext app = new SpringApplicationBuilder(RingbatchApplication.class, Hold.class)
                .properties(props).run("--spring.lifecycle.timeout-per-shutdown-phase=" + TIMEOUT.toSeconds() + "s");
        long took;
        try {
            app.getBean(JobRunner.class).start(new JobDefinition("held", "test-hold", Map.of(), input, List.of(),
                    List.of(), dataDir.resolve("output/held"), false));
            assertThat(hold.entered.await(60, TimeUnit.SECONDS)).as("the job's block started").isTrue();

            long closeStarted = System.nanoTime();
            app.close();
            took = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - closeStarted);
        } finally {
            hold.release.countDown();
            app.close();
        }

        assertThat(took).as("shutdown took (ms)")
                .isGreaterThanOrEqualTo(TIMEOUT.toMillis())
                .isLessThan(TIMEOUT.toMillis() + 5_000);
        assertThat(dataDir.resolve("jobs/held").resolve(BatchJobRunner.RESUME_MARKER))
                .as("asked to stop, to resume at the next start").exists();
    }
}
