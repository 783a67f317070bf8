package io.ringbatch.api;

import static io.ringbatch.api.ApiHttp.assertInvalid;
import static io.ringbatch.api.ApiHttp.assertProblem;
import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import java.io.BufferedReader;
import java.io.IOException;
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
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The jobs API over real HTTP against the real service: the real job runner and pipeline, the real H2
 * file database, real files (in the context the {@link ServiceTest} classes share: the files of this class
 * are under {@code input/JobApiTest}). Jobs run {@link ListOperation}, a test operation whose speed the
 * test sets.
 */
@ServiceTest
@Timeout(120)
class JobApiTest {
    static Path input;
    static Path tree;
    static Path slow;
    static Path outputRoot;
    static Path outside;

    @Value("${ringbatch.api.max-event-streams}")
    int maxEventStreams;

    @Value("${ringbatch.api.max-streams-per-user}")
    int maxStreamsPerUser;

    @Autowired
    JobEvents events;

    @LocalServerPort
    int port;

    ApiHttp http;

    @BeforeAll
    static void files() throws IOException {
        input = Files.createDirectories(TestDirs.input().resolve("JobApiTest"));
        outputRoot = TestDirs.output();
        outside = Files.createDirectories(TestDirs.shared().resolve("JobApiTest-outside"));
        Files.writeString(outside.resolve("secret.txt"), "not for jobs\n");
        tree = Files.createDirectories(input.resolve("tree"));
        Files.writeString(tree.resolve("a.txt"), "alpha\n");
        Files.writeString(tree.resolve("b.log"), "bravo bravo\n");
        Files.createDirectories(tree.resolve("sub"));
        Files.writeString(tree.resolve("sub/c.txt"), "charlie\n");
        Files.writeString(tree.resolve("name with späces.txt"), "delta\n");
        Files.createSymbolicLink(input.resolve("escape"), outside);
        Files.writeString(input.resolve("plain-file.txt"), "a file, not a directory\n");
        slow = Files.createDirectories(input.resolve("slow"));
        for (int i = 0; i < 40; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }
    }

    @BeforeEach
    void client() {
        http = new ApiHttp(port);
    }

    static String job(String root) {
        return "{\"operation\": \"test-list\", \"input\": {\"root\": \"" + root + "\"}}";
    }

    static String slowJob(int delayMillis) {
        return "{\"operation\": \"test-list\", \"params\": {\"delayMillis\": " + delayMillis + "}, "
                + "\"input\": {\"root\": \"" + slow + "\"}}";
    }

    // ---- submission and a job's life ---------------------------------------------------------------

    @Test
    void aSubmittedJobRunsToCompletionAndShowsItsProgressOutputAndSpec() throws Exception {
        String body = "{\"name\": \"first\", \"operation\": \"test-list\", \"params\": {\"mode\": \"sizes\"},"
                + " \"input\": {\"root\": \"" + tree + "\", \"include\": [\"**.txt\", \"*.txt\"], \"exclude\": [\"sub/**\"]},"
                + " \"options\": {\"skipUnreadable\": true}}";
        HttpResponse<String> response = http.post("/api/jobs", body);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(202);
        JsonNode job = json(response);
        String id = job.path("id").asString();
        assertThat(id).matches("[0-9a-z]{16}");
        assertThat(response.headers().firstValue("Location")).hasValue("/api/jobs/" + id);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/json"));
        assertThat(job.path("status").asString()).isIn("QUEUED", "STARTING", "STARTED", "COMPLETED");
        assertThat(job.path("name").asString()).isEqualTo("first");
        assertThat(job.path("operation").asString()).isEqualTo("test-list");
        assertThat(job.path("spec").path("params").path("mode").asString()).isEqualTo("sizes");
        assertThat(job.path("spec").path("input").path("include").size()).isEqualTo(2);
        JsonNode definition = job.path("definition");
        assertThat(definition.path("inputRoot").asString()).isEqualTo(tree.toRealPath().toString());
        assertThat(definition.path("outputPath").asString()).isEqualTo(outputRoot.toRealPath().resolve(id).toString());
        assertThat(definition.path("params").path("mode").asString()).isEqualTo("sizes");
        assertThat(definition.path("params").path("delayMillis").asString()).as("defaults filled in").isEqualTo("0");
        assertThat(definition.path("skipUnreadable").asBoolean()).isTrue();
        assertThat(job.path("links").path("events").asString()).isEqualTo("/api/jobs/" + id + "/events");

        JsonNode done = http.awaitEnd(id, 60);
        assertThat(done.path("status").asString()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(done.path("phase").asString()).isEqualTo("done");
        JsonNode progress = done.path("progress");
        assertThat(progress.path("filesTotal").asLong()).isEqualTo(2); // a.txt and "name with späces.txt"
        assertThat(progress.path("filesDone").asLong()).isEqualTo(2);
        assertThat(progress.path("bytesTotal").asLong()).isEqualTo(12);
        assertThat(progress.path("bytesDone").asLong()).isEqualTo(12);
        assertThat(progress.path("percent").asDouble()).isEqualTo(100.0);
        assertThat(progress.path("etaSeconds").isNull()).isTrue();
        assertThat(done.path("executions").size()).isEqualTo(1);
        assertThat(done.path("executions").get(0).path("status").asString()).isEqualTo("COMPLETED");
        assertThat(done.path("partitions").size()).isGreaterThanOrEqualTo(1);
        assertThat(done.path("engine").asString()).isIn("io_uring", "blocking");
        assertThat(done.path("startedAt").isNull()).isFalse();
        assertThat(done.path("endedAt").isNull()).isFalse();
        assertThat(done.path("timings").path("runSeconds").asDouble()).isGreaterThan(0);
        assertThat(done.path("timings").has("waitSeconds")).isTrue();
        assertThat(done.path("timings").has("busySeconds")).isTrue();
        assertThat(done.path("error").isNull()).isTrue();
        JsonNode output = done.path("output");
        assertThat(output.path("exists").asBoolean()).isTrue();
        assertThat(names(output.path("files"))).contains("files.txt", "nested/dir/count.txt", "job-report.json");

        HttpResponse<String> listing = http.get("/api/jobs/" + id + "/output");
        assertThat(listing.statusCode()).isEqualTo(200);
        JsonNode files = json(listing);
        assertThat(files.path("exists").asBoolean()).isTrue();
        String expected = "a.txt\t6\nname with späces.txt\t6\n";
        assertThat(files.path("files")).anySatisfy(f -> {
            assertThat(f.path("name").asString()).isEqualTo("files.txt");
            assertThat(f.path("size").asLong()).isEqualTo(expected.getBytes(StandardCharsets.UTF_8).length);
        });
        assertThat(files.path("fileCount").asInt()).isEqualTo(files.path("files").size());

        HttpResponse<String> download = http.get("/api/jobs/" + id + "/output/files.txt");
        assertThat(download.statusCode()).isEqualTo(200);
        assertThat(download.body()).isEqualTo(expected);
        assertThat(download.headers().firstValue("Content-Disposition")).hasValueSatisfying(
                d -> assertThat(d).startsWith("attachment").contains("files.txt"));
        HttpResponse<String> nested = http.get("/api/jobs/" + id + "/output/nested/dir/count.txt");
        assertThat(nested.statusCode()).isEqualTo(200);
        assertThat(nested.body()).isEqualTo("2\n");
        assertThat(Files.readString(outputRoot.resolve(id).resolve("files.txt"))).isEqualTo(expected);
    }

    @Test
    void theRealOperationsRunThroughTheApi() throws Exception {
        JsonNode ops = json(http.get("/api/operations"));
        assertThat(ops.findValuesAsString("name")).contains("checksum", "grep", "wc", "gzip", "csv-to-jsonl")
                .as("noop only with ringbatch.operations.noop=true").doesNotContain("noop");
        JsonNode job = http.submit("{\"operation\": \"checksum\", \"params\": {\"algorithm\": \"sha256\"}, "
                + "\"input\": {\"root\": \"" + tree + "\"}}");
        String id = job.path("id").asString();
        assertThat(http.awaitEnd(id, 60).path("status").asString()).isEqualTo("COMPLETED");
        StringBuilder expected = new StringBuilder();
        for (String name : List.of("a.txt", "b.log", "name with späces.txt", "sub/c.txt")) {
            byte[] digest = java.security.MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(tree.resolve(name)));
            expected.append(java.util.HexFormat.of().formatHex(digest)).append("  ").append(name).append('\n');
        }
        assertThat(http.get("/api/jobs/" + id + "/output/checksums.sha256").body()).isEqualTo(expected.toString());

        assertInvalid(http.post("/api/jobs", "{\"operation\": \"grep\", \"params\": {\"pattern\": \"a(b\"}, "
                + "\"input\": {\"root\": \"" + tree + "\"}}"), "params.pattern");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"grep\", \"input\": {\"root\": \"" + tree + "\"}}"),
                "params.pattern");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"gzip\", \"params\": {\"level\": 10}, "
                + "\"input\": {\"root\": \"" + tree + "\"}}"), "params.level");
    }

    private static List<String> names(JsonNode files) {
        List<String> names = new ArrayList<>();
        files.forEach(f -> names.add(f.path("name").asString()));
        return names;
    }

    @Test
    void relativePathsAreTakenRelativeToTheRootsAndAnEmptyOutputDirectoryIsAccepted() throws Exception {
        Path empty = Files.createDirectories(outputRoot.resolve("pre-made-" + UUID.randomUUID()));
        JsonNode job = http.submit("{\"operation\": \"test-list\", \"input\": {\"root\": \"JobApiTest/tree/sub\"}, "
                + "\"output\": {\"path\": \"" + empty.getFileName() + "\"}}");
        assertThat(job.path("definition").path("inputRoot").asString())
                .isEqualTo(tree.resolve("sub").toRealPath().toString());
        assertThat(job.path("definition").path("outputPath").asString()).isEqualTo(empty.toRealPath().toString());
        JsonNode done = http.awaitEnd(job.path("id").asString(), 60);
        assertThat(done.path("status").asString()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(Files.readString(empty.resolve("files.txt"))).isEqualTo("c.txt\t8\n");
    }

    @Test
    void theIdempotencyKeyReturnsTheSameJobAndRefusesADifferentBody() throws Exception {
        String key = "key-" + UUID.randomUUID();
        String body = job(tree.toString());
        HttpRequest.Builder first = http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString(body));
        HttpResponse<String> created = http.send(first);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(202);
        String id = json(created).path("id").asString();

        HttpResponse<String> again = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString(body)));
        assertThat(again.statusCode()).as(again.body()).isEqualTo(200);
        assertThat(json(again).path("id").asString()).isEqualTo(id);
        assertThat(again.headers().firstValue("Location")).hasValue("/api/jobs/" + id);

        http.awaitEnd(id, 60);
        HttpResponse<String> afterEnd = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString(body)));
        assertThat(afterEnd.statusCode()).as("still the same job once it has run").isEqualTo(200);
        assertThat(json(afterEnd).path("id").asString()).isEqualTo(id);

        HttpResponse<String> different = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", key).POST(HttpRequest.BodyPublishers.ofString(job(slow.toString()))));
        JsonNode problem = assertProblem(different, 422);
        assertThat(problem.path("field").asString()).isEqualTo("Idempotency-Key");
        assertThat(problem.path("detail").asString()).contains(id);

        HttpResponse<String> badKey = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .header("Idempotency-Key", "x".repeat(201)).POST(HttpRequest.BodyPublishers.ofString(body)));
        assertInvalid(badKey, "Idempotency-Key");

        int before = json(http.get("/api/jobs?size=1")).path("totalItems").asInt();
        HttpResponse<String> none = http.post("/api/jobs", body);
        assertThat(none.statusCode()).as("without a key, every submission is a new job").isEqualTo(202);
        assertThat(json(http.get("/api/jobs?size=1")).path("totalItems").asInt()).isEqualTo(before + 1);
    }

    // ---- steering ------------------------------------------------------------------------------------

    @Test
    void aRunningJobStopsRestartsFromWhereItStoppedAndCompletes() throws Exception {
        String id = http.submit(slowJob(100)).path("id").asString();
        JsonNode running = http.await(id, j -> j.path("progress").path("filesDone").asLong() >= 2, 60);
        assertThat(running.path("status").asString()).isEqualTo("STARTED");
        assertThat(running.path("phase").asString()).isEqualTo("processing");
        assertThat(running.path("progress").path("percent").asDouble()).isBetween(0.0, 99.9);
        assertThat(running.path("progress").path("bytesPerSecond").asDouble()).isPositive();
        assertThat(running.path("progress").path("etaSeconds").isNumber()).as(running.toPrettyString()).isTrue();
        assertThat(running.path("partitions").get(0).path("status").asString()).isEqualTo("STARTED");
        assertThat(running.path("output").path("exists").asBoolean()).isFalse();
        JsonNode listed = json(http.get("/api/jobs?status=STARTED&size=100")).path("items").findParents("id").stream()
                .filter(j -> j.path("id").asString().equals(id)).findFirst().orElseThrow();
        assertThat(listed.path("percent").isNumber()).isTrue();
        assertThat(http.post("/api/jobs/" + id + "/restart").statusCode()).as("restart of a running job").isEqualTo(409);
        assertThat(http.post("/api/jobs/" + id + "/abandon").statusCode()).as("abandon of a running job").isEqualTo(409);

        HttpResponse<String> stop = http.post("/api/jobs/" + id + "/stop");
        assertThat(stop.statusCode()).as(stop.body()).isEqualTo(202);
        assertThat(json(stop).path("status").asString()).isIn("STOPPING", "STOPPED");
        JsonNode stopped = http.awaitEnd(id, 60);
        assertThat(stopped.path("status").asString()).as(stopped.toPrettyString()).isEqualTo("STOPPED");
        long doneWhenStopped = stopped.path("progress").path("filesDone").asLong();
        assertThat(doneWhenStopped).isLessThan(40);
        assertProblem(http.post("/api/jobs/" + id + "/stop"), 409);

        HttpResponse<String> restart = http.post("/api/jobs/" + id + "/restart");
        assertThat(restart.statusCode()).as(restart.body()).isEqualTo(202);
        assertThat(json(restart).path("id").asString()).isEqualTo(id);
        JsonNode done = http.awaitEnd(id, 90);
        assertThat(done.path("status").asString()).as(done.toPrettyString()).isEqualTo("COMPLETED");
        assertThat(done.path("executions").size()).isEqualTo(2);
        assertThat(done.path("progress").path("filesDone").asLong()).isEqualTo(40);
        String list = http.get("/api/jobs/" + id + "/output/files.txt").body();
        assertThat(list.lines()).hasSize(40);

        assertProblem(http.post("/api/jobs/" + id + "/stop"), 409);
        assertProblem(http.post("/api/jobs/" + id + "/restart"), 409);
        assertProblem(http.post("/api/jobs/" + id + "/abandon"), 409);
    }

    @Test
    void aStoppedJobCanBeAbandonedAndThenNeverRunsAgain() throws Exception {
        String id = http.submit(slowJob(100)).path("id").asString();
        http.await(id, j -> "STARTED".equals(j.path("status").asString()), 60);
        assertThat(http.post("/api/jobs/" + id + "/stop").statusCode()).isEqualTo(202);
        http.awaitStatus(id, "STOPPED", 60);

        HttpResponse<String> abandon = http.post("/api/jobs/" + id + "/abandon");
        assertThat(abandon.statusCode()).as(abandon.body()).isEqualTo(200);
        assertThat(json(abandon).path("status").asString()).isEqualTo("ABANDONED");
        assertThat(http.job(id).path("status").asString()).isEqualTo("ABANDONED");
        JsonNode restart = assertProblem(http.post("/api/jobs/" + id + "/restart"), 409);
        assertThat(restart.path("detail").asString()).contains("ABANDONED");
        assertProblem(http.post("/api/jobs/" + id + "/abandon"), 409);
        assertProblem(http.post("/api/jobs/" + id + "/stop"), 409);
        HttpResponse<String> listed = http.get("/api/jobs?status=ABANDONED&size=100");
        assertThat(json(listed).path("items").findValuesAsString("id")).contains(id);
    }

    // ---- listing -------------------------------------------------------------------------------------

    @Test
    void jobsAreListedNewestFirstInPagesAndFilteredByStatus() throws Exception {
        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            ids.add(http.submit("{\"name\": \"page-" + i + "\", \"operation\": \"test-list\", \"input\": {\"root\": \""
                    + tree.resolve("sub") + "\"}}").path("id").asString());
        }
        for (String id : ids) {
            http.awaitEnd(id, 60);
        }
        JsonNode page = json(http.get("/api/jobs?size=2&page=0"));
        assertThat(page.path("page").asInt()).isZero();
        assertThat(page.path("size").asInt()).isEqualTo(2);
        long total = page.path("totalItems").asLong();
        assertThat(total).isGreaterThanOrEqualTo(3);
        assertThat(page.path("totalPages").asInt()).isEqualTo((int) ((total + 1) / 2));
        assertThat(page.path("items").size()).isEqualTo(2);

        // newest first: the three just made come in reverse order, before every older job
        List<String> all = new ArrayList<>();
        for (int p = 0; p < page.path("totalPages").asInt(); p++) {
            json(http.get("/api/jobs?size=2&page=" + p)).path("items").forEach(j -> all.add(j.path("id").asString()));
        }
        assertThat(all).hasSize((int) total).doesNotHaveDuplicates();
        assertThat(all.indexOf(ids.get(2))).isLessThan(all.indexOf(ids.get(1)));
        assertThat(all.indexOf(ids.get(1))).isLessThan(all.indexOf(ids.get(0)));
        assertThat(all).isSortedAccordingTo((a, b) -> b.compareTo(a));

        JsonNode summary = json(http.get("/api/jobs?size=100")).path("items").findParents("id").stream()
                .filter(j -> j.path("id").asString().equals(ids.get(0))).findFirst().orElseThrow();
        assertThat(summary.path("name").asString()).isEqualTo("page-0");
        assertThat(summary.path("status").asString()).isEqualTo("COMPLETED");
        assertThat(summary.path("percent").asDouble()).isEqualTo(100.0);
        assertThat(summary.path("links").path("self").asString()).isEqualTo("/api/jobs/" + ids.get(0));

        // the table, which the filter reads, follows the end a moment after the view shows it
        org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(5)).untilAsserted(() -> {
            JsonNode completed = json(http.get("/api/jobs?status=completed&size=100"));
            assertThat(completed.path("items").findValuesAsString("status")).containsOnly("COMPLETED");
            assertThat(completed.path("items").findValuesAsString("id")).containsAll(ids);
        });
        JsonNode two = json(http.get("/api/jobs?status=COMPLETED,STOPPED&status=ABANDONED&size=100"));
        assertThat(two.path("items").findValuesAsString("status")).isSubsetOf("COMPLETED", "STOPPED", "ABANDONED");
        JsonNode queued = json(http.get("/api/jobs?status=QUEUED&size=100"));
        assertThat(queued.path("items").findValuesAsString("status")).allMatch("QUEUED"::equals);
        assertThat(queued.path("items").findValuesAsString("id")).doesNotContainAnyElementsOf(ids);
        JsonNode beyond = json(http.get("/api/jobs?page=1000"));
        assertThat(beyond.path("items").size()).isZero();
        assertThat(beyond.path("totalItems").asLong()).isEqualTo(total);

        assertInvalid(http.get("/api/jobs?status=DONE"), "status");
        assertInvalid(http.get("/api/jobs?page=-1"), "page");
        assertInvalid(http.get("/api/jobs?size=0"), "size");
        assertInvalid(http.get("/api/jobs?size=101"), "size");
        assertInvalid(http.get("/api/jobs?page=abc"), "page");
        assertInvalid(http.get("/api/jobs?size=1.5"), "size");
    }

    // ---- events --------------------------------------------------------------------------------------

    @Test
    void theEventStreamSendsTheJobWhileItChangesAndAFinalEventWhenItEnds() throws Exception {
        String id = http.submit(slowJob(50)).path("id").asString();
        HttpResponse<InputStream> response = http.client().send(http.admin("/api/jobs/" + id + "/events")
                .header("Accept", "text/event-stream").GET().build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("text/event-stream"));
        List<String> names = new ArrayList<>();
        List<JsonNode> views = new ArrayList<>();
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String name = null;
            StringBuilder data = new StringBuilder();
            for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                if (line.startsWith("event:")) {
                    name = line.substring(6).trim();
                } else if (line.startsWith("data:")) {
                    data.append(line.substring(5));
                } else if (line.isEmpty() && name != null) {
                    names.add(name);
                    views.add(ApiHttp.JSON.readTree(data.toString()));
                    name = null;
                    data.setLength(0);
                }
            }
        }
        // the stream ended by itself (readLine returned null): the server completed it
        assertThat(names).isNotEmpty();
        assertThat(names.get(names.size() - 1)).isEqualTo("end");
        assertThat(names.subList(0, names.size() - 1)).containsOnly("job");
        assertThat(names.size()).as("progress came in several events").isGreaterThanOrEqualTo(3);
        JsonNode last = views.get(views.size() - 1);
        assertThat(last.path("id").asString()).isEqualTo(id);
        assertThat(last.path("status").asString()).isEqualTo("COMPLETED");
        assertThat(last.path("progress").path("filesDone").asLong()).isEqualTo(40);
        for (int i = 1; i < views.size() - 1; i++) {
            assertThat(views.get(i).toString()).as("only changes are sent").isNotEqualTo(views.get(i - 1).toString());
        }

        // a job that has ended: one final event at once
        HttpResponse<String> ended = http.send(http.admin("/api/jobs/" + id + "/events").GET());
        assertThat(ended.statusCode()).isEqualTo(200);
        assertThat(ended.body()).startsWith("id:").contains("event:end").contains("\"status\":\"COMPLETED\"");
    }

    @Test
    void eventStreamsAreBoundedPerUserAndInTotalAndAClientThatGoesAwayFreesItsStream() throws Exception {
        String id = http.submit(slowJob(400)).path("id").asString();
        List<InputStream> streams = new ArrayList<>();
        String viewer = ApiHttp.basic("viewer", ApiHttp.VIEWER_PW);
        try {
            // the streams other tests may still hold count too
            for (int i = events.open("admin"); i < maxStreamsPerUser && events.open() < maxEventStreams; i++) {
                HttpResponse<InputStream> stream = http.client().send(http.admin("/api/jobs/" + id + "/events").GET()
                        .build(), HttpResponse.BodyHandlers.ofInputStream());
                assertThat(stream.statusCode()).isEqualTo(200);
                streams.add(stream.body());
            }
            assertThat(streams).isNotEmpty();
            if (events.open() < maxEventStreams) {
                HttpResponse<String> fifth = http.send(http.admin("/api/jobs/" + id + "/events").GET());
                JsonNode mine = assertProblem(fifth, 429);
                assertThat(mine.path("detail").asString()).contains("too many event streams of this user");
                assertThat(fifth.headers().firstValue("Retry-After")).isPresent();
            }
            // one user's limit leaves the others theirs: the viewer takes the rest
            while (events.open() < maxEventStreams) {
                HttpResponse<InputStream> stream = http.client().send(http.request("/api/jobs/" + id + "/events")
                        .header("Authorization", viewer).GET().build(), HttpResponse.BodyHandlers.ofInputStream());
                assertThat(stream.statusCode()).isEqualTo(200);
                streams.add(stream.body());
            }
            HttpResponse<String> oneMore = http.send(http.request("/api/jobs/" + id + "/events")
                    .header("Authorization", viewer).GET());
            JsonNode busy = assertProblem(oneMore, 503);
            assertThat(busy.path("detail").asString()).contains("too many event streams are open");
            assertThat(oneMore.headers().firstValue("Retry-After")).isPresent();

            streams.remove(0).close();
            // the server notices the closed stream at its next send to it
            HttpResponse<InputStream> again = await("the closed stream was noticed").atMost(Duration.ofSeconds(15))
                    .pollInterval(Duration.ofMillis(250)).until(() -> {
                        HttpResponse<InputStream> r = http.client().send(http.admin("/api/jobs/" + id + "/events").GET()
                                .build(), HttpResponse.BodyHandlers.ofInputStream());
                        if (r.statusCode() != 200) {
                            r.body().close();
                        }
                        return r;
                    }, r -> r.statusCode() == 200);
            streams.add(again.body());
            assertThat(http.job(id).path("status").asString()).as("noticed while the job still ran").isEqualTo("STARTED");
        } finally {
            http.post("/api/jobs/" + id + "/stop");
            http.awaitEnd(id, 60);
            for (InputStream s : streams) {
                s.readAllBytes(); // the streams end with the job
                s.close();
            }
        }
    }

    // ---- operations and API docs -----------------------------------------------------------------------

    @Test
    void operationsAreListedWithTheirParameters() throws Exception {
        HttpResponse<String> response = http.send(http.request("/api/operations")
                .header("Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW)).GET());
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode ops = json(response);
        JsonNode list = ops.findParents("name").stream().filter(o -> o.path("name").asString().equals("test-list"))
                .findFirst().orElseThrow();
        assertThat(list.path("description").asString()).isNotBlank();
        assertThat(list.path("split").asString()).isEqualTo("WHOLE");
        assertThat(list.path("parameters").findValuesAsString("name")).containsExactly("delayMillis", "pattern", "mode", "failWhile");
        JsonNode mode = list.path("parameters").get(2);
        assertThat(mode.path("type").asString()).isEqualTo("enum");
        assertThat(mode.path("defaultValue").asString()).isEqualTo("names");
        assertThat(mode.path("allowed").size()).isEqualTo(2);
    }

    @Test
    void theOpenApiDescriptionIsThereForLoggedInUsers() throws Exception {
        HttpResponse<String> docs = http.send(http.request("/v3/api-docs")
                .header("Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW)).GET());
        assertThat(docs.statusCode()).as(docs.body()).isEqualTo(200);
        JsonNode api = json(docs);
        assertThat(api.path("openapi").asString()).startsWith("3.");
        JsonNode paths = api.path("paths");
        assertThat(paths.has("/api/jobs")).isTrue();
        assertThat(paths.path("/api/jobs").has("post")).isTrue();
        assertThat(paths.path("/api/jobs").has("get")).isTrue();
        assertThat(paths.has("/api/jobs/{id}")).isTrue();
        assertThat(paths.has("/api/jobs/{id}/stop")).isTrue();
        assertThat(paths.has("/api/jobs/{id}/events")).isTrue();
        assertThat(paths.has("/api/operations")).isTrue();
        assertThat(paths.propertyNames()).as("only the API").allMatch(p -> p.startsWith("/api/"));
        assertThat(paths.has("/api/jobs/{id}/output/{file}")).as(paths.propertyNames().toString()).isTrue();
        assertThat(paths.path("/api/jobs").path("post").path("requestBody").path("content")
                .path("application/json").path("schema").path("$ref").asString()).endsWith("/JobRequest");
        assertThat(api.path("components").path("schemas").has("JobRequest")).isTrue();
        assertThat(api.path("components").path("securitySchemes").has("basic")).isTrue();
        assertThat(http.send(http.request("/v3/api-docs").GET()).statusCode()).isEqualTo(401);
    }

    // ---- errors --------------------------------------------------------------------------------------

    @Test
    void malformedAndMistypedBodiesAreRefusedNamingWhereAndWhat() throws Exception {
        JsonNode malformed = assertProblem(http.post("/api/jobs", "{\"operation\": \"test-list\",\n \"input\": {\"root\" \"x\"}}"), 400);
        assertThat(malformed.path("detail").asString()).startsWith("malformed JSON at line 2, column");
        assertProblem(http.post("/api/jobs", "{\"operation\": \"test-list\"} trailing"), 400);
        JsonNode duplicate = assertProblem(http.post("/api/jobs", "{\"operation\": \"a\", \"operation\": \"b\"}"), 400);
        assertThat(duplicate.path("detail").asString()).contains("operation");
        assertThat(assertProblem(http.post("/api/jobs", "[1, 2]"), 400).path("detail").asString()).contains("JSON object");
        assertThat(assertProblem(http.post("/api/jobs", ""), 400).path("detail").asString()).contains("missing");
        assertProblem(http.post("/api/jobs", "null"), 400);

        JsonNode unknown = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"colour\": 1, "
                + "\"input\": {\"root\": \"" + tree + "\", \"recursive\": true}, \"options\": {\"fast\": true}}"), "colour");
        assertThat(unknown.path("errors").findValuesAsString("field")).containsExactly("colour", "input.recursive",
                "options.fast");
        assertThat(unknown.path("errors").get(0).path("reason").asString()).contains("unknown field");

        JsonNode types = assertInvalid(http.post("/api/jobs", "{\"operation\": 7, \"name\": [\"x\"], "
                + "\"params\": \"delay\", \"input\": {\"root\": \"" + tree + "\", \"include\": [\"*.txt\", 3], "
                + "\"exclude\": \"*.log\"}, \"output\": \"out\", \"options\": {\"skipUnreadable\": \"true\"}}"), "name");
        assertThat(types.path("errors").findValuesAsString("field")).containsExactlyInAnyOrder("name", "operation",
                "params", "input.include[1]", "input.exclude", "output", "options.skipUnreadable");
        assertThat(types.path("errors").findParents("field").stream()
                .filter(e -> e.path("field").asString().equals("options.skipUnreadable")).findFirst().orElseThrow()
                .path("reason").asString()).isEqualTo("must be true or false, not a string");

        HttpResponse<String> text = http.send(http.admin("/api/jobs").header("Content-Type", "text/plain")
                .POST(HttpRequest.BodyPublishers.ofString(job(tree.toString()))));
        assertProblem(text, 415);
        HttpResponse<String> tooLarge = http.post("/api/jobs", "{\"name\": \"" + "x".repeat(70_000) + "\"}");
        assertThat(assertProblem(tooLarge, 413).path("detail").asString()).contains("larger than");
    }

    @Test
    void aChunkedBodyPastTheLimitIsRefusedToo() throws Exception {
        byte[] big = ("{\"name\": \"" + "y".repeat(100_000) + "\"}").getBytes(StandardCharsets.UTF_8);
        HttpResponse<String> response = http.send(http.admin("/api/jobs").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new java.io.ByteArrayInputStream(big))));
        assertProblem(response, 413);
    }

    @Test
    void badSpecsAreRefusedNamingTheField() throws Exception {
        String root = tree.toString();
        assertInvalid(http.post("/api/jobs", "{\"input\": {\"root\": \"" + root + "\"}}"), "operation");
        JsonNode unknownOp = assertInvalid(http.post("/api/jobs", "{\"operation\": \"nope\", \"input\": {\"root\": \""
                + root + "\"}}"), "operation");
        assertThat(unknownOp.path("errors").get(0).path("reason").asString()).contains("nope").contains("test-list");
        JsonNode regex = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": "
                + "{\"pattern\": \"a(b\"}, \"input\": {\"root\": \"" + root + "\"}}"), "params.pattern");
        assertThat(regex.path("detail").asString()).contains("regular expression");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": {\"delayMillis\": \"5\"}, "
                + "\"input\": {\"root\": \"" + root + "\"}}"), "params.delayMillis");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": {\"speed\": 1}, "
                + "\"input\": {\"root\": \"" + root + "\"}}"), "params.speed");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": {\"explode\": 1}, "
                + "\"input\": {\"root\": \"" + root + "\"}}"), "params");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\"}"), "input");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {}}"), "input.root");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \" \"}}"), "input.root");
        JsonNode both = assertInvalid(http.post("/api/jobs", "{\"operation\": \"nope\", \"name\": \"" + "n".repeat(201)
                + "\", \"input\": {\"root\": \"/etc\"}}"), "name");
        assertThat(both.path("errors").findValuesAsString("field")).containsExactly("name", "operation", "input.root");
        assertThat(both.path("detail").asString()).startsWith("3 problems");
    }

    @Test
    void inputRootsOutsideTheConfiguredRootsAreRefusedAfterResolvingDotDotAndLinks() throws Exception {
        JsonNode etc = assertInvalid(http.post("/api/jobs", job("/etc")), "input.root");
        assertThat(etc.path("errors").get(0).path("reason").asString()).contains("inside one of the input roots");
        JsonNode missingOutside = assertInvalid(http.post("/api/jobs", job("/no/such/dir/anywhere")), "input.root");
        assertThat(missingOutside.path("errors").get(0).path("reason").asString())
                .as("outside the roots, not even existence is looked at").contains("inside one of the input roots");
        assertInvalid(http.post("/api/jobs", job(tree + "/../../../" + outside.getFileName())), "input.root");
        assertInvalid(http.post("/api/jobs", job("../" + outside.getFileName())), "input.root");
        JsonNode link = assertInvalid(http.post("/api/jobs", job(input.resolve("escape").toString())), "input.root");
        assertThat(link.path("errors").get(0).path("reason").asString()).contains("symbolic link");
        JsonNode missing = assertInvalid(http.post("/api/jobs", job(input.resolve("missing").toString())), "input.root");
        assertThat(missing.path("errors").get(0).path("reason").asString()).isEqualTo("does not exist");
        JsonNode file = assertInvalid(http.post("/api/jobs", job(input.resolve("plain-file.txt").toString())), "input.root");
        assertThat(file.path("errors").get(0).path("reason").asString()).isEqualTo("is not a directory");
        assertInvalid(http.post("/api/jobs", job("bad\\u0000path")), "input.root");
        // inside after all: .. that stays within the root
        assertThat(http.post("/api/jobs", job(tree + "/sub/..")).statusCode()).isEqualTo(202);
    }

    @Test
    void globsMustBeValid() throws Exception {
        JsonNode glob = assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \""
                + tree + "\", \"include\": [\"*.txt\", \"[a-\"], \"exclude\": [\"{a,b\", \"\"]}}"), "input.include[1]");
        assertThat(glob.path("errors").findValuesAsString("field")).containsExactly("input.include[1]",
                "input.exclude[0]", "input.exclude[1]");
        assertInvalid(http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \"" + tree
                + "\", \"include\": [\"/abs/*.txt\"]}}"), "input.include[0]");
    }

    @Test
    void outputPathsMustBeNewOrEmptyInsideTheOutputRootAndApartFromTheInput() throws Exception {
        assertInvalid(post(outside.resolve("out")), "output.path");
        assertInvalid(post(outputRoot), "output.path");
        assertInvalid(post(Path.of(outputRoot + "/x/../../" + outside.getFileName() + "/out")), "output.path");
        Path full = Files.createDirectories(outputRoot.resolve("full-" + UUID.randomUUID()));
        Files.writeString(full.resolve("old.txt"), "old");
        JsonNode notEmpty = assertInvalid(post(full), "output.path");
        assertThat(notEmpty.path("errors").get(0).path("reason").asString()).contains("not empty");
        assertInvalid(post(full.resolve("old.txt")), "output.path");
        Path link = outputRoot.resolve("link-" + UUID.randomUUID());
        Files.createSymbolicLink(link, outside);
        JsonNode linked = assertInvalid(post(link.resolve("out")), "output.path");
        assertThat(linked.path("errors").get(0).path("reason").asString()).contains("symbolic link");
        assertInvalid(post(Path.of("")), "output.path");

        // the same output for two jobs that have not completed
        Path shared = outputRoot.resolve("shared-" + UUID.randomUUID());
        HttpResponse<String> first = http.post("/api/jobs", "{\"operation\": \"test-list\", \"params\": "
                + "{\"delayMillis\": 100}, \"input\": {\"root\": \"" + slow + "\"}, \"output\": {\"path\": \"" + shared
                + "\"}}");
        assertThat(first.statusCode()).isEqualTo(202);
        JsonNode taken = assertInvalid(post(shared), "output.path");
        assertThat(taken.path("errors").get(0).path("reason").asString()).contains(json(first).path("id").asString());
        String id = json(first).path("id").asString();
        http.post("/api/jobs/" + id + "/stop");
        http.awaitEnd(id, 60);
        http.post("/api/jobs/" + id + "/abandon");
    }

    private HttpResponse<String> post(Path output) throws IOException, InterruptedException {
        return http.post("/api/jobs", "{\"operation\": \"test-list\", \"input\": {\"root\": \"" + tree
                + "\"}, \"output\": {\"path\": \"" + output + "\"}}");
    }

    @Test
    void unknownJobsAre404Problems() throws Exception {
        assertProblem(http.get("/api/jobs/nosuchjob"), 404);
        assertProblem(http.post("/api/jobs/nosuchjob/stop"), 404);
        assertProblem(http.post("/api/jobs/nosuchjob/restart"), 404);
        assertProblem(http.post("/api/jobs/nosuchjob/abandon"), 404);
        assertProblem(http.get("/api/jobs/nosuchjob/output"), 404);
        assertProblem(http.get("/api/jobs/nosuchjob/output/files.txt"), 404);
        assertProblem(http.get("/api/jobs/nosuchjob/events"), 404);
        assertProblem(http.send(http.admin("/api/jobs/nosuchjob/events").header("Accept", "text/event-stream")), 404);
        assertProblem(http.get("/api/jobs/nosuchjob/output/"), 404);
        assertProblem(http.get("/api/nothing/here"), 404);
    }

    @Test
    void downloadsStayInsideTheJobsOutput() throws Exception {
        String id = http.submit(job(tree.resolve("sub").toString())).path("id").asString();
        http.awaitStatus(id, "COMPLETED", 60);
        Path out = outputRoot.resolve(id);
        Files.createSymbolicLink(out.resolve("sneaky.txt"), outside.resolve("secret.txt"));

        assertProblem(http.get("/api/jobs/" + id + "/output/missing.txt"), 404);
        assertProblem(http.get("/api/jobs/" + id + "/output/nested"), 404);
        JsonNode link = assertProblem(http.get("/api/jobs/" + id + "/output/sneaky.txt"), 404);
        assertThat(link.toString()).doesNotContain("not for jobs");
        for (String escape : List.of("/output/%2e%2e/%2e%2e/outside/secret.txt",
                "/output/nested/%2e%2e/%2e%2e/%2e%2e/outside/secret.txt", "/output/nested//count.txt",
                "/output/nested/./count.txt")) {
            HttpResponse<String> response = http.get("/api/jobs/" + id + escape);
            assertThat(response.statusCode()).as(escape).isIn(400, 404);
            assertProblem(response, response.statusCode());
            assertThat(response.body()).doesNotContain("not for jobs");
        }
        // an encoded slash is refused by Tomcat itself, before the application sees the request (its own
        // HTML error page, not a problem): still nothing is read
        HttpResponse<String> slash = http.get("/api/jobs/" + id + "/output/..%2F..%2Foutside%2Fsecret.txt");
        assertThat(slash.statusCode()).isEqualTo(400);
        assertThat(slash.body()).doesNotContain("not for jobs");
        assertThat(http.get("/api/jobs/" + id + "/output/files.txt").statusCode()).isEqualTo(200);

        // a job whose output is not there yet
        String running = http.submit(slowJob(200)).path("id").asString();
        HttpResponse<String> none = http.get("/api/jobs/" + running + "/output");
        assertThat(none.statusCode()).isEqualTo(200);
        assertThat(json(none).path("exists").asBoolean()).isFalse();
        assertThat(json(none).path("files").size()).isZero();
        assertProblem(http.get("/api/jobs/" + running + "/output/files.txt"), 404);
        http.post("/api/jobs/" + running + "/stop");
        http.awaitEnd(running, 60);
    }

    @Test
    void methodsAndMediaTypesTheApiDoesNotServeAreProblemsToo() throws Exception {
        HttpResponse<String> delete = http.send(http.admin("/api/jobs/x").DELETE());
        JsonNode problem = assertProblem(delete, 405);
        assertThat(delete.headers().firstValue("Allow")).isPresent();
        assertThat(problem.path("instance").asString()).isEqualTo("/api/jobs/x");
        assertProblem(http.send(http.admin("/api/operations").POST(HttpRequest.BodyPublishers.noBody())), 405);
        HttpResponse<String> html = http.send(http.admin("/api/jobs/nosuchjob").header("Accept", "text/html"));
        assertThat(html.statusCode()).isEqualTo(404);
    }

    @Test
    void viewersReadButCannotSubmitOrSteerAndStrangersAreAskedToLogIn() throws Exception {
        String viewer = ApiHttp.basic("viewer", ApiHttp.VIEWER_PW);
        HttpResponse<String> submit = http.send(http.request("/api/jobs").header("Authorization", viewer)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(job(tree.toString()))));
        JsonNode forbidden = assertProblem(submit, 403);
        assertThat(forbidden.path("detail").asString()).contains("OPERATOR");
        assertProblem(http.send(http.request("/api/jobs/x/stop").header("Authorization", viewer)
                .POST(HttpRequest.BodyPublishers.noBody())), 403);
        assertThat(http.send(http.request("/api/jobs").header("Authorization", viewer).GET()).statusCode())
                .isEqualTo(200);

        HttpResponse<String> anonymous = http.send(http.request("/api/jobs").GET());
        assertProblem(anonymous, 401);
        assertThat(anonymous.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"ringbatch\"");
        HttpResponse<String> script = http.send(http.request("/api/jobs").header("X-Requested-With", "XMLHttpRequest")
                .GET());
        assertProblem(script, 401);
        assertThat(script.headers().firstValue("WWW-Authenticate")).isEmpty();
    }
}
