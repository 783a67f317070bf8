package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.assertInvalid;
import static io.ringbatch.api.ApiHttp.assertProblem;
import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
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
 * The queue over HTTP with the real runner: one job runs at a time, two may wait, the rest get 429; queued
 * jobs start in order when a running one ends; stop, restart and abandon of queued jobs. The whole data
 * dir is the input root here and the output root lies inside it, so outputs that overlap inputs can be
 * tried too.
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: it needs one job at a time and a queue of two,
 * and counts what is queued.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
        "ringbatch.max-concurrent-jobs=1",
        "ringbatch.queue-capacity=2",
        "ringbatch.workers=2",
        "ringbatch.pipeline.commit-interval=1"})
@Import(ListOperation.Config.class)
@DirtiesContext
@Timeout(180)
class JobQueueTest {
    @TempDir
    static Path dataDir;
    static Path slow;
    static Path small;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        registry.add("ringbatch.data-dir", () -> dataDir.toString());
        registry.add("ringbatch.input-roots", () -> dataDir.toString());
        registry.add("ringbatch.output-root", () -> dataDir.resolve("output").toString());
    }

    @LocalServerPort
    int port;

    @Autowired
    JobDispatcher dispatcher;

    ApiHttp http;

    @BeforeAll
    static void files() throws IOException {
        slow = Files.createDirectories(dataDir.resolve("in/slow"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
        small = Files.createDirectories(dataDir.resolve("in/small"));
        Files.writeString(small.resolve("one.txt"), "one\n");
        Files.createDirectories(dataDir.resolve("output"));
    }

    @BeforeEach
    void client() {
        http = new ApiHttp(port);
    }

    static String slowJob(String name) {
        return "{\"name\": \"" + name + "\", \"operation\": \"test-list\", \"params\": {\"delayMillis\": 100}, "
                + "\"input\": {\"root\": \"" + slow + "\"}}";
    }

    /** Stops whatever an earlier test left queued or running, and waits until it has ended. */
    private void awaitIdle() {
        await("no job busy").atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> {
            JsonNode busy = json(http.get("/api/jobs?status=QUEUED,STARTING,STARTED,STOPPING&size=100"));
            for (JsonNode j : busy.path("items")) {
                http.post("/api/jobs/" + j.path("id").asString() + "/stop");
            }
            return busy;
        }, busy -> busy.path("totalItems").asInt() == 0);
    }

    /** A dispatcher stopped and started again (a context paused and resumed) starts queued jobs again. */
    @Test
    void theDispatcherStartsJobsAgainAfterItsLifecycleRestarts() throws Exception {
        awaitIdle();
        dispatcher.stop();
        dispatcher.start();
        String id = http.submit("{\"operation\": \"checksum\", \"input\": {\"root\": \"" + small + "\"}}")
                .path("id").asString();
        assertThat(http.awaitEnd(id, 60).path("status").asString()).isEqualTo("COMPLETED");
    }

    @Test
    void oneRunsTwoWaitTheRestGet429AndQueuedJobsStartInOrder() throws Exception {
        awaitIdle();
        String a = http.submit(slowJob("a")).path("id").asString();
        JsonNode b = http.submit(slowJob("b"));
        JsonNode c = http.submit(slowJob("c"));
        assertThat(b.path("status").asString()).isEqualTo("QUEUED");
        assertThat(b.path("queuePosition").asInt()).isZero();
        assertThat(c.path("status").asString()).isEqualTo("QUEUED");
        assertThat(c.path("queuePosition").asInt()).isEqualTo(1);
        assertThat(c.path("timings").path("queuedSeconds").isNumber()).isTrue();
        assertThat(http.job(a).path("status").asString()).isIn("STARTING", "STARTED");

        HttpResponse<String> full = http.post("/api/jobs", slowJob("d"));
        JsonNode problem = assertProblem(full, 429);
        assertThat(problem.path("detail").asString()).contains("queue is full");
        assertThat(full.headers().firstValue("Retry-After")).hasValueSatisfying(
                v -> assertThat(Integer.parseInt(v)).isBetween(1, 300));

        JsonNode queued = json(http.get("/api/jobs?status=QUEUED"));
        assertThat(queued.path("totalItems").asInt()).isEqualTo(2);
        assertThat(queued.path("items").findValuesAsString("name")).containsExactly("c", "b");

        // stop of a queued job: it leaves the queue without running
        HttpResponse<String> stopB = http.post("/api/jobs/" + b.path("id").asString() + "/stop");
        assertThat(stopB.statusCode()).as(stopB.body()).isEqualTo(202);
        assertThat(json(stopB).path("status").asString()).isEqualTo("STOPPED");
        assertThat(json(stopB).path("executions").size()).isZero();
        assertThat(http.job(c.path("id").asString()).path("queuePosition").asInt()).isZero();

        String d = http.submit(slowJob("d")).path("id").asString();
        assertThat(http.job(d).path("queuePosition").asInt()).isEqualTo(1);

        // a running job ends: the first in the queue starts, the next moves up
        assertThat(http.post("/api/jobs/" + a + "/stop").statusCode()).isEqualTo(202);
        http.awaitStatus(a, "STOPPED", 60);
        http.await(c.path("id").asString(), j -> List.of("STARTING", "STARTED").contains(j.path("status").asString()), 30);
        assertThat(http.job(d).path("status").asString()).isEqualTo("QUEUED");
        assertThat(http.job(d).path("queuePosition").asInt()).isZero();

        // restart of a job stopped while queued: back into the queue, behind d
        HttpResponse<String> restartB = http.post("/api/jobs/" + b.path("id").asString() + "/restart");
        assertThat(restartB.statusCode()).as(restartB.body()).isEqualTo(202);
        assertThat(json(restartB).path("status").asString()).isEqualTo("QUEUED");
        assertThat(json(restartB).path("queuePosition").asInt()).isEqualTo(1);

        // the queue is full again: a restart is refused like a submission
        HttpResponse<String> restartA = http.post("/api/jobs/" + a + "/restart");
        assertProblem(restartA, 429);
        assertThat(restartA.headers().firstValue("Retry-After")).isPresent();

        // abandon of a queued job: it never runs
        HttpResponse<String> abandonD = http.post("/api/jobs/" + d + "/abandon");
        assertThat(abandonD.statusCode()).as(abandonD.body()).isEqualTo(200);
        assertThat(json(abandonD).path("status").asString()).isEqualTo("ABANDONED");

        // c finishes, then b runs from its start
        JsonNode doneC = http.awaitEnd(c.path("id").asString(), 90);
        assertThat(doneC.path("status").asString()).isEqualTo("COMPLETED");
        JsonNode doneB = http.awaitEnd(b.path("id").asString(), 90);
        assertThat(doneB.path("status").asString()).as(doneB.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(doneB.path("executions").size()).isEqualTo(1);
        assertThat(doneB.path("timings").path("queuedSeconds").asDouble()).isGreaterThan(0);
        JsonNode abandoned = http.job(d);
        assertThat(abandoned.path("status").asString()).isEqualTo("ABANDONED");
        assertThat(abandoned.path("executions").size()).isZero();
        assertProblem(http.post("/api/jobs/" + d + "/restart"), 409);

        // a, stopped while running, restarts and completes
        assertThat(http.post("/api/jobs/" + a + "/restart").statusCode()).isEqualTo(202);
        JsonNode doneA = http.awaitEnd(a, 90);
        assertThat(doneA.path("status").asString()).isEqualTo("COMPLETED");
        assertThat(doneA.path("executions").size()).isEqualTo(2);
    }

    @Test
    void hundredSubmissionsFromEightThreadsAreEachAcceptedAndCompletedOrRefusedWith429() throws Exception {
        awaitIdle();
        int before = json(http.get("/api/jobs?size=1")).path("totalItems").asInt();
        String body = "{\"operation\": \"test-list\", \"input\": {\"root\": \"" + small + "\"}}";
        ConcurrentLinkedQueue<String> accepted = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Integer> refused = new ConcurrentLinkedQueue<>();
        ExecutorService pool = Executors.newFixedThreadPool(8);
        List<Future<?>> futures = new ArrayList<>();
        for (int i = 0; i < 100; i++) {
            futures.add(pool.submit(() -> {
                HttpResponse<String> response = new ApiHttp(port).post("/api/jobs", body);
                if (response.statusCode() == 202) {
                    accepted.add(json(response).path("id").asString());
                } else {
                    assertProblem(response, 429);
                    assertThat(response.headers().firstValue("Retry-After")).isPresent();
                    refused.add(response.statusCode());
                }
                return null;
            }));
        }
        for (Future<?> f : futures) {
            f.get(60, TimeUnit.SECONDS);
        }
        pool.shutdown();
        assertThat(accepted.size() + refused.size()).isEqualTo(100);
        assertThat(accepted).isNotEmpty().doesNotHaveDuplicates();
        for (String id : accepted) {
            assertThat(http.awaitEnd(id, 90).path("status").asString()).isEqualTo("COMPLETED");
        }
        assertThat(json(http.get("/api/jobs?size=1")).path("totalItems").asInt()).as("none lost, none extra")
                .isEqualTo(before + accepted.size());
    }

    @Test
    void outputsMayNeitherLieInsideTheInputNorContainIt() throws Exception {
        Path inputInsideOutput = Files.createDirectories(dataDir.resolve("output/holder/in"));
        Files.writeString(inputInsideOutput.resolve("x.txt"), "x\n");
        JsonNode inside = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \""
                + dataDir + "\"}}"), "output.path");
        assertThat(inside.path("errors").get(0).path("reason").asString()).contains("inside the input root");
        JsonNode contains = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \""
                + inputInsideOutput + "\"}, \"output\": {\"path\": \"" + dataDir.resolve("output/holder") + "\"}}"),
                "output.path");
        assertThat(contains.path("errors").get(0).path("reason").asString()).contains("contain the input root");
        JsonNode below = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \""
                + inputInsideOutput + "\"}, \"output\": {\"path\": \"" + inputInsideOutput.resolve("out") + "\"}}"),
                "output.path");
        assertThat(below.path("errors").get(0).path("reason").asString()).contains("inside the input root");
    }
}
