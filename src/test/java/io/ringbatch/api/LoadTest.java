package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.assertProblem;
import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.TestDirs;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryUsage;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
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
 * The service under load over real HTTP: 500 small jobs submitted by 32 threads at once against a queue of
 * 100 (every answer 202 or 429, every accepted job completes, none lost), health always UP meanwhile, 100
 * event streams open at once while a job still runs through, and the heap afterwards. Nothing here is
 * timed: speed is the benchmarks' business; this proves that load is survived and nothing is lost.
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: it needs a queue of 100 to overflow and 200
 * event streams, and counts every job of the service (none lost, none made twice).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
        "ringbatch.security.viewer-password=" + ApiHttp.VIEWER_PW,
        "ringbatch.max-concurrent-jobs=2",
        "ringbatch.queue-capacity=100",
        "ringbatch.workers=2",
        "ringbatch.api.max-event-streams=200",
        "ringbatch.api.max-streams-per-user=200"}) // one user opens all the streams here
@Import(ListOperation.Config.class)
@DirtiesContext
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
@Timeout(240)
class LoadTest {
    static final int SUBMISSIONS = 500;
    static final int THREADS = 32;
    static final int STREAMS = 100;

    @TempDir
    static Path dataDir;
    static Path small;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> dataDir);
    }

    @LocalServerPort
    int port;

    @Autowired
    JobEvents events;

    ApiHttp http;
    static ApiSession session;

    static final Set<String> ACCEPTED = ConcurrentHashMap.newKeySet();
    static final AtomicInteger REFUSED = new AtomicInteger();
    static final AtomicInteger COMPLETED = new AtomicInteger();
    static final AtomicInteger HEALTH_POLLS = new AtomicInteger();

    @BeforeAll
    static void files() throws IOException {
        small = Files.createDirectories(dataDir.resolve("input/small"));
        for (int i = 0; i < 4; i++) {
            Files.writeString(small.resolve("f" + i + ".txt"), "line " + i + "\n".repeat(i + 1));
        }
        Files.createDirectories(dataDir.resolve("output"));
    }

    @BeforeEach
    void client() throws Exception {
        http = new ApiHttp(port);
        if (session == null) {
            session = ApiSession.login(http, "admin", ApiHttp.ADMIN_PW);
        }
    }

    @AfterAll
    static void summary() {
        System.out.println("LoadTest summary: submissions=" + SUBMISSIONS + " threads=" + THREADS + " accepted="
                + ACCEPTED.size() + " refused(429)=" + REFUSED.get() + " completed=" + COMPLETED.get()
                + " healthPolls=" + HEALTH_POLLS.get());
    }

    static String job(int i) {
        return "{\"name\": \"load-" + i + "\", \"operation\": \"test-list\", \"params\": {\"delayMillis\": " + (i % 21)
                + "}, \"input\": {\"root\": \"" + small + "\"}}";
    }

    /** GET with the session: cheap enough to poll with (basic checks a bcrypt hash per request). */
    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(session.apply(http.request(path)).GET());
    }

    /** Polls /actuator/health every 200 ms until stopped; anything but 200 UP is kept as a failure. */
    final class HealthWatch implements AutoCloseable {
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor();

        HealthWatch() {
            timer.scheduleAtFixedRate(() -> {
                try {
                    HttpResponse<String> health = http.send(http.request("/actuator/health")
                            .timeout(Duration.ofSeconds(10)).GET());
                    HEALTH_POLLS.incrementAndGet();
                    if (health.statusCode() != 200 || !"UP".equals(json(health).path("status").asString())) {
                        failures.add(health.statusCode() + " " + health.body());
                    }
                } catch (Exception e) {
                    failures.add(e.toString());
                }
            }, 0, 200, TimeUnit.MILLISECONDS);
        }

        @Override
        public void close() throws InterruptedException {
            timer.shutdown();
            assertThat(timer.awaitTermination(20, TimeUnit.SECONDS)).isTrue();
            assertThat(failures).as("/actuator/health while under load").isEmpty();
        }
    }

    @Test
    @Order(1)
    void fiveHundredSubmissionsFrom32ThreadsAreAcceptedOrRefusedAndEveryAcceptedJobCompletes() throws Exception {
        ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        try (HealthWatch health = new HealthWatch()) {
            ExecutorService pool = Executors.newFixedThreadPool(THREADS);
            CountDownLatch start = new CountDownLatch(1);
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < SUBMISSIONS; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    start.await();
                    HttpResponse<String> response = http.send(session.apply(http.request("/api/jobs"))
                            .header("Content-Type", "application/json")
                            .POST(HttpRequest.BodyPublishers.ofString(job(n))));
                    try {
                        if (response.statusCode() == 202) {
                            String id = json(response).path("id").asString();
                            assertThat(response.headers().firstValue("Location")).hasValue("/api/jobs/" + id);
                            assertThat(ACCEPTED.add(id)).as("a new id").isTrue();
                        } else {
                            JsonNode problem = assertProblem(response, 429);
                            assertThat(problem.path("detail").asString()).contains("queue is full");
                            assertThat(response.headers().firstValue("Retry-After")).hasValueSatisfying(
                                    v -> assertThat(Integer.parseInt(v)).isBetween(1, 300));
                            REFUSED.incrementAndGet();
                        }
                    } catch (AssertionError | RuntimeException e) {
                        failures.add("submission " + n + ": " + response.statusCode() + " " + response.body() + ": " + e);
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            pool.shutdown();
            assertThat(failures).as("answers to the submissions").isEmpty();
            assertThat(ACCEPTED.size() + REFUSED.get()).isEqualTo(SUBMISSIONS);
            assertThat(ACCEPTED.size()).as("at least the queue's capacity is accepted").isGreaterThanOrEqualTo(100);
            assertThat(REFUSED.get()).as("500 at once overflow a queue of 100").isPositive();

            // every accepted job ends, and ends COMPLETED
            await("every accepted job has ended").atMost(Duration.ofSeconds(150)).pollInterval(Duration.ofMillis(500))
                    .until(() -> json(get("/api/jobs?status=QUEUED,STARTING,STARTED,STOPPING&size=1"))
                            .path("totalItems").asInt(), busy -> busy == 0);
        }
        for (String id : ACCEPTED) {
            HttpResponse<String> response = get("/api/jobs/" + id);
            assertThat(response.statusCode()).as(id + ": " + response.body()).isEqualTo(200);
            JsonNode job = json(response);
            assertThat(job.path("status").asString()).as(job.toPrettyString()).isEqualTo("COMPLETED");
            assertThat(job.path("progress").path("filesDone").asInt()).isEqualTo(4);
            COMPLETED.incrementAndGet();
        }
        JsonNode all = json(get("/api/jobs?size=100"));
        assertThat(all.path("totalItems").asInt()).as("no job lost, none made twice").isEqualTo(ACCEPTED.size());
        assertThat(json(get("/api/jobs?status=COMPLETED&size=1")).path("totalItems").asInt()).isEqualTo(ACCEPTED.size());
        assertThat(json(get("/api/jobs?status=FAILED&size=1")).path("totalItems").asInt()).isZero();
        JsonNode overview = json(get("/api/overview"));
        assertThat(overview.path("queued").asInt()).isZero();
        assertThat(overview.path("jobsByStatus").path("COMPLETED").asInt()).isEqualTo(ACCEPTED.size());
        System.out.println("LoadTest submissions: accepted=" + ACCEPTED.size() + " refused(429)=" + REFUSED.get()
                + " completed=" + COMPLETED.get());
    }

    @Test
    @Order(2)
    void aHundredEventStreamsAtOnceAndAJobStillRunsThrough() throws Exception {
        List<InputStream> bodies = new ArrayList<>();
        ExecutorService readers = Executors.newFixedThreadPool(16);
        try (HealthWatch health = new HealthWatch()) {
            List<CompletableFuture<HttpResponse<InputStream>>> opening = new ArrayList<>();
            for (int i = 0; i < STREAMS; i++) {
                opening.add(http.client().sendAsync(http.admin("/api/overview/events")
                                .header("Accept", "text/event-stream").timeout(Duration.ofSeconds(60)).GET().build(),
                        HttpResponse.BodyHandlers.ofInputStream()));
            }
            for (CompletableFuture<HttpResponse<InputStream>> f : opening) {
                HttpResponse<InputStream> response = f.get(60, TimeUnit.SECONDS);
                bodies.add(response.body());
                assertThat(response.statusCode()).isEqualTo(200);
                assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                        t -> assertThat(t).startsWith("text/event-stream"));
            }
            assertThat(events.open()).as("streams the server holds").isEqualTo(STREAMS);

            // a couple of events from each (the first at once, then one a second as the overview changes)
            List<Future<List<String>>> reads = new ArrayList<>();
            for (InputStream body : bodies) {
                reads.add(readers.submit(() -> events(body, 2)));
            }
            String id = http.submit(job(7)).path("id").asString();
            for (Future<List<String>> read : reads) {
                List<String> two = read.get(60, TimeUnit.SECONDS);
                assertThat(two).hasSize(2);
                for (String data : two) {
                    JsonNode overview = ApiHttp.JSON.readTree(data);
                    assertThat(overview.path("maxConcurrentJobs").asInt()).isEqualTo(2);
                    assertThat(overview.path("jobsByStatus").isObject()).isTrue();
                }
            }
            JsonNode done = http.awaitEnd(id, 90);
            assertThat(done.path("status").asString()).as(done.toPrettyString()).isEqualTo("COMPLETED");
            assertThat(events.open()).as("the streams are still open").isEqualTo(STREAMS);
        } finally {
            for (InputStream body : bodies) {
                body.close();
            }
            readers.shutdownNow();
        }
        // the server notices the closed streams at its next send (a second) and lets them go
        await("the server lets go of the streams the clients closed").atMost(Duration.ofSeconds(30))
                .pollInterval(Duration.ofMillis(200)).until(events::open, open -> open == 0);
        assertThat(http.get("/api/overview").statusCode()).isEqualTo(200);
    }

    /** The data of the next {@code count} events of a stream. */
    static List<String> events(InputStream body, int count) throws IOException {
        BufferedReader reader = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8));
        List<String> out = new ArrayList<>();
        StringBuilder data = new StringBuilder();
        String line;
        while (out.size() < count && (line = reader.readLine()) != null) {
            if (line.startsWith("data:")) {
                data.append(line.substring(5));
            } else if (line.isEmpty() && !data.isEmpty()) {
                out.add(data.toString());
                data.setLength(0);
            }
        }
        return out;
    }

    @Test
    @Order(3)
    void afterTheLoadTheHeapIsBack() {
        MemoryUsage before = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
        long max = before.getMax() > 0 ? before.getMax() : Runtime.getRuntime().maxMemory();
        // a collection before each look: what the load left behind must be garbage
        MemoryUsage heap = await("the heap back after the load").atMost(Duration.ofSeconds(10))
                .pollInterval(Duration.ofMillis(200)).until(() -> {
                    System.gc();
                    return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage();
                }, h -> h.getUsed() < (long) (max * 0.75) && h.getUsed() < 512L << 20);
        System.out.printf("LoadTest heap after the load and GC: used %d MB of max %d MB (%.1f%%), committed %d MB%n",
                heap.getUsed() >> 20, max >> 20, 100.0 * heap.getUsed() / max, heap.getCommitted() >> 20);
    }
}
