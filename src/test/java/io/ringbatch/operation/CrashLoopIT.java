package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.ringbatch.batch.ServiceProcess;
import io.ringbatch.RandomText;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.Set;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;

/**
 * A crash loop: the packaged service is killed with SIGKILL at random moments of jobs of every
 * operation (checksum, grep, wc, gzip), in each phase in turn (planning, processing, merging), started
 * again each time, and every job's final output is checked byte for byte against the GNU tool. The short
 * form (3 kills) runs in {@code ./mvnw verify}; {@code ./mvnw verify -Pcrash-loop} runs 20
 * ({@code -Dcrashloop.kills=N}, {@code -Dcrashloop.seed=S}). A kill counts only if the job had not ended
 * by then; the phase it hit is the last one seen, printed with the summary.
 */
@Timeout(3600)
class CrashLoopIT {
    static final int KILLS = Integer.getInteger("crashloop.kills", 3);
    static final long SEED = Long.getLong("crashloop.seed", 2026);
    static final List<String> PHASES = List.of("planning", "processing", "merging");
    static final String PATTERN = "[a-m]{2}[0-9][n-z ]+x[0-9]{2}";

    @TempDir
    Path dir;

    private ServiceProcess service;
    private int port;
    private Path input;
    private List<String> paths;

    private ServiceProcess start(String name) throws Exception {
        return ServiceProcess.start(dir, port, dir.resolve(name + ".log"), List.of(
                "--ringbatch.data-dir=" + dir.resolve("data"),
                "--ringbatch.input-roots=" + dir.resolve("input"),
                "--ringbatch.output-root=" + dir.resolve("output"),
                "--ringbatch.workers=1",
                "--ringbatch.io.block-size=256KB",
                "--ringbatch.pipeline.commit-interval=2",
                "--ringbatch.pipeline.split-size=8MB"));
    }

    @Test
    void everyOutputIsRightAfterKillsInEveryPhaseOfEveryOperation() throws Exception {
        input = Files.createDirectories(dir.resolve("input").resolve("tree"));
        paths = new ArrayList<>(TestTrees.standard(input, SEED));
        paths.addAll(bulk(input, new Random(SEED)));
        paths.sort(io.ringbatch.io.FileNames.ORDER);
        Files.createDirectories(dir.resolve("output"));
        port = ServiceProcess.freePort();

        Random random = new Random(SEED);
        // with three phases in turn, gzip (the longest merge: a file per input) comes up for merging first
        List<String> operations = List.of("checksum", "grep", "gzip", "wc");
        Map<String, Integer> hits = new LinkedHashMap<>();
        int kills = 0;
        int rounds = 0;
        int starts = 0;
        service = start("start-" + starts++);
        try {
            while (kills < KILLS) {
                assertThat(rounds).as("too many rounds ended before their kill").isLessThan(KILLS * 4 + 8);
                String operation = operations.get(rounds % operations.size());
                String target = PHASES.get(rounds % PHASES.size());
                rounds++;
                String id;
                String hit;
                if (target.equals("planning")) {
                    // planning a few hundred files takes milliseconds: kill as soon as the job's definition is
                    // written, before the submission has even been answered
                    String[] planned = killWhilePlanning(body(operation));
                    id = planned[0];
                    hit = planned[1];
                } else {
                    id = service.submit(body(operation));
                    hit = killAt(id, target, random);
                }
                if (hit == null) {
                    verify(operation, service.awaitEnd(id, Duration.ofMinutes(5)), id);
                    continue; // it finished first: no kill
                }
                kills++;
                service = start("start-" + starts++);
                JsonNode end = service.awaitEnd(id, Duration.ofMinutes(10));
                verify(operation, end, id);
                if (end.path("executions").size() == 1) {
                    // killed after the job was claimed but before its first execution was recorded: the
                    // next start queued it again and ran it from the beginning
                    assertThat(hit).as("only a kill while starting leaves no execution: %s", end).isEqualTo("planning");
                    hit = "starting";
                } else {
                    assertThat(end.path("executions").size()).as("resumed after the kill: %s", end).isGreaterThanOrEqualTo(2);
                }
                hits.merge(operation + "/" + hit, 1, Integer::sum);
            }
        } finally {
            service.close();
        }
        System.out.printf("crash loop: seed %d, %d kills survived in %d rounds, every output identical to the GNU "
                + "tools; kills by operation/phase: %s%n", SEED, kills, rounds, hits);
    }

    /**
     * Kills the service in the target phase and returns the phase it hit, or null if the job ended first.
     * Planning and merging are short, so they are watched on the file system, not over HTTP: the job's
     * definition is written before it plans and its plan when planning ends; the merge writes into a
     * staging directory beside the output, renamed into place at the end.
     */
    private String killAt(String id, String target, Random random) throws Exception {
        Path work = dir.resolve("data").resolve("jobs").resolve(id);
        Path output = dir.resolve("output").resolve(id);
        Path staging = dir.resolve("output").resolve("." + id + ".ringbatch-staging");
        switch (target) {
            case "merging" -> {
                // the merge is short: looked for without a pause, on this thread
                boolean merging = await("job " + id + " merging or done").atMost(Duration.ofMinutes(5))
                        .pollInSameThread().pollDelay(Duration.ZERO).pollInterval(Duration.ZERO)
                        .until(() -> Files.exists(staging) ? Boolean.TRUE : Files.exists(output) ? Boolean.FALSE : null,
                                Objects::nonNull);
                if (!merging) {
                    return null;
                }
                service.kill();
                return Files.exists(output) ? null : "merging";
            }
            default -> {
                long extraMillis = random.nextInt(400);
                JsonNode job = await("job " + id + " processing or ended").atMost(Duration.ofMinutes(5))
                        .pollInterval(Duration.ofMillis(10)).until(() -> service.get("/api/jobs/" + id),
                                j -> List.of("COMPLETED", "FAILED").contains(j.path("status").asString())
                                        || j.path("progress").path("bytesDone").asLong() > 0);
                if (List.of("COMPLETED", "FAILED").contains(job.path("status").asString())) {
                    return null;
                }
                // not a wait: the kill comes at a random moment of the processing (0 to 400 ms after its
                // first commit), so that over the rounds it hits blocks, commits and the gaps between them
                Thread.sleep(extraMillis);
                service.kill();
                return Files.exists(staging) ? "merging" : Files.exists(output) ? null : "processing";
            }
        }
    }

    /** Submits without waiting for the answer; kills once the new job's definition is on disk. */
    private String[] killWhilePlanning(String body) throws Exception {
        Path jobs = Files.createDirectories(dir.resolve("data").resolve("jobs"));
        Set<String> before;
        try (Stream<Path> s = Files.list(jobs)) {
            before = new java.util.HashSet<>(s.map(p -> p.getFileName().toString()).toList());
        }
        var answer = service.submitAsync(body);
        // planning takes milliseconds: looked for without a pause, on this thread
        Path found = await("a new job's definition on disk").atMost(Duration.ofMinutes(2)).pollInSameThread()
                .pollDelay(Duration.ZERO).pollInterval(Duration.ZERO).until(() -> {
                    try (Stream<Path> s = Files.list(jobs)) {
                        return s.filter(p -> !before.contains(p.getFileName().toString()))
                                .filter(p -> Files.exists(p.resolve("job.json"))).findFirst().orElse(null);
                    }
                }, Objects::nonNull);
        service.kill();
        answer.cancel(true);
        String id = found.getFileName().toString();
        return new String[] {id, Files.exists(found.resolve("plan.json")) ? "processing" : "planning"};
    }

    private String body(String operation) {
        String params = switch (operation) {
            case "checksum" -> "{\"algorithm\": \"sha256\"}";
            case "grep" -> "{\"pattern\": \"" + PATTERN + "\"}";
            case "gzip" -> "{\"level\": 6}";
            default -> "{}";
        };
        return "{\"name\": \"crash " + operation + "\", \"operation\": \"" + operation + "\", \"params\": " + params
                + ", \"input\": {\"root\": \"" + input + "\"}}";
    }

    private void verify(String operation, JsonNode job, String id) throws Exception {
        assertThat(job.path("status").asString()).as("%s", job).isEqualTo("COMPLETED");
        Path out = dir.resolve("output").resolve(id);
        switch (operation) {
            case "checksum" -> {
                byte[] expected = RefTools.run(input, List.of("sha256sum"), paths);
                assertThat(Files.readAllBytes(out.resolve("checksums.sha256"))).as(id).isEqualTo(expected);
            }
            case "grep" -> {
                // one grep over every file, in order, prints what a grep per file would (-H names each line's
                // file), without 600 process starts (about 2 s here)
                byte[] expected = RefTools.run(input, List.of("grep", "-a", "-E", "-Hn", "-e", PATTERN), paths,
                        Set.of(0, 1));
                assertThat(Files.readAllBytes(out.resolve("matches.txt"))).as(id).isEqualTo(expected);
            }
            case "wc" -> {
                String ref = new String(RefTools.run(input, List.of("wc", "-lwc"), paths),
                        StandardCharsets.ISO_8859_1);
                List<String> rows = Files.readAllLines(out.resolve("counts.tsv"), StandardCharsets.ISO_8859_1);
                Iterator<String> refLines = ref.lines().iterator();
                assertThat(rows).hasSize(paths.size() + 1);
                for (int i = 0; i < rows.size(); i++) {
                    String[] mine = rows.get(i).split("\t");
                    String[] theirs = refLines.next().trim().split("\\s+", 4);
                    assertThat(Arrays.copyOfRange(mine, 1, 4)).as("%s row %s", id, rows.get(i))
                            .containsExactly(theirs[0], theirs[1], theirs[2]);
                }
            }
            case "gzip" -> {
                List<String> gz = paths.stream().map(p -> p + ".gz").toList();
                RefTools.run(out, List.of("gzip", "-t"), gz);
                // each file's content, with one zcat for all instead of one per file (600 process starts, about
                // 2 s here): the files unpacked one after another are the inputs one after another, and each
                // unpacks to its input's length, so every file is its input. gzip -l cannot give the lengths:
                // it reads only the last member of a file written in several
                ByteArrayOutputStream inputs = new ByteArrayOutputStream();
                List<Long> sizes = new ArrayList<>();
                List<Long> unpacked = new ArrayList<>();
                for (String p : paths) {
                    byte[] original = ByteFiles.read(input, p);
                    inputs.write(original);
                    sizes.add((long) original.length);
                    try (InputStream in = new GZIPInputStream(new java.io.ByteArrayInputStream(ByteFiles.read(out, p + ".gz")))) {
                        unpacked.add(in.transferTo(OutputStream.nullOutputStream()));
                    }
                }
                assertThat(RefTools.run(out, List.of("zcat"), gz)).as(id).isEqualTo(inputs.toByteArray());
                assertThat(unpacked).as("%s: each file's unpacked length", id).isEqualTo(sizes);
            }
            default -> throw new IllegalArgumentException(operation);
        }
        // no staging or temporary leftovers beside the result
        try (Stream<Path> siblings = Files.list(dir.resolve("output"))) {
            assertThat(siblings.map(p -> p.getFileName().toString()).filter(n -> n.startsWith("." ) || n.contains("staging")))
                    .as("leftovers in the output root").isEmpty();
        }
    }

    /** Many small files (planning and merging take a while) and a few large ones (processing does). */
    private static List<String> bulk(Path root, Random r) throws IOException {
        List<String> paths = new ArrayList<>();
        for (int f = 0; f < 600; f++) {
            String name = String.format("bulk/d%02d/f%04d.txt", f % 20, f);
            Path p = root.resolve(name);
            Files.createDirectories(p.getParent());
            Files.write(p, RandomText.lines(r, 1024 + r.nextInt(12 * 1024)));
            paths.add(name);
        }
        for (int f = 0; f < 3; f++) {
            String name = "large/part-" + f + ".log";
            Path p = root.resolve(name);
            Files.createDirectories(p.getParent());
            try (OutputStream out = new java.io.BufferedOutputStream(Files.newOutputStream(p), 1 << 20)) {
                for (int chunk = 0; chunk < 24; chunk++) {
                    out.write(RandomText.lines(r, 1 << 20));
                }
            }
            paths.add(name);
        }
        return paths;
    }

}
