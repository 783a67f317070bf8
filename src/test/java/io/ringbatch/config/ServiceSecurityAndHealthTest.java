package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import io.ringbatch.api.ApiHttp;
import io.ringbatch.io.Block;
import io.ringbatch.io.BlockReader;
import io.ringbatch.io.IoEngine;
import java.io.IOException;
import java.net.CookieManager;
import java.net.URLEncoder;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.JsonNode;

/**
 * The service as a client sees it: the real HTTP server on a random port, the real H2 file database in
 * the data dir of {@link ServiceTest}, the engine that {@code auto} picks on this machine (io_uring).
 */
@ServiceTest
class ServiceSecurityAndHealthTest {
    static final String ADMIN_PW = ApiHttp.ADMIN_PW;
    static final String VIEWER_PW = ApiHttp.VIEWER_PW;

    @LocalServerPort
    int port;

    @Autowired
    IoEngine engine;

    @Autowired
    DataSource dataSource;

    TestHttp http;

    @BeforeEach
    void client() {
        http = new TestHttp(port);
    }

    @Test
    void healthAndProbesAnswerWithoutLoginAndHideDetails() throws Exception {
        for (String path : new String[] {"/actuator/health", "/actuator/health/liveness", "/actuator/health/readiness"}) {
            HttpResponse<String> response = http.get(path);
            assertThat(response.statusCode()).as(path).isEqualTo(200);
            JsonNode body = TestHttp.json(response);
            assertThat(body.path("status").asString()).as(path).isEqualTo("UP");
            assertThat(body.has("components")).as(path + " hides components from anonymous callers").isFalse();
        }
        assertThat(http.get("/actuator/info").statusCode()).isEqualTo(200);
    }

    @Test
    void healthShowsTheIoEngineToLoggedInUsers() throws Exception {
        new ApiHttp(port).awaitNoJobRunning();
        HttpResponse<String> response = http.get("/actuator/health", "admin", ADMIN_PW);
        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode io = TestHttp.json(response).path("components").path("ioEngine");
        assertThat(io.path("status").asString()).isEqualTo("UP");
        JsonNode details = io.path("details");
        assertThat(details.path("engine").asString()).isEqualTo("io_uring");
        assertThat(details.path("requested").asString()).isEqualTo("auto");
        assertThat(details.has("fallbackReason")).isFalse();
        assertThat(details.path("topology").asString()).isEqualTo("per-thread");
        assertThat(details.path("blockSize").asInt()).as("ringbatch.io.block-size of ServiceTest").isEqualTo(64 << 10);
        assertThat(details.path("queueDepth").asInt()).isEqualTo(64);
        assertThat(details.path("bufferCapacity").asInt()).isEqualTo(128);
        assertThat(details.path("buffersInUse").asInt()).isZero();
        assertThat(details.path("readersOpen").asInt()).isZero();

        JsonNode readiness = TestHttp.json(http.get("/actuator/health/readiness", "admin", ADMIN_PW));
        assertThat(readiness.path("components").has("ioEngine")).isTrue();
        assertThat(readiness.path("components").has("db")).isTrue();
    }

    @Test
    void prometheusNeedsAnOperatorAndCountsWhatTheEngineReads(@TempDir Path files) throws Exception {
        assertThat(http.get("/actuator/prometheus").statusCode()).isEqualTo(401);
        assertThat(http.get("/actuator/prometheus", "viewer", VIEWER_PW).statusCode()).isEqualTo(403);
        assertThat(http.get("/actuator/metrics", "viewer", VIEWER_PW).statusCode()).isEqualTo(403);
        // the scraper's user reads the metrics and nothing else
        assertThat(http.get("/actuator/prometheus", "metrics", ServiceTest.METRICS_PW).statusCode()).isEqualTo(200);
        for (String other : new String[] {"/actuator/metrics", "/actuator/env", "/api/jobs", "/api/me", "/",
                "/v3/api-docs"}) {
            assertThat(http.get(other, "metrics", ServiceTest.METRICS_PW).statusCode()).as(other).isEqualTo(403);
        }

        new ApiHttp(port).awaitNoJobRunning(); // the counters below are the whole service's
        String initial = scrape();
        double bytesBefore = sample(initial, "ringbatch_io_read_bytes_total");
        double readersBefore = sample(initial, "ringbatch_io_reader_wait_seconds_count");
        byte[] content = new byte[3 * (1 << 20) + 5];
        new Random(42).nextBytes(content);
        Path file = Files.write(files.resolve("some file.bin"), content);
        long read = 0;
        try (BlockReader reader = engine.open(file)) {
            for (Block block = reader.next(); block != null; block = reader.next()) {
                read += block.length();
                block.release();
            }
        }
        assertThat(read).isEqualTo(content.length);

        String metrics = scrape();
        assertThat(sample(metrics, "ringbatch_io_engine", "engine=\"io_uring\",requested=\"auto\"")).isEqualTo(1);
        assertThat(sample(metrics, "ringbatch_io_read_bytes_total") - bytesBefore).isEqualTo(content.length);
        assertThat(sample(metrics, "ringbatch_io_blocks_total")).isGreaterThanOrEqualTo(4);
        assertThat(sample(metrics, "ringbatch_io_reads_total")).isGreaterThanOrEqualTo(4);
        assertThat(sample(metrics, "ringbatch_io_readers_opened_total")).isGreaterThanOrEqualTo(1);
        assertThat(sample(metrics, "ringbatch_io_consumer_wait_seconds_count")).isGreaterThanOrEqualTo(0);
        assertThat(sample(metrics, "ringbatch_io_consumer_wait_seconds_sum")).isGreaterThanOrEqualTo(0);
        assertThat(sample(metrics, "ringbatch_io_reader_wait_seconds_count") - readersBefore)
                .as("one reader closed, one wait recorded for it").isEqualTo(1);
        assertThat(sample(metrics, "ringbatch_io_reads_in_flight")).isZero();
        assertThat(sample(metrics, "ringbatch_io_readers_open")).isZero();
        assertThat(sample(metrics, "ringbatch_io_buffers_in_use")).isZero();
        assertThat(sample(metrics, "ringbatch_io_buffers_capacity")).isEqualTo(128);
        assertThat(http.get("/actuator/metrics/ringbatch.io.consumer.wait", "admin", ADMIN_PW).statusCode())
                .isEqualTo(200);
    }

    private String scrape() throws IOException, InterruptedException {
        HttpResponse<String> response = http.get("/actuator/prometheus", "admin", ADMIN_PW);
        assertThat(response.statusCode()).isEqualTo(200);
        return response.body();
    }

    private static double sample(String metrics, String name) {
        return sample(metrics, name, "engine=\"io_uring\"");
    }

    private static double sample(String metrics, String name, String labels) {
        Matcher m = Pattern.compile("(?m)^" + Pattern.quote(name + "{" + labels + "}") + " (\\S+)$").matcher(metrics);
        assertThat(m.find()).as(name + " in\n" + metrics).isTrue();
        return Double.parseDouble(m.group(1));
    }

    @Test
    void unauthenticatedRestRequestsGet401AndBrowsersTheLoginPage() throws Exception {
        HttpResponse<String> rest = http.get("/api/anything");
        assertThat(rest.statusCode()).isEqualTo(401);
        assertThat(rest.headers().firstValue("WWW-Authenticate")).hasValue("Basic realm=\"ringbatch\"");
        assertThat(rest.headers().firstValue("Set-Cookie")).as("a REST client's 401 opens no session").isEmpty();

        HttpResponse<String> post = http.post("/api/jobs", null, null, "{}");
        assertThat(post.statusCode()).as("an anonymous POST is refused as unauthenticated, not as a CSRF failure")
                .isEqualTo(401);

        HttpResponse<String> wrong = http.get("/api/anything", "admin", "not-the-password");
        assertThat(wrong.statusCode()).isEqualTo(401);

        HttpResponse<String> xhr = http.send(http.request("/api/anything").header("X-Requested-With", "XMLHttpRequest"));
        assertThat(xhr.statusCode()).isEqualTo(401);
        assertThat(xhr.headers().firstValue("WWW-Authenticate")).isEmpty();

        HttpResponse<String> browser = http.send(http.request("/api/anything")
                .header("Accept", "text/html,application/xhtml+xml,*/*;q=0.8"));
        assertThat(browser.statusCode()).isEqualTo(302);
        assertThat(browser.headers().firstValue("Location")).hasValueSatisfying(l -> assertThat(l).endsWith("/login"));
        assertThat(browser.headers().firstValue("Set-Cookie")).as("the page is remembered for after the login")
                .hasValueSatisfying(c -> assertThat(c).startsWith("JSESSIONID="));

        assertThat(http.get("/").statusCode()).isEqualTo(401);
    }

    @Test
    void viewersReadAndOperatorsSteer() throws Exception {
        assertThat(http.get("/api/anything", "viewer", VIEWER_PW).statusCode()).as("past security: no such page")
                .isEqualTo(404);
        assertThat(http.post("/api/jobs/1/stop", "viewer", VIEWER_PW, "{}").statusCode()).isEqualTo(403);
        assertThat(http.send(http.request("/api/jobs/1").header("Authorization", TestHttp.basic("viewer", VIEWER_PW))
                .DELETE()).statusCode()).isEqualTo(403);
        assertThat(http.post("/api/jobs/1/stop", "admin", ADMIN_PW, "{}").statusCode())
                .as("an operator with basic auth needs no CSRF token; past security: no such page").isEqualTo(404);
    }

    @Test
    void formLoginKeepsCsrfForSessionRequests() throws Exception {
        TestHttp browser = new TestHttp(port, new CookieManager());
        HttpResponse<String> page = browser.get("/login");
        assertThat(page.statusCode()).isEqualTo(200);
        String token = csrfToken(page.body());

        HttpResponse<String> noToken = browser.send(browser.request("/login")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(form("username", "admin", "password", ADMIN_PW))));
        assertThat(noToken.statusCode()).as("login form without its CSRF token").isEqualTo(403);

        HttpResponse<String> login = browser.send(browser.request("/login")
                .header("Content-Type", "application/x-www-form-urlencoded")
                .POST(HttpRequest.BodyPublishers.ofString(
                        form("username", "admin", "password", ADMIN_PW, "_csrf", token))));
        assertThat(login.statusCode()).isEqualTo(302);
        assertThat(login.headers().firstValue("Location").orElseThrow()).doesNotContain("error");

        assertThat(browser.get("/actuator/health/liveness").statusCode()).isEqualTo(200);
        HttpResponse<String> health = browser.get("/actuator/health");
        assertThat(TestHttp.json(health).path("components").has("ioEngine")).as("the session is logged in").isTrue();

        HttpResponse<String> forged = browser.send(browser.request("/api/jobs/1/stop")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(forged.statusCode()).as("a session-cookie POST without a CSRF token").isEqualTo(403);

        String sessionToken = csrfToken(browser.get("/login").body());
        HttpResponse<String> withToken = browser.send(browser.request("/api/jobs/1/stop")
                .header("Content-Type", "application/json").header("X-CSRF-TOKEN", sessionToken)
                .POST(HttpRequest.BodyPublishers.ofString("{}")));
        assertThat(withToken.statusCode()).as("with the token: past security, no such page").isEqualTo(404);
    }

    private static String csrfToken(String html) {
        Matcher m = Pattern.compile("name=\"_csrf\"[^>]*value=\"([^\"]+)\"").matcher(html);
        assertThat(m.find()).as("a CSRF field in\n" + html).isTrue();
        return m.group(1);
    }

    private static String form(String... pairs) {
        StringBuilder body = new StringBuilder();
        for (int i = 0; i < pairs.length; i += 2) {
            if (body.length() > 0) {
                body.append('&');
            }
            body.append(URLEncoder.encode(pairs[i], StandardCharsets.UTF_8)).append('=')
                    .append(URLEncoder.encode(pairs[i + 1], StandardCharsets.UTF_8));
        }
        return body.toString();
    }

    @Test
    void theJobRepositoryIsAnH2FileInTheDataDir() {
        assertThat(TestDirs.shared().resolve("ringbatch.mv.db")).isRegularFile();
        // owner-only, whatever the umask: the database, the remember-me key, the jobs' work files
        try {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(TestDirs.shared())))
                    .isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(TestDirs.shared().resolve("jobs"))))
                    .isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(
                    TestDirs.shared().resolve("ringbatch.mv.db")))).isEqualTo("rw-------");
        } catch (IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        Integer instances = new JdbcTemplate(dataSource).queryForObject("SELECT COUNT(*) FROM BATCH_JOB_INSTANCE",
                Integer.class);
        assertThat(instances).isNotNull();
    }
}
