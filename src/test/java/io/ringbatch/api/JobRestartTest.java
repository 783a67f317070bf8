package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * Jobs outlive the service: the service is stopped with one job running and one queued, and started
 * again on the same data dir. The jobs keep their ids, the queued one waits through the stop (no job
 * starts while the service shuts down) and starts when the service is back, and the running one is
 * stopped by the shutdown at its next commit and resumed by the next start on its own. Killing the
 * process half-way is the batch package's test.
 */
@Timeout(240)
class JobRestartTest {
    @TempDir
    Path dataDir;

    private ConfigurableApplicationContext start() {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", "0");
        props.put("ringbatch.data-dir", dataDir.toString());
        props.put("ringbatch.input-roots", dataDir.resolve("input").toString());
        props.put("ringbatch.output-root", dataDir.resolve("output").toString());
        props.put("ringbatch.security.admin-password", ApiHttp.ADMIN_PW);
        props.put("ringbatch.max-concurrent-jobs", "1");
        props.put("ringbatch.workers", "2");
        props.put("ringbatch.pipeline.commit-interval", "1");
        // an argument, not a default property: application.yml's 30s would win over the builder's defaults
        return new SpringApplicationBuilder(RingbatchApplication.class, ListOperation.Config.class).properties(props)
                .run("--spring.lifecycle.timeout-per-shutdown-phase=5s");
    }

    private static ApiHttp http(ConfigurableApplicationContext app) {
        return new ApiHttp(Integer.parseInt(app.getEnvironment().getProperty("local.server.port")));
    }

    @Test
    void jobsKeepTheirIdsAndQueuedJobsStartAfterTheServiceRestarts() throws Exception {
        Path slow = Files.createDirectories(dataDir.resolve("input/slow"));
        for (int i = 0; i < 30; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
        Path small = Files.createDirectories(dataDir.resolve("input/small"));
        Files.writeString(small.resolve("one.txt"), "one\n");

        String running;
        String queued;
        String done;
        long closeStarted;
        try (ConfigurableApplicationContext app = start()) {
            ApiHttp http = http(app);
            done = http.submit("{\"name\": \"done\", \"operation\": \"test-list\", \"input\": {\"root\": \"" + small
                    + "\"}}").path("id").asString();
            http.awaitStatus(done, "COMPLETED", 60);
            running = http.submit("{\"name\": \"running\", \"operation\": \"test-list\", \"params\": "
                    + "{\"delayMillis\": 200}, \"input\": {\"root\": \"" + slow + "\"}}").path("id").asString();
            JsonNode second = http.submit("{\"name\": \"queued\", \"operation\": \"test-list\", \"input\": {\"root\": \""
                    + small + "\"}}");
            queued = second.path("id").asString();
            assertThat(second.path("status").asString()).isEqualTo("QUEUED");
            http.await(running, j -> j.path("progress").path("filesDone").asLong() >= 2, 60);
            closeStarted = System.nanoTime();
        }
        // a shutdown stops the running job at its next commit instead of waiting for it to finish
        assertThat((System.nanoTime() - closeStarted) / 1_000_000).as("shutdown took (ms)").isLessThan(10_000);

        try (ConfigurableApplicationContext app = start()) {
            ApiHttp http = http(app);
            JsonNode before = http.job(done);
            assertThat(before.path("status").asString()).isEqualTo("COMPLETED");
            assertThat(before.path("name").asString()).isEqualTo("done");
            assertThat(http.job(queued).path("name").asString()).isEqualTo("queued");

            // stopped by the shutdown, resumed by the new start on its own, from where it stopped
            JsonNode interrupted = http.awaitStatus(running, "COMPLETED", 120);
            assertThat(interrupted.path("name").asString()).isEqualTo("running");
            assertThat(interrupted.path("executions").size()).as(interrupted.toPrettyString()).isEqualTo(2);
            assertThat(interrupted.path("executions").get(1).path("status").asString()).isEqualTo("STOPPED");
            assertThat(http.get("/api/jobs/" + running + "/output/files.txt").body().lines()).hasSize(30);

            JsonNode ranLater = http.awaitEnd(queued, 120);
            assertThat(ranLater.path("status").asString()).as(ranLater.toPrettyString()).isEqualTo("COMPLETED");
            assertThat(ranLater.path("executions").size()).isEqualTo(1);

            JsonNode list = json(http.get("/api/jobs"));
            assertThat(list.path("totalItems").asInt()).isEqualTo(3);
            assertThat(list.path("items").findValuesAsString("id")).containsExactly(queued, running, done);
            String next = http.submit("{\"operation\": \"test-list\", \"input\": {\"root\": \"" + small + "\"}}")
                    .path("id").asString();
            assertThat(next).as("ids keep growing across restarts").isGreaterThan(queued);
        }
    }
}
