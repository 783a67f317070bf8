package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.api.ApiHttp;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * {@code ringbatch.role=worker}, the web side: a combined instance and a worker on one real PostgreSQL
 * ({@link LocalPostgres}; a worker needs one). The worker answers its health and metrics and 404 (an RFC
 * 9457 problem) for the job API, the operations, the workers list, the dashboard, the login page and the
 * API description, with or without credentials; the combined instance lists both in {@code /api/workers}.
 * (In this package for {@link LocalPostgres}.)
 */
@Timeout(180)
class WorkerRoleTest {
    @TempDir
    static Path dir;
    /** Its own: the server's directory is opened to the postgres user when the tests run as root. */
    @TempDir
    static Path serverDir;

    static LocalPostgres postgres;
    static ConfigurableApplicationContext combined;
    static ConfigurableApplicationContext worker;

    @BeforeAll
    static void start() throws Exception {
        postgres = LocalPostgres.startOrSkip(serverDir);
        Files.createDirectories(dir.resolve("input"));
        combined = start("wr-combined", "combined");
        worker = start("wr-worker", "worker");
    }

    private static ConfigurableApplicationContext start(String instance, String role) {
        List<String> args = new ArrayList<>(List.of("--server.port=0", "--spring.main.banner-mode=off",
                "--ringbatch.instance-id=" + instance, "--ringbatch.role=" + role,
                "--ringbatch.data-dir=" + dir.resolve("data-" + instance),
                "--ringbatch.input-roots=" + dir.resolve("input"), "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.work-dir=" + dir.resolve("work"), "--ringbatch.workers=3",
                "--ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
                "--spring.datasource.url=" + postgres.url(), "--spring.datasource.username=" + LocalPostgres.USER,
                "--spring.datasource.password="));
        return new SpringApplicationBuilder(RingbatchApplication.class).run(args.toArray(String[]::new));
    }

    @AfterAll
    static void stop() throws Exception {
        for (ConfigurableApplicationContext app : Arrays.asList(worker, combined)) {
            if (app != null) {
                app.close();
            }
        }
        if (postgres != null) {
            postgres.close();
        }
    }

    private static ApiHttp http(ConfigurableApplicationContext app) {
        return new ApiHttp(((WebServerApplicationContext) app).getWebServer().getPort());
    }

    @Test
    void aWorkerServesHealthAndMetricsAndNothingElse() throws Exception {
        ApiHttp http = http(worker);
        HttpResponse<String> health = http.send(http.request("/actuator/health").GET());
        assertThat(health.statusCode()).as(health.body()).isEqualTo(200);
        assertThat(ApiHttp.json(health).path("status").asString()).isEqualTo("UP");
        assertThat(http.send(http.request("/actuator/health/readiness").GET()).statusCode()).isEqualTo(200);
        HttpResponse<String> metrics = http.get("/actuator/prometheus");
        assertThat(metrics.statusCode()).isEqualTo(200);
        assertThat(metrics.body()).contains("ringbatch_partitions_running", "ringbatch_partitions_queued");
        assertThat(http.send(http.request("/actuator/prometheus").GET()).statusCode()).as("still needs a login")
                .isEqualTo(401);

        for (String path : List.of("/api/jobs", "/api/jobs/01m8xfbjhkbpvvep", "/api/operations", "/api/workers",
                "/api/overview", "/api/me", "/", "/index.html", "/assets/app.js", "/login", "/v3/api-docs")) {
            for (HttpRequest.Builder request : List.of(http.admin(path).GET(), http.request(path).GET(),
                    http.request(path).header("Accept", "text/html").GET())) {
                HttpResponse<String> response = http.send(request);
                assertThat(response.statusCode()).as(path + ": " + response.body()).isEqualTo(404);
                JsonNode problem = ApiHttp.json(response);
                assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                        t -> assertThat(t).startsWith("application/problem+json"));
                assertThat(problem.path("detail").asString()).contains("ringbatch.role=worker");
            }
        }
        HttpResponse<String> submit = http.post("/api/jobs", "{\"operation\": \"wc\", \"input\": {\"root\": \"x\"}}");
        assertThat(submit.statusCode()).as(submit.body()).isEqualTo(404);
    }

    @Test
    void theCombinedInstanceServesTheApiAndListsBothInstances() throws Exception {
        ApiHttp http = http(combined);
        assertThat(http.get("/api/operations").statusCode()).isEqualTo(200);
        assertThat(http.send(http.request("/actuator/health").GET()).statusCode()).isEqualTo(200);
        JsonNode workers = ApiHttp.json(http.get("/api/workers"));
        List<String> listed = new ArrayList<>();
        workers.forEach(w -> listed.add(w.path("id").asString() + " " + w.path("role").asString() + " "
                + w.path("threads").asInt()));
        assertThat(listed).containsExactly("wr-combined combined 3", "wr-worker worker 3");
    }
}
