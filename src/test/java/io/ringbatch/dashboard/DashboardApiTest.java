package io.ringbatch.dashboard;

import static io.ringbatch.api.ApiHttp.json;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.TestDirs;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.api.ListOperation;
import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Import;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * What the dashboard reads and does over HTTP, without a browser: the overview and its stream, who is
 * logged in, a job's throughput over time, bulk restart, the login form and its "stay signed in" cookie,
 * and 401s that do not raise a browser's password dialog for a page's script or event stream.
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: a bulk restart by status restarts every FAILED
 * job of the service, and the test counts them; and the overview's numbers are the whole service's.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW,
        "ringbatch.security.viewer-password=" + ApiHttp.VIEWER_PW,
        "ringbatch.workers=2",
        "ringbatch.pipeline.commit-interval=1"})
@Import(ListOperation.Config.class)
@DirtiesContext
@Timeout(120)
class DashboardApiTest {
    @TempDir
    static Path dataDir;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) {
        TestDirs.register(registry, () -> dataDir);
    }

    @LocalServerPort
    int port;

    private Path tree(String name, int files) throws Exception {
        Path dir = Files.createDirectories(dataDir.resolve("input").resolve(name));
        for (int i = 0; i < files; i++) {
            Files.writeString(dir.resolve(String.format("f%02d.txt", i)), "x".repeat(100 + i) + "\n");
        }
        return dir;
    }

    private String submit(ApiHttp http, String name, Path root, int delay) throws Exception {
        return http.submit("{\"name\": \"" + name + "\", \"operation\": \"test-list\", \"params\": {\"delayMillis\": "
                + delay + "}, \"input\": {\"root\": \"" + root + "\"}}").path("id").asString();
    }

    @Test
    void theOverviewCountsJobsAndSamplesThroughput() throws Exception {
        ApiHttp http = new ApiHttp(port);
        String id = submit(http, "overview", tree("overview", 12), 150);
        http.awaitStatus(id, "STARTED", 30);
        JsonNode running = json(http.get("/api/overview"));
        assertThat(running.path("running").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(running.path("active").findValuesAsString("id")).contains(id);
        assertThat(running.path("workers").path("size").asInt()).isEqualTo(2);
        assertThat(running.path("engine").path("name").asString()).isIn("io_uring", "blocking");
        assertThat(running.path("engine").path("requested").asString()).isEqualTo("auto");
        assertThat(running.path("maxConcurrentJobs").asInt()).isEqualTo(2);
        assertThat(running.path("inputRoots").get(0).asString()).isEqualTo(dataDir.resolve("input").toString());
        http.awaitStatus(id, "COMPLETED", 60);

        // a job that ran for under a second may have been sampled once so far: the sampler ticks every second;
        // and the counts, read from the table, follow the job's end a moment after its view shows it
        JsonNode done = await("two throughput samples and the job counted").atMost(Duration.ofSeconds(5))
                .pollInterval(Duration.ofMillis(100))
                .until(() -> json(http.get("/api/overview")), o -> o.path("history").size() >= 2
                        && o.path("jobsByStatus").path("COMPLETED").asInt() >= 1);
        assertThat(done.path("jobsByStatus").path("COMPLETED").asInt()).isGreaterThanOrEqualTo(1);
        assertThat(done.path("jobsByStatus").size()).as("every status named").isEqualTo(9);
        JsonNode history = done.path("history");
        assertThat(history.size()).isBetween(2, 600);
        double bytes = 0;
        for (JsonNode sample : history) {
            bytes += sample.path("bytesPerSecond").asDouble();
        }
        assertThat(bytes).as("the job's bytes show up in the samples").isGreaterThan(0);

        // the job's own chart: from the file the sampler keeps in its work dir
        JsonNode points = json(http.get("/api/jobs/" + id + "/throughput"));
        assertThat(points.size()).isGreaterThanOrEqualTo(2);
        long previous = -1;
        for (JsonNode p : points) {
            assertThat(p.path("bytesDone").asLong()).isGreaterThanOrEqualTo(previous);
            previous = p.path("bytesDone").asLong();
        }
        assertThat(previous).isEqualTo(http.job(id).path("progress").path("bytesTotal").asLong());
        assertThat(Files.readString(dataDir.resolve("jobs").resolve(id).resolve(Throughput.FILE))).contains("\t");
        ApiHttp.assertProblem(http.get("/api/jobs/nosuchjob/throughput"), 404);

        // a viewer reads it; nobody else does
        assertThat(http.send(http.request("/api/overview").header("Authorization",
                ApiHttp.basic("viewer", ApiHttp.VIEWER_PW))).statusCode()).isEqualTo(200);
        assertThat(http.send(http.request("/api/overview")).statusCode()).isEqualTo(401);
    }

    @Test
    void theOverviewStreamsEverySecond() throws Exception {
        ApiHttp http = new ApiHttp(port);
        HttpResponse<InputStream> response = http.client().send(http.admin("/api/overview/events")
                .header("Accept", "text/event-stream").build(), HttpResponse.BodyHandlers.ofInputStream());
        assertThat(response.statusCode()).isEqualTo(200);
        int events = 0;
        try (BufferedReader in = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            String line;
            while (events < 2 && (line = in.readLine()) != null) {
                if (line.startsWith("event:")) {
                    assertThat(line).isEqualTo("event:overview");
                    events++;
                }
                if (line.startsWith("data:")) {
                    JsonNode data = ApiHttp.JSON.readTree(line.substring(5));
                    assertThat(data.path("history").size()).as("only the newest sample").isLessThanOrEqualTo(1);
                    assertThat(data.has("jobsByStatus")).isTrue();
                }
            }
        }
        assertThat(events).isEqualTo(2);
    }

    @Test
    void meSaysWhoAndWhatTheyMayDo() throws Exception {
        ApiHttp http = new ApiHttp(port);
        JsonNode admin = json(http.get("/api/me"));
        assertThat(admin.path("name").asString()).isEqualTo("admin");
        assertThat(admin.path("operator").asBoolean()).isTrue();
        assertThat(admin.path("roles").toString()).contains("OPERATOR").contains("VIEWER");
        assertThat(admin.path("csrf").path("headerName").asString()).isEqualTo("X-CSRF-TOKEN");
        JsonNode viewer = json(http.send(http.request("/api/me").header("Authorization",
                ApiHttp.basic("viewer", ApiHttp.VIEWER_PW))));
        assertThat(viewer.path("operator").asBoolean()).isFalse();
        assertThat(viewer.path("roles").toString()).isEqualTo("[\"VIEWER\"]");
    }

    @Test
    void failedJobsRestartInBulk() throws Exception {
        ApiHttp http = new ApiHttp(port);
        Path flaky = tree("flaky", 12);
        // it fails while the marker is there (a file it reads could be gone; the engine may have opened the
        // files ahead of the reader, so taking them away is not sure to fail it), and runs once it is gone
        Path marker = Files.writeString(dataDir.resolve("flaky.fail"), "");
        String failed = http.submit("{\"name\": \"flaky\", \"operation\": \"test-list\", \"params\": {\"failWhile\": \""
                + marker + "\"}, \"input\": {\"root\": \"" + flaky + "\"}}").path("id").asString();
        http.awaitStatus(failed, "FAILED", 60);
        Files.delete(marker);
        String completed = submit(http, "fine", tree("fine", 2), 0);
        http.awaitStatus(completed, "COMPLETED", 60);

        // the right statuses only, and the answer says per job what happened
        ApiHttp.assertInvalid(http.post("/api/jobs/bulk-restart", "{}"), "ids");
        ApiHttp.assertInvalid(http.post("/api/jobs/bulk-restart", "{\"ids\": [\"a\"], \"status\": \"FAILED\"}"), "ids");
        ApiHttp.assertInvalid(http.post("/api/jobs/bulk-restart", "{\"status\": \"COMPLETED\"}"), "status");
        ApiHttp.assertProblem(http.post("/api/jobs/bulk-restart", "{\"ids\": [\"a\""), 400);
        HttpResponse<String> forbidden = http.send(http.request("/api/jobs/bulk-restart")
                .header("Authorization", ApiHttp.basic("viewer", ApiHttp.VIEWER_PW))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"status\": \"FAILED\"}")));
        assertThat(forbidden.statusCode()).isEqualTo(403);

        JsonNode result = json(http.post("/api/jobs/bulk-restart", "{\"ids\": [\"" + completed + "\", \"nosuchjob\"]}"));
        assertThat(result.path("requested").asInt()).isEqualTo(2);
        assertThat(result.path("restarted").asInt()).isZero();
        assertThat(result.path("results").get(0).path("httpStatus").asInt()).isEqualTo(409);
        assertThat(result.path("results").get(1).path("httpStatus").asInt()).isEqualTo(404);

        JsonNode all = json(http.post("/api/jobs/bulk-restart", "{\"status\": \"FAILED\"}"));
        assertThat(all.path("restarted").asInt()).isEqualTo(1);
        assertThat(all.path("results").get(0).path("id").asString()).isEqualTo(failed);
        assertThat(all.path("results").get(0).path("restarted").asBoolean()).isTrue();
        JsonNode after = http.awaitStatus(failed, "COMPLETED", 90);
        assertThat(after.path("executions").size()).isEqualTo(2);
    }

    @Test
    void theLoginFormSetsAStaySignedInCookieAndBasicDoesNot() throws Exception {
        ApiHttp http = new ApiHttp(port);
        HttpResponse<String> page = http.send(http.request("/login").header("Accept", "text/html"));
        assertThat(page.statusCode()).isEqualTo(200);
        assertThat(page.body()).contains("name=\"remember-me\"").contains("checked").contains("name=\"_csrf\"");
        String token = page.body().replaceAll("(?s).*name=\"_csrf\" value=\"([^\"]+)\".*", "$1");
        String session = page.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith("JSESSIONID="))
                .findFirst().orElseThrow().split(";")[0];

        // a wrong password goes back to the form with a message
        HttpResponse<String> wrong = http.send(http.request("/login").header("Cookie", session)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("username=admin&password=nope&_csrf="
                        + URLEncoder.encode(token, StandardCharsets.UTF_8))));
        assertThat(wrong.headers().firstValue("Location").orElseThrow()).endsWith("/login?error");
        assertThat(http.send(http.request("/login?error")).body()).contains("Wrong user name or password");

        String form = "username=admin&password=" + URLEncoder.encode(ApiHttp.ADMIN_PW, StandardCharsets.UTF_8)
                + "&remember-me=true&_csrf=" + URLEncoder.encode(token, StandardCharsets.UTF_8);
        HttpResponse<String> login = http.send(http.request("/login").header("Cookie", session)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form)));
        assertThat(login.statusCode()).isEqualTo(302);
        assertThat(login.headers().firstValue("Location").orElseThrow()).doesNotContain("error");
        String remember = login.headers().allValues("Set-Cookie").stream()
                .filter(c -> c.startsWith("ringbatch-remember-me=")).findFirst().orElseThrow();
        assertThat(remember).contains("HttpOnly");

        // the cookie alone (no session) logs in; a forged one does not
        String cookie = remember.split(";")[0];
        assertThat(http.send(http.request("/api/me").header("Cookie", cookie)).statusCode()).isEqualTo(200);
        assertThat(http.send(http.request("/api/me").header("Cookie", cookie.substring(0, cookie.length() - 4) + "AAAA")
                .header("X-Requested-With", "XMLHttpRequest")).statusCode()).isEqualTo(401);

        HttpResponse<String> basic = http.get("/api/me");
        assertThat(basic.headers().allValues("Set-Cookie")).noneMatch(c -> c.startsWith("ringbatch-remember-me="));

        // both cookies stay home when another site posts a form; and if a browser sent one all the same...
        assertThat(remember).contains("SameSite=Lax");
        assertThat(login.headers().allValues("Set-Cookie")).filteredOn(c -> c.startsWith("JSESSIONID="))
                .singleElement().asString().contains("SameSite=Lax");
        // ...a cross-site form with the remember-me cookie alone is refused: it has no CSRF token
        HttpResponse<String> forged = http.send(http.request("/api/jobs/" + "0".repeat(16) + "/stop")
                .header("Cookie", cookie).header("Origin", "https://elsewhere.example")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString("")));
        assertThat(forged.statusCode()).as(forged.body()).isEqualTo(403);
        // the dashboard's way: the cookie logs in, api/me gives the session's token, the request carries it
        HttpResponse<String> me = http.send(http.request("/api/me").header("Cookie", cookie));
        String reopened = me.headers().allValues("Set-Cookie").stream().filter(c -> c.startsWith("JSESSIONID="))
                .findFirst().orElseThrow().split(";")[0];
        JsonNode csrf = ApiHttp.json(me).path("csrf");
        HttpResponse<String> withToken = http.send(http.request("/api/jobs/" + "0".repeat(16) + "/stop")
                .header("Cookie", cookie + "; " + reopened).header(csrf.path("headerName").asString(),
                        csrf.path("token").asString()).POST(HttpRequest.BodyPublishers.ofString("")));
        assertThat(withToken.statusCode()).as("past security: no such job").isEqualTo(404);

        // signing out ends the cookie (on every instance: the time is in the database)
        HttpResponse<String> logout = http.send(http.request("/logout").header("Cookie", reopened)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(csrf.path("parameterName").asString() + "="
                        + URLEncoder.encode(csrf.path("token").asString(), StandardCharsets.UTF_8))));
        assertThat(logout.statusCode()).as(logout.body()).isIn(204, 302);
        assertThat(http.send(http.request("/api/me").header("Cookie", cookie).header("X-Requested-With",
                "XMLHttpRequest")).statusCode()).as("the cookie after the sign-out").isEqualTo(401);
    }

    @Test
    void scriptsAndStreamsGet401WithoutAPasswordDialogAndPagesGetTheForm() throws Exception {
        ApiHttp http = new ApiHttp(port);
        HttpResponse<String> stream = http.send(http.request("/api/overview/events").header("Accept", "text/event-stream"));
        assertThat(stream.statusCode()).isEqualTo(401);
        assertThat(stream.headers().firstValue("WWW-Authenticate")).isEmpty();
        HttpResponse<String> script = http.send(http.request("/api/overview").header("X-Requested-With", "XMLHttpRequest"));
        assertThat(script.statusCode()).isEqualTo(401);
        assertThat(script.headers().firstValue("WWW-Authenticate")).isEmpty();
        HttpResponse<String> rest = http.send(http.request("/api/overview"));
        assertThat(rest.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Basic"));
        HttpResponse<String> page = http.send(http.request("/").header("Accept", "text/html"));
        assertThat(page.statusCode()).isEqualTo(302);
        assertThat(page.headers().firstValue("Location").orElseThrow()).endsWith("/login");
        // the page's own files are open: nothing in them is secret
        for (String asset : List.of("/assets/app.js", "/assets/app.css", "/webjars/uplot/dist/uPlot.iife.min.js",
                "/favicon.svg")) {
            assertThat(http.send(http.request(asset)).statusCode()).as(asset).isEqualTo(200);
        }
        assertThat(http.get("/").body()).contains("id=\"jobs-table\"");
    }
}
