package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
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
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The packaged service ({@code target/ringbatch-*.jar}) as a process of its own, for tests that kill it:
 * started with {@code --key=value} arguments, logging to a file, and an HTTP client logged in as admin.
 */
public final class ServiceProcess implements AutoCloseable {
    public static final JsonMapper JSON = JsonMapper.builder().build();
    public static final String PASSWORD = "process-test-secret";

    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http = HttpClient.newHttpClient();

    private ServiceProcess(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    /**
     * How the packaged jar is started. Both run the jar that {@code ./mvnw package} made; they differ in
     * start-up time only (about 11 s against 6 s on a 2-core machine), which adds up over the tests' many
     * starts.
     */
    public enum Launch {
        /** {@code java -jar target/ringbatch-*.jar}, as README's "run the jar" does. */
        FAT_JAR,
        /**
         * The jar as Spring Boot's own tool lays it out ({@code java -Djarmode=tools -jar ... extract}, the
         * layout the container image runs), with a class-data-sharing archive that one training start made
         * (Spring Boot's "class data sharing" recipe): the classes come mapped from the archive instead of
         * being read, verified and parsed again at every start.
         */
        EXTRACTED
    }

    /** Starts the jar in {@code workDir} on {@code port} with these arguments, and waits until it is healthy. */
    public static ServiceProcess start(Path workDir, int port, Path log, List<String> args) throws Exception {
        return start(workDir, port, log, args, Launch.EXTRACTED, env -> { });
    }

    /** The same, launched as {@code launch} says, with the process's environment changed first (its locale, say). */
    public static ServiceProcess start(Path workDir, int port, Path log, List<String> args, Launch launch,
                                       java.util.function.Consumer<java.util.Map<String, String>> environment)
            throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java(), "-Xmx512m"));
        cmd.addAll(launch == Launch.FAT_JAR ? List.of("-jar", packagedJar().toString()) : PackagedLaunch.extracted());
        cmd.addAll(List.of("--server.port=" + port, "--ringbatch.security.admin-password=" + PASSWORD));
        cmd.addAll(args);
        ProcessBuilder builder = new ProcessBuilder(cmd).directory(workDir.toFile()).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        environment.accept(builder.environment());
        Process p = builder.start();
        ServiceProcess service = new ServiceProcess(p, port, log);
        service.awaitHealthy();
        return service;
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    /** {@code target/ringbatch-*.jar}, the jar {@code ./mvnw package} made. */
    static Path packagedJar() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("target"))) {
            return s.filter(p -> p.getFileName().toString().matches("ringbatch-.*\\.jar")
                            && !p.getFileName().toString().endsWith("-plain.jar"))
                    .findFirst().orElseThrow(() -> new IllegalStateException("no packaged jar in target/"))
                    .toAbsolutePath();
        }
    }

    public static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    public Path log() {
        return log;
    }

    public boolean alive() {
        return process.isAlive();
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create("http://localhost:" + port + path))
                .header("Authorization", "Basic " + Base64.getEncoder()
                        .encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
                .timeout(Duration.ofSeconds(30));
    }

    public JsonNode get(String path) throws Exception {
        HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        return JSON.readTree(r.body());
    }

    /** GET whatever the status; returns the status code and the body. */
    public HttpResponse<String> fetch(String path) throws Exception {
        return http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Submits the job and returns its id (202 expected). */
    public String submit(String body) throws Exception {
        HttpResponse<String> r = http.send(request("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
        return JSON.readTree(r.body()).get("id").asString();
    }

    /** POST without a body (stop, restart); returns the status code and the body. */
    public HttpResponse<String> post(String path) throws Exception {
        return http.send(request(path).POST(HttpRequest.BodyPublishers.noBody()).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The exit status, once the process has ended. */
    public int exitValue() {
        return process.exitValue();
    }

    /** Submits without waiting for the answer. */
    public java.util.concurrent.CompletableFuture<HttpResponse<String>> submitAsync(String body) {
        return http.sendAsync(request("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
    }

    /** Polls the job until it has ended; returns its last view. */
    public JsonNode awaitEnd(String id, Duration timeout) {
        return await("job " + id + " ended").atMost(timeout).pollInterval(Duration.ofMillis(100))
                .until(() -> get("/api/jobs/" + id), job -> {
                    String status = job.get("status").asString();
                    return List.of("COMPLETED", "FAILED", "ABANDONED", "STOPPED").contains(status)
                            && !(status.equals("STOPPED") && job.path("executions").size() == 0);
                });
    }

    /** SIGKILL, and wait for the process to be gone. */
    public void kill() throws InterruptedException {
        process.destroyForcibly().waitFor();
    }

    /** The process id, for signals that Java cannot send. */
    public long pid() {
        return process.pid();
    }

    /**
     * Sends a signal with {@code kill -s}: {@code STOP} pauses the JVM as a frozen node or a long GC pause
     * would (its sockets stay open), {@code CONT} lets it go on.
     */
    public void signal(String name) throws IOException, InterruptedException {
        Process kill = new ProcessBuilder("kill", "-s", name, Long.toString(process.pid())).redirectErrorStream(true)
                .start();
        String out = new String(kill.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(kill.waitFor()).as("kill -s %s %s: %s", name, process.pid(), out).isZero();
    }

    /** SIGTERM; true if it exited within the time. */
    public boolean term(Duration within) throws InterruptedException {
        process.destroy();
        return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS);
    }

    private void awaitHealthy() {
        await("the service healthy; see " + log).atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(200))
                .until(() -> {
                    assertThat(process.isAlive()).as("the service died at start-up; see %s", log).isTrue();
                    try {
                        return http.send(HttpRequest.newBuilder(URI.create("http://localhost:" + port
                                + "/actuator/health")).build(), HttpResponse.BodyHandlers.ofString()).statusCode() == 200;
                    } catch (IOException notYet) {
                        return false; // not listening yet
                    }
                });
    }

    @Override
    public void close() throws InterruptedException {
        if (process.isAlive()) {
            kill();
        }
    }
}
