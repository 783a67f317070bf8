package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.api.ListOperation;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * Two instances of the service on one PostgreSQL job repository, each with its own data dir (as two
 * pods of the chart's StatefulSet): a job runs on the instance that claimed it; an instance starting up
 * leaves the other's running job alone; a job stopped through one instance and restarted through the
 * other runs again where its work directory is; a job that a shutdown interrupted waits for its own
 * instance, which resumes it. This is PostgreSQL without cluster mode ({@code ringbatch.cluster.enabled=false}):
 * each job's partitions on its own instance, the work files in that instance's data dir; ClusterIT runs the
 * cluster.
 */
@Timeout(300)
class MultiInstanceIT {
    @TempDir
    Path dir;

    private ConfigurableApplicationContext start(String instance, LocalPostgres postgres) {
        Map<String, Object> props = new HashMap<>();
        props.put("server.port", "0");
        props.put("ringbatch.instance-id", instance);
        props.put("ringbatch.data-dir", dir.resolve("data-" + instance).toString());
        props.put("ringbatch.input-roots", dir.resolve("input").toString());
        props.put("ringbatch.output-root", dir.resolve("output").toString());
        props.put("ringbatch.security.admin-password", ApiHttp.ADMIN_PW);
        props.put("ringbatch.max-concurrent-jobs", "1");
        props.put("ringbatch.workers", "2");
        props.put("ringbatch.pipeline.commit-interval", "1");
        props.put("spring.lifecycle.timeout-per-shutdown-phase", "10s");
        props.put("spring.datasource.url", postgres.url());
        props.put("spring.datasource.username", LocalPostgres.USER);
        props.put("spring.datasource.password", "");
        props.put("ringbatch.cluster.enabled", "false");
        // as arguments: they must win over the H2 URL of the service's own application.yml
        return new SpringApplicationBuilder(RingbatchApplication.class, ListOperation.Config.class)
                .run(props.entrySet().stream().map(e -> "--" + e.getKey() + "=" + e.getValue()).toArray(String[]::new));
    }

    private static ApiHttp http(ConfigurableApplicationContext app) {
        return new ApiHttp(Integer.parseInt(app.getEnvironment().getProperty("local.server.port")));
    }

    private static String submit(ApiHttp http, String name, Path root, int delay) throws Exception {
        return http.submit("{\"name\": \"" + name + "\", \"operation\": \"test-list\", \"params\": {\"delayMillis\": "
                + delay + "}, \"input\": {\"root\": \"" + root + "\"}}").path("id").asString();
    }

    @Test
    void jobsRunAndRestartOnTheInstanceThatHoldsTheirWork() throws Exception {
        Path slow = Files.createDirectories(dir.resolve("input/slow"));
        for (int i = 0; i < 24; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
        try (LocalPostgres postgres = new LocalPostgres(dir)) {
            ConfigurableApplicationContext a = start("a", postgres);
            ApiHttp httpA = http(a);
            String first = submit(httpA, "first", slow, 250);
            httpA.await(first, j -> j.path("progress").path("bytesDone").asLong() > 0, 60);
            assertThat(httpA.job(first).path("instance").asString()).isEqualTo("a");

            // b starts while a runs the job: b's start-up recovery leaves it alone
            try (ConfigurableApplicationContext b = start("b", postgres)) {
                ApiHttp httpB = http(b);
                JsonNode seenFromB = httpB.job(first);
                assertThat(seenFromB.path("status").asString()).isEqualTo("STARTED");
                assertThat(seenFromB.path("executions").size()).isEqualTo(1);

                // a is busy (one job at a time): the next job goes to b
                String second = submit(httpB, "second", slow, 0);
                JsonNode done = httpB.awaitStatus(second, "COMPLETED", 60);
                assertThat(done.path("instance").asString()).isEqualTo("b");
                assertThat(Files.exists(dir.resolve("data-b/jobs").resolve(second))).isTrue();
                assertThat(Files.exists(dir.resolve("data-a/jobs").resolve(second + "/job.json"))).isFalse();

                // stopped through b, restarted through b: it runs again on a, where its work is
                assertThat(httpB.post("/api/jobs/" + first + "/stop").statusCode()).isEqualTo(202);
                httpB.awaitStatus(first, "STOPPED", 60);
                assertThat(httpB.post("/api/jobs/" + first + "/restart").statusCode()).isEqualTo(202);
                JsonNode restarted = httpB.awaitStatus(first, "COMPLETED", 90);
                assertThat(restarted.path("instance").asString()).isEqualTo("a");
                assertThat(restarted.path("executions").size()).isEqualTo(2);
                assertThat(Files.readAllLines(dir.resolve("output").resolve(first).resolve("files.txt"))).hasSize(24);

                // a stops (as a pod does on SIGTERM) with a job running: b does not take it ...
                String third = submit(httpA, "third", slow, 250);
                httpA.await(third, j -> j.path("progress").path("bytesDone").asLong() > 0, 60);
                a.close();
                a = null;
                JsonNode stopped = httpB.await(third, j -> ApiHttp.END.contains(j.path("status").asString()), 60);
                assertThat(stopped.path("status").asString()).isEqualTo("STOPPED");
                // b's dispatcher looks every second: through three of its looks, it must not take the job
                await("b leaves the job alone").during(Duration.ofSeconds(3)).atMost(Duration.ofSeconds(5))
                        .until(() -> httpB.job(third).path("executions").size(), executions -> executions == 1);

                // ... a's next start resumes it
                a = start("a", postgres);
                JsonNode resumed = httpB.awaitStatus(third, "COMPLETED", 90);
                assertThat(resumed.path("instance").asString()).isEqualTo("a");
                assertThat(resumed.path("executions").size()).isEqualTo(2);
            } finally {
                if (a != null) {
                    a.close();
                }
            }
        }
    }
}
