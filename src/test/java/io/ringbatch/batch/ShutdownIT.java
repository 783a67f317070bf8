package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.RandomText;
import java.io.IOException;
import java.io.OutputStream;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * Shutdowns and stops of the packaged service at bad moments, with io_uring reading: SIGTERM in the
 * middle of a grep over 1 GiB, again after each restart ({@code -Dshutdown.terms=N}, 3 in
 * {@code ./mvnw verify}, 20 with {@code -Pshutdown-loop}); and a stop or a SIGTERM at a random moment of
 * each phase in turn, planning, processing, the finish step's merge (before or just after its rename) and
 * right after the rename ({@code -Dshutdown.phases=N}, 3 and 30).
 * Each SIGTERM must end the process as a graceful stop does (exit status 143, no JVM crash report) within
 * a bound; every job must end COMPLETED after its restarts, its matches byte-identical to grep's.
 */
@Timeout(3600)
class ShutdownIT {
    static final int TERMS = Integer.getInteger("shutdown.terms", 3);
    static final int PHASE_ROUNDS = Integer.getInteger("shutdown.phases", 3);
    static final long SEED = Long.getLong("shutdown.seed", 2026);
    /** What the JVM exits with after SIGTERM once its shutdown hooks (Spring's graceful shutdown) ran. */
    static final int SIGTERM_EXIT = 128 + 15;

    /** The inputs and grep's answers: made once for the class. */
    @TempDir
    static Path shared;
    static Path big;
    static byte[] bigExpected;
    static Path small;
    static byte[] smallExpected;

    @TempDir
    Path dir;
    private ServiceProcess service;
    private int port;
    private int starts;

    @BeforeAll
    static void inputs() throws Exception {
        big = Files.createDirectories(shared.resolve("big"));
        KillRestartIT.generate(big);
        bigExpected = KillRestartIT.referenceGrep(big);
        small = Files.createDirectories(shared.resolve("small"));
        many(small, new Random(SEED));
        smallExpected = KillRestartIT.referenceGrep(small);
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (service != null) {
            service.close();
        }
    }

    private ServiceProcess start() throws Exception {
        Files.createDirectories(dir.resolve("output"));
        return ServiceProcess.start(dir, port, dir.resolve("start-" + starts++ + ".log"), List.of(
                "--ringbatch.data-dir=" + dir.resolve("data"),
                "--ringbatch.input-roots=" + shared,
                "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.workers=1",
                "--ringbatch.io.engine=io_uring",
                "--ringbatch.pipeline.commit-interval=4",
                "--ringbatch.pipeline.split-size=16MB"));
    }

    private static String grep(Path root) {
        return "{\"name\":\"shutdown test\",\"operation\":\"grep\",\"params\":{\"pattern\":\"" + KillRestartIT.PATTERN
                + "\"},\"input\":{\"root\":\"" + root + "\"}}";
    }

    /** SIGTERM: the process ends within the bound, as a graceful stop, and leaves no JVM crash report. */
    private void terminate() throws Exception {
        long t0 = System.nanoTime();
        assertThat(service.term(Duration.ofSeconds(60))).as("exited after SIGTERM; see %s", service.log()).isTrue();
        assertThat(Duration.ofNanos(System.nanoTime() - t0)).as("SIGTERM to exit; see %s", service.log())
                .isLessThan(Duration.ofSeconds(45));
        assertThat(service.exitValue()).as("exit status; see %s", service.log()).isEqualTo(SIGTERM_EXIT);
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(files.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("hs_err")))
                    .as("JVM crash reports").isEmpty();
        }
        String log = Files.readString(service.log());
        assertThat(log).doesNotContain("SIGSEGV").doesNotContain("A fatal error has been detected");
    }

    /**
     * SIGTERMs while a 1 GiB grep reads, each after it made progress since the last; the job resumes at
     * every start. A job that finishes before all the SIGTERMs were sent (a fast machine reads 1 GiB in a
     * dozen resumes) is checked, and a new one takes the rest.
     */
    @Test
    void sigtermsInTheMiddleOfAOneGibGrepEndInAGracefulStopAndTheRightOutput() throws Exception {
        port = ServiceProcess.freePort();
        service = start();
        Random random = new Random(SEED);
        int term = 0;
        List<Integer> perJob = new ArrayList<>();
        while (term < TERMS) {
            String id = service.submit(grep(big));
            long done = 0;
            int terms = 0;
            while (term < TERMS) {
                long before = done;
                JsonNode job = await("job " + id + " processing").atMost(Duration.ofMinutes(3))
                        .pollInterval(Duration.ofMillis(10)).until(() -> service.get("/api/jobs/" + id),
                                j -> ENDED.contains(j.get("status").asString())
                                        || j.get("status").asString().equals("STARTED")
                                        && j.get("progress").get("bytesDone").asLong() > before);
                if (ENDED.contains(job.get("status").asString())) {
                    break; // it read the rest since the last SIGTERM: checked below
                }
                done = job.get("progress").get("bytesDone").asLong();
                // not a wait: SIGTERM lands at a random moment of the reading, 0 to 300 ms after a commit
                Thread.sleep(random.nextInt(300));
                terminate();
                service = start();
                term++;
                terms++;
            }
            JsonNode end = awaitEnd(id);
            assertThat(terms).as("SIGTERMs that landed in job %s: %s", id, end).isPositive();
            assertThat(end.get("status").asString()).as("%s", end).isEqualTo("COMPLETED");
            assertThat(end.get("executions").size()).as("%s", end).isGreaterThanOrEqualTo(terms + 1);
            assertThat(Files.readAllBytes(dir.resolve("output").resolve(id).resolve("matches.txt")))
                    .as("job %s", id).isEqualTo(bigExpected);
            perJob.add(terms);
        }
        System.out.printf("shutdown mid-job: seed %d, %d SIGTERMs over %d job(s): %s%n", SEED, TERMS, perJob.size(),
                perJob);
    }

    @Test
    void aStopOrSigtermInEveryPhaseEndsCompletedAfterRestartsWithTheRightOutput() throws Exception {
        port = ServiceProcess.freePort();
        service = start();
        Random random = new Random(SEED);
        List<String> phases = List.of("planning", "processing", "finishing", "renamed");
        Map<String, Integer> hits = new LinkedHashMap<>();
        for (int round = 0; round < PHASE_ROUNDS; round++) {
            String phase = phases.get(round % phases.size());
            // each phase gets a SIGTERM and a stop in turn, from one pass over the phases to the next
            boolean term = (round / phases.size() + round % phases.size()) % 2 == 0;
            String[] hit = interrupt(phase, term, random);
            String id = hit[0];
            if (hit[1] != null) {
                hits.merge(hit[1] + "/" + (term ? "SIGTERM" : "stop"), 1, Integer::sum);
                if (term) {
                    service = start(); // it resumes the job by itself
                } else {
                    restartWhenStopped(id);
                }
            }
            JsonNode end = awaitEnd(id);
            assertThat(end.get("status").asString()).as("round %d (%s, %s): %s", round, phase, term, end)
                    .isEqualTo("COMPLETED");
            assertThat(Files.readAllBytes(dir.resolve("output").resolve(id).resolve("matches.txt")))
                    .as("round %d (%s)", round, phase).isEqualTo(smallExpected);
            try (Stream<Path> siblings = Files.list(dir.resolve("output"))) {
                assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith(".")))
                        .as("leftovers beside the outputs").isEmpty();
            }
        }
        System.out.printf("shutdown phases: seed %d, %d rounds; stops and SIGTERMs that landed: %s%n", SEED,
                PHASE_ROUNDS, hits);
    }

    /**
     * Submits a job and stops it (or SIGTERMs the service) in the phase; returns its id and the phase hit,
     * null if the job had ended first. Planning and the finish step are short, so they are watched on the
     * file system without a pause: the job's definition is written before it plans and its plan when
     * planning ends; the finish step writes a staging directory beside the output ("finishing": a stop
     * then lands before the rename, or just after it) and renames it to the output ("renamed": the output
     * is in place, the step has not committed yet or just has; a stop there is refused, "renamed-refused").
     */
    private String[] interrupt(String phase, boolean term, Random random) throws Exception {
        Path jobs = Files.createDirectories(dir.resolve("data").resolve("jobs"));
        Set<String> before;
        try (Stream<Path> s = Files.list(jobs)) {
            before = new HashSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
        var answer = service.submitAsync(grep(small));
        Path work = await("a new job's definition").atMost(Duration.ofMinutes(1)).pollInSameThread()
                .pollDelay(Duration.ZERO).pollInterval(Duration.ZERO).until(() -> {
                    try (Stream<Path> s = Files.list(jobs)) {
                        return s.filter(p -> !before.contains(p.getFileName().toString()))
                                .filter(p -> Files.exists(p.resolve("job.json"))).findFirst().orElse(null);
                    }
                }, Objects::nonNull);
        String id = work.getFileName().toString();
        Path output = dir.resolve("output").resolve(id);
        Path staging = dir.resolve("output").resolve("." + id + ".ringbatch-staging");
        switch (phase) {
            case "processing" -> {
                answer.join();
                JsonNode job = await("job " + id + " processing").atMost(Duration.ofMinutes(1))
                        .pollInterval(Duration.ofMillis(10)).until(() -> service.get("/api/jobs/" + id),
                                j -> j.path("progress").path("bytesDone").asLong() > 0 || Files.exists(output));
                if (Files.exists(output)) {
                    return new String[] {id, null};
                }
                Thread.sleep(random.nextInt(300)); // not a wait: a random moment of the processing
            }
            case "finishing" -> {
                answer.join();
                boolean finishing = await("job " + id + " in its finish step").atMost(Duration.ofMinutes(2))
                        .pollInSameThread().pollDelay(Duration.ZERO).pollInterval(Duration.ZERO)
                        .until(() -> Files.exists(staging) ? Boolean.TRUE : Files.exists(output) ? Boolean.FALSE : null,
                                Objects::nonNull);
                if (!finishing) {
                    return new String[] {id, null};
                }
                Thread.sleep(random.nextInt(30)); // not a wait: a random moment of the merge
            }
            case "renamed" -> {
                answer.join();
                await("job " + id + " output in place").atMost(Duration.ofMinutes(2)).pollInSameThread()
                        .pollDelay(Duration.ZERO).pollInterval(Duration.ZERO).until(() -> Files.exists(output));
            }
            default -> {
                // planning: at once
            }
        }
        if (term) {
            terminate();
            answer.cancel(true);
        } else {
            answer.join();
            HttpResponse<String> stop = service.post("/api/jobs/" + id + "/stop");
            if (stop.statusCode() == 409) {
                // it ended (or had not started) before the stop came; after the rename, it is refused
                return new String[] {id, phase.equals("renamed") ? "renamed-refused" : null};
            }
            assertThat(stop.statusCode()).as(stop.body()).isBetween(200, 299);
        }
        return new String[] {id, phase};
    }

    static final List<String> ENDED = List.of("COMPLETED", "FAILED", "ABANDONED");

    /** The job's end: COMPLETED, FAILED or ABANDONED (STOPPED is not one: the service resumes it after a SIGTERM). */
    private JsonNode awaitEnd(String id) {
        return await("job " + id + " ended").atMost(Duration.ofMinutes(5)).pollInterval(Duration.ofMillis(100))
                .until(() -> service.get("/api/jobs/" + id), j -> ENDED.contains(j.get("status").asString()));
    }

    /** A stopped job restarts once it has settled; one that ended meanwhile is left as it is. */
    private void restartWhenStopped(String id) {
        await("job " + id + " restarted").atMost(Duration.ofMinutes(1)).pollInterval(Duration.ofMillis(50)).until(() -> {
            String status = service.get("/api/jobs/" + id).get("status").asString();
            if (List.of("COMPLETED", "FAILED").contains(status)) {
                return true;
            }
            if (!status.equals("STOPPED")) {
                return false;
            }
            return service.post("/api/jobs/" + id + "/restart").statusCode() / 100 == 2;
        });
    }

    /** Many small files (planning and the merge take a while) and two of 24 MiB (processing does). */
    private static void many(Path root, Random r) throws IOException {
        for (int f = 0; f < 800; f++) {
            Path p = root.resolve(String.format("d%02d/f%04d.txt", f % 20, f));
            Files.createDirectories(p.getParent());
            Files.write(p, RandomText.lines(r, 512 + r.nextInt(8 * 1024)));
        }
        for (int f = 0; f < 2; f++) {
            try (OutputStream out = Files.newOutputStream(root.resolve("large-" + f + ".log"))) {
                for (int chunk = 0; chunk < 24; chunk++) {
                    out.write(RandomText.lines(r, 1 << 20));
                }
            }
        }
    }

}
