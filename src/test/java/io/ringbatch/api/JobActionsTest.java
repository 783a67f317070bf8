package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.TestDirs;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * What each view says the caller may do ({@code actions}), over HTTP: per status and role, the same on a
 * job, in the list, in the overview and in the events streams, and never something the command would
 * refuse with 409. Also: reading a job writes nothing, and the overview counts every status.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
        "ringbatch.security.viewer-password=" + ApiHttp.VIEWER_PW,
        "ringbatch.max-concurrent-jobs=1",
        "ringbatch.queue-capacity=10",
        "ringbatch.workers=2",
        "ringbatch.pipeline.commit-interval=1"})
@Import(ListOperation.Config.class)
@DirtiesContext
@Timeout(120)
class JobActionsTest {
    private static final String VIEWER = ApiHttp.basic("viewer", ApiHttp.VIEWER_PW);
    private static final List<String> ALL = List.of("stop", "restart", "abandon");

    @TempDir
    static Path dataDir;
    static Path slow;
    static Path fast;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> dataDir);
    }

    @BeforeAll
    static void files() throws Exception {
        slow = Files.createDirectories(dataDir.resolve("input").resolve("slow"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
        fast = Files.createDirectories(dataDir.resolve("input").resolve("fast"));
        Files.writeString(fast.resolve("a.txt"), "alpha\n");
    }

    @LocalServerPort
    int port;

    @Autowired
    JobStore store;

    @Autowired
    JobDispatcher dispatcher;

    private String submit(ApiHttp http, Path root, int delayMillis) throws Exception {
        return http.submit("{\"operation\": \"test-list\", \"params\": {\"delayMillis\": " + delayMillis + "}, "
                + "\"input\": {\"root\": \"" + root + "\"}}").path("id").asString();
    }

    private static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asString()));
        return out;
    }

    private JsonNode get(ApiHttp http, String path, String authorization) throws Exception {
        HttpResponse<String> response = http.send(http.request(path).header("Authorization", authorization).GET());
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return json(response);
    }

    private JsonNode awaitStatus(ApiHttp http, String id, String status) {
        AtomicReference<JsonNode> last = new AtomicReference<>();
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            last.set(http.job(id));
            assertThat(last.get().path("status").asString()).isEqualTo(status);
        });
        return last.get();
    }

    /** The job's actions for the operator and the viewer, on the job and on its item of the list. */
    private void assertActions(ApiHttp http, String id, List<String> expected) throws Exception {
        String admin = ApiHttp.basic("admin", ApiHttp.ADMIN_PW);
        assertThat(strings(get(http, "/api/jobs/" + id, admin).path("actions"))).as("job " + id)
                .containsExactlyElementsOf(expected);
        assertThat(strings(get(http, "/api/jobs/" + id, VIEWER).path("actions"))).as("viewer, job " + id).isEmpty();
        for (String who : List.of(admin, VIEWER)) {
            JsonNode item = null;
            for (JsonNode i : get(http, "/api/jobs?size=100", who).path("items")) {
                if (id.equals(i.path("id").asString())) {
                    item = i;
                }
            }
            assertThat(item).as("job " + id + " in the list").isNotNull();
            assertThat(strings(item.path("actions"))).as("list item " + id)
                    .containsExactlyElementsOf(who.equals(admin) ? expected : List.of());
        }
    }

    /** Every action the view does not offer is refused with 409 (those it offers are tried by the caller). */
    private void assertRefusedExcept(ApiHttp http, String id, List<String> offered) throws Exception {
        for (String action : ALL) {
            if (!offered.contains(action)) {
                ApiHttp.assertProblem(http.post("/api/jobs/" + id + "/" + action), 409);
            }
        }
    }

    /**
     * A plan step busy matching globs (here some 40 s of them: 60 globs of 1,000 characters that all stay
     * alive to the end of each of 1,000 names of 240 characters) sees a stop within a second: it ends
     * STOPPED without a plan.
     */
    @Test
    void aStopReachesThePlanStep() throws Exception {
        Path globby = Files.createDirectories(dataDir.resolve("input").resolve("globby"));
        for (int i = 0; i < 300; i++) {
            Files.createFile(globby.resolve("a".repeat(236) + String.format("%04d", i)));
        }
        StringBuilder include = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            include.append(i == 0 ? "" : ", ").append('"').append("**a".repeat(333)).append("b\"");
        }
        ApiHttp http = new ApiHttp(port);
        String id = http.submit("{\"operation\": \"test-list\", \"input\": {\"root\": \"" + globby
                + "\", \"include\": [" + include + "]}}").path("id").asString();
        awaitStatus(http, id, "STARTED");
        assertThat(http.post("/api/jobs/" + id + "/stop").statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(2)).pollInterval(Duration.ofMillis(50))
                .untilAsserted(() -> assertThat(http.job(id).path("status").asString()).isEqualTo("STOPPED"));
        assertThat(dataDir.resolve("jobs").resolve(id).resolve("plan.json")).doesNotExist();
    }

    @Test
    void actionsFollowTheStatusAndTheRoleAndAgreeWithTheCommands() throws Exception {
        ApiHttp http = new ApiHttp(port);
        String running = submit(http, slow, 300);
        awaitStatus(http, running, "STARTED");
        String queued = submit(http, fast, 0);
        assertThat(http.job(queued).path("status").asString()).isEqualTo("QUEUED");

        assertActions(http, running, List.of("stop"));
        assertRefusedExcept(http, running, List.of("stop"));
        assertActions(http, queued, List.of("stop", "abandon"));
        assertRefusedExcept(http, queued, List.of("stop", "abandon"));

        // the overview's running jobs carry them too, per caller
        JsonNode overview = get(http, "/api/overview", ApiHttp.basic("admin", ApiHttp.ADMIN_PW));
        JsonNode active = overview.path("active").get(0);
        assertThat(active.path("id").asString()).isEqualTo(running);
        assertThat(strings(active.path("actions"))).containsExactly("stop");
        assertThat(strings(get(http, "/api/overview", VIEWER).path("active").get(0).path("actions"))).isEmpty();

        // the job's events stream: the viewer's view offers nothing, the operator's offers stop
        assertThat(strings(firstEvent(http, "/api/jobs/" + running + "/events", VIEWER).path("actions"))).isEmpty();
        assertThat(strings(firstEvent(http, "/api/jobs/" + running + "/events",
                ApiHttp.basic("admin", ApiHttp.ADMIN_PW)).path("actions"))).containsExactly("stop");
        assertThat(strings(firstEvent(http, "/api/overview/events", ApiHttp.basic("admin", ApiHttp.ADMIN_PW))
                .path("active").get(0).path("actions"))).containsExactly("stop");

        assertThat(http.post("/api/jobs/" + running + "/stop").statusCode()).isEqualTo(202);
        awaitStatus(http, running, "STOPPED");
        assertActions(http, running, List.of("restart", "abandon"));
        assertRefusedExcept(http, running, List.of("restart", "abandon"));

        // with the slot free, the queued job ran: completed, nothing to do
        awaitStatus(http, queued, "COMPLETED");
        assertActions(http, queued, List.of());
        assertRefusedExcept(http, queued, List.of());

        assertThat(http.post("/api/jobs/" + running + "/abandon").statusCode()).isEqualTo(200);
        assertActions(http, running, List.of());
        assertRefusedExcept(http, running, List.of());
    }

    @Test
    void theOverviewCountsEveryStatusInOrder() throws Exception {
        ApiHttp http = new ApiHttp(port);
        JsonNode counts = get(http, "/api/overview", VIEWER).path("jobsByStatus");
        assertThat(counts.propertyNames()).containsExactly("QUEUED", "STARTING", "STARTED", "STOPPING", "STOPPED",
                "COMPLETED", "FAILED", "ABANDONED", "UNKNOWN");
        counts.forEach(n -> assertThat(n.isInt()).isTrue());
    }

    @Test
    void theContractNamesTheActionsAndTheStatuses() throws Exception {
        ApiHttp http = new ApiHttp(port);
        JsonNode schemas = json(http.get("/v3/api-docs")).path("components").path("schemas");
        for (String schema : List.of("Job", "JobSummary")) {
            JsonNode actions = schemas.path(schema).path("properties").path("actions");
            assertThat(actions.path("type").asString()).as(schema).isEqualTo("array");
            assertThat(strings(actions.path("items").path("enum"))).as(schema).containsExactlyElementsOf(ALL);
            assertThat(strings(schemas.path(schema).path("properties").path("status").path("enum"))).as(schema)
                    .containsExactly("QUEUED", "STARTING", "STARTED", "STOPPING", "STOPPED", "COMPLETED", "FAILED",
                            "ABANDONED", "UNKNOWN");
        }
    }

    @Test
    void readingAJobWritesNothing() throws Exception {
        ApiHttp http = new ApiHttp(port);
        String id = submit(http, fast, 0);
        awaitStatus(http, id, "COMPLETED");
        // A row that says STARTING while Spring Batch says COMPLETED: what a crash between the two writes
        // leaves. Only the dispatcher brings it in line; with its lock held here it cannot, so any change
        // to the row while the job is read would be the read's.
        dispatcher.lock.lock();
        try {
            store.setStatus(id, null, "STARTING", null, store.find(id).orElseThrow().updatedAt());
            JobStore.Row before = store.find(id).orElseThrow();
            assertThat(http.job(id).path("status").asString()).isEqualTo("COMPLETED");
            assertThat(get(http, "/api/jobs/" + id, VIEWER).path("status").asString()).isEqualTo("COMPLETED");
            get(http, "/api/jobs?size=100", VIEWER);
            get(http, "/api/overview", VIEWER);
            assertThat(store.find(id).orElseThrow()).isEqualTo(before);
        } finally {
            dispatcher.lock.unlock();
        }
        // and the dispatcher does it at its next round
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(store.find(id).orElseThrow().status()).isEqualTo("COMPLETED"));
    }

    /** The data of the first event of a stream, then the stream is closed. */
    private static JsonNode firstEvent(ApiHttp http, String path, String authorization) throws Exception {
        HttpResponse<InputStream> response = http.client().send(http.request(path).header("Authorization", authorization)
                .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            for (String line = in.readLine(); line != null; line = in.readLine()) {
                if (line.startsWith("data:")) {
                    return ApiHttp.JSON.readTree(line.substring(5));
                }
            }
        }
        throw new AssertionError("no event on " + path);
    }
}
