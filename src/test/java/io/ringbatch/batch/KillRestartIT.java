package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged service is killed with SIGKILL in the middle of a grep job over 1 GiB, started
 * again, and must finish the job by itself (resume on start) with matches byte-identical to
 * {@code LC_ALL=C grep -a -E -Hn} run per file from the input root: with the job repository in H2 (the
 * default) and in a real PostgreSQL server.
 */
@Timeout(600)
class KillRestartIT {
    private static final JsonMapper JSON = JsonMapper.builder().build();
    private static final String PASSWORD = "kill-test-secret";
    private static final String PATTERN = "[a-m]{2}[0-9][n-z ]+x[0-9]{2}";

    @TempDir
    Path dir;

    private Process service;
    private List<String> repository = List.of();

    @AfterEach
    void stop() {
        if (service != null) {
            service.destroyForcibly();
        }
    }

    @Test
    void aJobKilledHalfWayFinishesAfterRestartWithTheSameOutputAsGrep() throws Exception {
        killAndRestart();
    }

    /** SIGTERM, as Kubernetes stops a pod: the job stops at a commit, the process exits, the next start resumes. */
    @Test
    void aJobStoppedBySigtermResumesAtTheNextStart() throws Exception {
        term = true;
        killAndRestart();
        String log = Files.readString(dir.resolve("first.log"));
        assertThat(log).contains("shutting down: stopping 1 running job(s)").doesNotContain("did not stop within");
        assertThat(Files.readString(dir.resolve("second.log"))).doesNotContain("was interrupted");
        assertThat(Files.readString(dir.resolve("second.log"))).contains("resumed 1 interrupted job(s)");
    }

    private boolean term;

    @Test
    void theSameWithTheJobRepositoryInPostgresql() throws Exception {
        try (LocalPostgres postgres = new LocalPostgres(dir)) {
            repository = List.of("--spring.datasource.url=" + postgres.url(),
                    "--spring.datasource.username=" + LocalPostgres.USER, "--spring.datasource.password=");
            String id = killAndRestart();
            // the service's own SQL on PostgreSQL: search, sort, counts by status
            HttpClient http = HttpClient.newHttpClient();
            JsonNode found = get(http, port, "/api/jobs?q=KILL%20TEST&sort=name&order=asc&status=COMPLETED");
            assertThat(found.get("items").get(0).get("id").asString()).isEqualTo(id);
            JsonNode overview = get(http, port, "/api/overview");
            assertThat(overview.get("jobsByStatus").get("COMPLETED").asInt()).isEqualTo(1);
            assertThat(Files.readString(dir.resolve("second.log"))).contains("org.postgresql");
            service.destroyForcibly().waitFor();
        }
    }

    private int port;

    private String killAndRestart() throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        Path output = Files.createDirectories(dir.resolve("output"));
        Path data = Files.createDirectories(dir.resolve("data"));
        generate(input);
        port = freePort();

        service = start(port, data, input, output, dir.resolve("first.log"));
        HttpClient http = HttpClient.newHttpClient();
        awaitHealthy(http, port);
        String body = "{\"name\":\"kill test\",\"operation\":\"grep\",\"params\":{\"pattern\":\"" + PATTERN + "\"},"
                + "\"input\":{\"root\":\"" + input + "\"}}";
        HttpResponse<String> submitted = http.send(request(port, "/api/jobs")
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json").build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(submitted.statusCode()).as(submitted.body()).isEqualTo(202);
        String id = JSON.readTree(submitted.body()).get("id").asString();

        // kill it while it processes: once a worker has committed some of its work
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        JsonNode job;
        while (true) {
            job = get(http, port, "/api/jobs/" + id);
            String status = job.get("status").asString();
            assertThat(status).as("the job ended before the kill: %s", job).isIn("QUEUED", "STARTING", "STARTED");
            if (job.get("progress").get("bytesDone").asLong() > 0) {
                break;
            }
            assertThat(System.nanoTime()).as("job never made progress: %s", job).isLessThan(deadline);
            Thread.sleep(5);
        }
        JsonNode beforeKill = job;
        if (term) {
            long termAt = System.nanoTime();
            service.destroy(); // SIGTERM
            assertThat(service.waitFor(60, java.util.concurrent.TimeUnit.SECONDS)).as("exited after SIGTERM").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - termAt)).as("within the chart's grace period")
                    .isLessThan(Duration.ofSeconds(45));
        } else {
            service.destroyForcibly().waitFor();
        }
        assertThat(output.resolve(id)).as("the job had finished before the kill; it needs more input").doesNotExist();

        service = start(port, data, input, output, dir.resolve("second.log"));
        awaitHealthy(http, port);
        deadline = System.nanoTime() + Duration.ofMinutes(5).toNanos();
        while (true) {
            job = get(http, port, "/api/jobs/" + id);
            String status = job.get("status").asString();
            if (status.equals("COMPLETED") || status.equals("FAILED") || status.equals("ABANDONED")) {
                break;
            }
            assertThat(System.nanoTime()).as("job did not finish after the restart: %s", job).isLessThan(deadline);
            Thread.sleep(100);
        }
        assertThat(job.get("status").asString()).as("%s", job).isEqualTo("COMPLETED");
        assertThat(job.get("executions").size()).as("an execution before and after the kill; before: %s; after: %s",
                beforeKill, job).isGreaterThanOrEqualTo(2);

        byte[] expected = referenceGrep(input);
        byte[] actual = Files.readAllBytes(output.resolve(id).resolve("matches.txt"));
        assertThat(actual.length).isEqualTo(expected.length);
        assertThat(actual).isEqualTo(expected);
        if (!term) {
            assertThat(Files.readString(dir.resolve("second.log"))).contains("was interrupted");
        }
        return id;
    }

    private Process start(int port, Path data, Path input, Path output, Path log) throws IOException {
        File jar;
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            jar = s.filter(p -> p.getFileName().toString().matches("ringbatch-.*\\.jar")
                            && !p.getFileName().toString().endsWith("-plain.jar"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no packaged jar in target/")).toFile();
        }
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Xmx512m", "-jar", jar.getAbsolutePath(),
                "--server.port=" + port,
                "--ringbatch.data-dir=" + data,
                "--ringbatch.input-roots=" + input,
                "--ringbatch.output-root=" + output,
                "--ringbatch.security.admin-password=" + PASSWORD,
                "--ringbatch.workers=1",
                "--ringbatch.pipeline.commit-interval=4",
                "--ringbatch.pipeline.split-size=32MB"));
        cmd.addAll(repository);
        return new ProcessBuilder(cmd).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
    }

    private static void generate(Path input) throws IOException {
        Random r = new Random(2026);
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789x     ".getBytes(StandardCharsets.US_ASCII);
        for (int f = 0; f < 8; f++) {
            Path p = input.resolve(f % 2 == 0 ? "logs/part " + f + ".log" : "part-" + f + ".txt");
            Files.createDirectories(p.getParent());
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                byte[] line = new byte[400];
                long written = 0;
                while (written < 128L << 20) {
                    int len = 20 + r.nextInt(300);
                    for (int i = 0; i < len; i++) {
                        line[i] = alphabet[r.nextInt(alphabet.length)];
                    }
                    line[len] = '\n';
                    out.write(line, 0, len + 1);
                    written += len + 1;
                }
            }
        }
    }

    /** {@code LC_ALL=C grep -a -E -Hn PATTERN file} for every file, in path-byte order, from the input root. */
    private static byte[] referenceGrep(Path input) throws Exception {
        List<String> files;
        try (Stream<Path> s = Files.walk(input)) {
            files = new ArrayList<>(s.filter(Files::isRegularFile).map(p -> input.relativize(p).toString()).toList());
        }
        files.sort((a, b) -> java.util.Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8),
                b.getBytes(StandardCharsets.UTF_8)));
        java.io.ByteArrayOutputStream all = new java.io.ByteArrayOutputStream();
        for (String f : files) {
            ProcessBuilder pb = new ProcessBuilder("grep", "-a", "-E", "-Hn", PATTERN, f).directory(input.toFile());
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
            all.write(p.getInputStream().readAllBytes());
            assertThat(p.waitFor()).isLessThanOrEqualTo(1);
        }
        return all.toByteArray();
    }

    private static HttpRequest.Builder request(int port, String path) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30));
    }

    private static JsonNode get(HttpClient http, int port, String path) throws Exception {
        HttpResponse<String> r = http.send(request(port, path).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    private void awaitHealthy(HttpClient http, int port) throws Exception {
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            assertThat(service.isAlive()).as("the service died at start-up; see its log in %s", dir).isTrue();
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(
                        URI.create("http://localhost:" + port + "/actuator/health")).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    return;
                }
            } catch (IOException notYet) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new AssertionError("the service did not become healthy");
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
