package io.ringbatch.batch;

import static org.awaitility.Awaitility.await;
import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A job launched after the shutdown began (a start racing the runner's stop, as a dispatch or a restart
 * request can) must not run on unseen into the executors' shutdown, where its partitions would be
 * refused and the job would fail without resuming: it is stopped as it launches, marked to resume, and
 * the next start completes it.
 */
@Timeout(120)
class LaunchDuringShutdownTest {
    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext start() {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", "0");
        props.put("ringbatch.data-dir", dataDir.toString());
        props.put("ringbatch.input-roots", dataDir.resolve("input").toString());
        props.put("ringbatch.output-root", dataDir.resolve("output").toString());
        props.put("ringbatch.security.admin-password", "shutdown-test");
        props.put("ringbatch.workers", "1");
        return new SpringApplicationBuilder(RingbatchApplication.class).properties(props).run();
    }

    @Test
    void aJobLaunchedAsTheShutdownBeginsStopsAtOnceAndTheNextStartCompletesIt() throws Exception {
        Path input = Files.createDirectories(dataDir.resolve("input/one"));
        for (int i = 0; i < 20; i++) {
            Files.writeString(input.resolve("f" + i + ".txt"), "one two\nthree\n".repeat(1000));
        }
        Path output = dataDir.resolve("output/late");
        ConfigurableApplicationContext app = start();
        try {
            // the shutdown's first step, as the context's close takes it: no job runs yet
            app.getBean(BatchJobRunner.class).stop();
            JobRunner runner = app.getBean(JobRunner.class);
            runner.start(new JobDefinition("late", "wc", Map.of(), input, List.of(), List.of(), output, false));
            RunState stopped = await("the late job ended").atMost(Duration.ofSeconds(30))
                    .until(() -> runner.state("late"), s -> List.of("STOPPED", "COMPLETED", "FAILED").contains(s.status()));
            assertThat(stopped.status()).as("a job launched during the shutdown").isEqualTo("STOPPED");
            assertThat(output).as("no output from a job stopped as it launched").doesNotExist();
            assertThat(dataDir.resolve("jobs/late").resolve(BatchJobRunner.RESUME_MARKER))
                    .as("marked to resume at the next start").exists();
        } finally {
            app.close();
        }

        ConfigurableApplicationContext next = start();
        try {
            JobRunner runner = next.getBean(JobRunner.class);
            RunState done = await("the late job resumed").atMost(Duration.ofSeconds(60))
                    .until(() -> runner.state("late"), s -> List.of("COMPLETED", "FAILED").contains(s.status()));
            assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
            assertThat(output.resolve("job-report.json")).isRegularFile();
        } finally {
            next.close();
        }
    }
}
