package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Predicate;
import org.awaitility.Awaitility;
import org.awaitility.core.ConditionTimeoutException;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/** A real HTTP client against the service on its port, logged in as admin unless told otherwise. */
public final class ApiHttp {
    public static final JsonMapper JSON = JsonMapper.builder().build();
    public static final String ADMIN_PW = "admin-secret";
    public static final String VIEWER_PW = "viewer-secret";
    public static final List<String> END = List.of("STOPPED", "COMPLETED", "FAILED", "ABANDONED");

    private final String base;
    private final HttpClient client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(10)).build();

    public ApiHttp(int port) {
        this.base = "http://localhost:" + port;
    }

    public String base() {
        return base;
    }

    public HttpClient client() {
        return client;
    }

    public static String basic(String user, String password) {
        return "Basic " + Base64.getEncoder().encodeToString((user + ":" + password).getBytes(StandardCharsets.UTF_8));
    }

    public HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30));
    }

    public HttpRequest.Builder admin(String path) {
        return request(path).header("Authorization", basic("admin", ADMIN_PW));
    }

    public HttpResponse<String> send(HttpRequest.Builder request) throws IOException, InterruptedException {
        return client.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    public HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return send(admin(path).GET());
    }

    public HttpResponse<String> post(String path, String json) throws IOException, InterruptedException {
        return send(admin(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)));
    }

    public HttpResponse<String> post(String path) throws IOException, InterruptedException {
        return send(admin(path).POST(HttpRequest.BodyPublishers.noBody()));
    }

    public static JsonNode json(HttpResponse<String> response) {
        return JSON.readTree(response.body());
    }

    /** Submits and expects 202; returns the job's body. */
    public JsonNode submit(String json) throws IOException, InterruptedException {
        HttpResponse<String> response = post("/api/jobs", json);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        return json(response);
    }

    public JsonNode job(String id) throws IOException, InterruptedException {
        HttpResponse<String> response = get("/api/jobs/" + id);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response);
    }

    /** Polls the job until the predicate holds (at most {@code seconds}); returns its last body. */
    public JsonNode await(String id, Predicate<JsonNode> until, int seconds) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        try {
            return Awaitility.await("job " + id).atMost(Duration.ofSeconds(seconds)).pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        JsonNode job = job(id);
                        last.set(job);
                        return job;
                    }, until::test);
        } catch (ConditionTimeoutException e) {
            throw new AssertionError("job " + id + " did not get there in " + seconds + " s; last seen:\n"
                    + (last.get() == null ? "nothing" : last.get().toPrettyString()), e);
        }
    }

    public JsonNode awaitStatus(String id, String status, int seconds) {
        return await(id, j -> status.equals(j.path("status").asString()), seconds);
    }

    public JsonNode awaitEnd(String id, int seconds) {
        return await(id, j -> END.contains(j.path("status").asString()), seconds);
    }

    /**
     * Waits until no job of the service is queued, starting, running or stopping: for a test in a shared
     * context (see {@code io.ringbatch.ServiceTest}) whose check is about the whole service.
     */
    public void awaitNoJobRunning() {
        Awaitility.await("no job queued or running (an earlier test's jobs ended)").atMost(Duration.ofSeconds(60))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> json(get("/api/jobs?status=QUEUED,STARTING,STARTED,STOPPING&size=1")).path("totalItems")
                        .asInt(), n -> n == 0);
    }

    /**
     * Checks an RFC 9457 problem: the status, its media type, the fields every problem has, and that
     * nothing of the internals shows (no exception class names, no stack frames).
     */
    public static JsonNode assertProblem(HttpResponse<String> response, int status) {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type")).as("problem media type of " + response.body())
                .hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
        JsonNode body = json(response);
        assertThat(body.path("status").asInt()).isEqualTo(status);
        assertThat(body.path("title").asString()).isNotBlank();
        assertThat(body.path("detail").asString()).isNotBlank();
        assertThat(response.body()).doesNotContainPattern("[A-Za-z]+(Exception|Error)\\b")
                .doesNotContain("\tat ").doesNotContain("java.").doesNotContain("springframework");
        return body;
    }

    /** A 400 problem whose first field is {@code field}; returns the body. */
    public static JsonNode assertInvalid(HttpResponse<String> response, String field) {
        JsonNode body = assertProblem(response, 400);
        assertThat(body.path("field").asString()).as(response.body()).isEqualTo(field);
        assertThat(body.path("errors").isArray()).isTrue();
        assertThat(body.path("errors").get(0).path("field").asString()).isEqualTo(field);
        assertThat(body.path("errors").get(0).path("reason").asString()).isNotBlank();
        return body;
    }
}
