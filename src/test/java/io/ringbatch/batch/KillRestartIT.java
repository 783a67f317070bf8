package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * The packaged service is killed with SIGKILL in the middle of a grep job over 1 GiB, started
 * again, and must finish the job by itself (resume on start) with matches byte-identical to
 * {@code LC_ALL=C grep -a -E -Hn} run per file from the input root: with the job repository in H2 (the
 * default) and in a real PostgreSQL server.
 */
@Timeout(600)
public class KillRestartIT {
    public static final String PATTERN = "[a-m]{2}[0-9][n-z ]+x[0-9]{2}";

    @TempDir
    Path dir;

    /** The 1 GiB input and grep's answer over it: made once for the class, read by every test. */
    @TempDir
    static Path shared;
    static Path input;
    static byte[] expected;

    @BeforeAll
    static void input() throws Exception {
        input = Files.createDirectories(shared.resolve("input"));
        generate(input);
        expected = referenceGrep(input);
    }

    private ServiceProcess service;
    private List<String> repository = List.of();

    @AfterEach
    void stop() throws InterruptedException {
        if (service != null) {
            service.close();
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
            // the table, which lists and counts read, follows the job's end a moment after its view shows it
            JsonNode found = await("the list finds the job as COMPLETED").atMost(Duration.ofSeconds(5))
                    .pollInterval(Duration.ofMillis(20))
                    .until(() -> service.get("/api/jobs?q=KILL%20TEST&sort=name&order=asc&status=COMPLETED"),
                            page -> page.get("items").size() > 0);
            assertThat(found.get("items").get(0).get("id").asString()).isEqualTo(id);
            JsonNode overview = service.get("/api/overview");
            assertThat(overview.get("jobsByStatus").get("COMPLETED").asInt()).isEqualTo(1);
            assertThat(Files.readString(dir.resolve("second.log"))).contains("org.postgresql");
            service.kill();
        }
    }

    private int port;

    private String killAndRestart() throws Exception {
        Path output = Files.createDirectories(dir.resolve("output"));
        Path data = Files.createDirectories(dir.resolve("data"));
        port = ServiceProcess.freePort();

        service = start(data, input, output, dir.resolve("first.log"));
        String id = service.submit("{\"name\":\"kill test\",\"operation\":\"grep\",\"params\":{\"pattern\":\""
                + PATTERN + "\"},\"input\":{\"root\":\"" + input + "\"}}");

        // kill it while it processes: once a worker has committed some of its work
        JsonNode job = await("job " + id + " made progress").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(5))
                .until(() -> service.get("/api/jobs/" + id), j -> {
                    assertThat(j.get("status").asString()).as("the job ended before the kill: %s", j)
                            .isIn("QUEUED", "STARTING", "STARTED");
                    return j.get("progress").get("bytesDone").asLong() > 0;
                });
        JsonNode beforeKill = job;
        if (term) {
            long termAt = System.nanoTime();
            assertThat(service.term(Duration.ofSeconds(60))).as("exited after SIGTERM").isTrue();
            assertThat(Duration.ofNanos(System.nanoTime() - termAt)).as("within the chart's grace period")
                    .isLessThan(Duration.ofSeconds(45));
        } else {
            service.kill();
        }
        assertThat(output.resolve(id)).as("the job had finished before the kill; it needs more input").doesNotExist();

        service = start(data, input, output, dir.resolve("second.log"));
        // polled often: start-up recovery marks the execution FAILED a moment before it restarts it, and the
        // job must not show that FAILED (it showed it once, and a client took it for the job's end)
        job = await("job " + id + " finished after the restart").atMost(Duration.ofMinutes(5))
                .pollInterval(Duration.ofMillis(10)).until(() -> service.get("/api/jobs/" + id),
                        j -> List.of("COMPLETED", "FAILED", "ABANDONED").contains(j.get("status").asString()));
        assertThat(job.get("status").asString()).as("%s", job).isEqualTo("COMPLETED");
        assertThat(job.get("executions").size()).as("an execution before and after the kill; before: %s; after: %s",
                beforeKill, job).isGreaterThanOrEqualTo(2);

        byte[] actual = Files.readAllBytes(output.resolve(id).resolve("matches.txt"));
        assertThat(actual.length).isEqualTo(expected.length);
        assertThat(actual).isEqualTo(expected);
        if (!term) {
            assertThat(Files.readString(dir.resolve("second.log"))).contains("was interrupted");
        }
        return id;
    }

    private ServiceProcess start(Path data, Path input, Path output, Path log) throws Exception {
        List<String> args = new ArrayList<>(List.of(
                "--ringbatch.data-dir=" + data,
                "--ringbatch.input-roots=" + input,
                "--ringbatch.output-root=" + output,
                "--ringbatch.workers=1",
                "--ringbatch.pipeline.commit-interval=4",
                "--ringbatch.pipeline.split-size=32MB"));
        args.addAll(repository);
        return ServiceProcess.start(dir, port, log, args);
    }

    static void generate(Path input) throws IOException {
        generate(input, 8, 128L << 20);
    }

    /**
     * {@code files} files of about {@code bytesEach} bytes of random lines: the even ones under
     * {@code logs/} with a space in their names, the odd ones at the top.
     */
    public static void generate(Path input, int fileCount, long bytesEach) throws IOException {
        Random r = new Random(2026);
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789x     ".getBytes(StandardCharsets.US_ASCII);
        for (int f = 0; f < fileCount; f++) {
            Path p = input.resolve(f % 2 == 0 ? "logs/part " + f + ".log" : "part-" + f + ".txt");
            Files.createDirectories(p.getParent());
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                byte[] line = new byte[400];
                long written = 0;
                while (written < bytesEach) {
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
    public static byte[] referenceGrep(Path input) throws Exception {
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
}
