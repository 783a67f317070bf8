package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import java.io.BufferedWriter;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicReference;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import tools.jackson.databind.JsonNode;

/**
 * A slow job shows its progress: a {@code gzip} level 9 job over one 96 MiB log file on one worker, with the
 * pipeline's default settings (1 MiB blocks, commit-bytes 64MB, commit-time 1s), takes several seconds in one
 * partition, and {@code progress.bytesDone} in {@code GET /api/jobs/{id}} moves at least every 2 seconds
 * while it runs, from the job's start to its end. By bytes alone it would commit once, at the partition's
 * end (with {@code commit-time=1h} the test fails); commit-time makes it commit about once a second.
 */
@Timeout(180)
class GzipProgressTest {
    private static final long MAX_GAP_NANOS = 2_000_000_000L;
    private static final Set<String> ENDED = Set.of("COMPLETED", "FAILED", "STOPPED", "ABANDONED");

    @TempDir
    Path dataDir;

    @Test
    void theProgressOfAGzipNineJobMovesAtLeastEveryTwoSeconds() throws Exception {
        Path input = Files.createDirectories(dataDir.resolve("input/logs"));
        writeLog(input.resolve("app.log"), 96L << 20);
        Map<String, Object> props = Map.of(
                "server.port", "0",
                "ringbatch.data-dir", dataDir.toString(),
                "ringbatch.input-roots", dataDir.resolve("input").toString(),
                "ringbatch.output-root", dataDir.resolve("output").toString(),
                "ringbatch.security.admin-password", ApiHttp.ADMIN_PW,
                "ringbatch.workers", "1");
        try (ConfigurableApplicationContext app = new SpringApplicationBuilder(RingbatchApplication.class)
                .properties(props).run()) {
            ApiHttp http = new ApiHttp(Integer.parseInt(app.getEnvironment().getProperty("local.server.port")));
            String id = http.submit("{\"operation\": \"gzip\", \"params\": {\"level\": 9}, \"input\": {\"root\": \""
                    + input + "\"}}").path("id").asString();

            // every change of bytesDone, from the first time the job is seen started to its end
            List<long[]> moves = new ArrayList<>(); // {nanoTime, bytesDone}
            AtomicReference<JsonNode> seen = new AtomicReference<>();
            Awaitility.await("job " + id + " ended").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(50))
                    .until(() -> {
                        JsonNode j = http.job(id);
                        seen.set(j);
                        String status = j.path("status").asString();
                        long now = System.nanoTime();
                        if (moves.isEmpty() && (status.equals("STARTED") || ENDED.contains(status))) {
                            moves.add(new long[] {now, 0});
                        }
                        long done = j.path("progress").path("bytesDone").asLong();
                        if (!moves.isEmpty() && done != moves.get(moves.size() - 1)[1]) {
                            moves.add(new long[] {now, done});
                        }
                        return ENDED.contains(status);
                    });
            JsonNode job = seen.get();
            long startedAt = moves.get(0)[0];
            long last = moves.get(moves.size() - 1)[1];
            assertThat(job.path("status").asString()).as(job.toPrettyString()).isEqualTo("COMPLETED");
            assertThat(last).isEqualTo(96L << 20);
            long runNanos = moves.get(moves.size() - 1)[0] - startedAt;
            // the test means something only if the job committed before its end: 96 MiB of gzip -9 on one core
            // takes about 8 s here, and more than 2 s on any machine this runs on
            assertThat(moves.size() - 1).as("progress moves over a run of %d ms", runNanos / 1_000_000)
                    .isGreaterThanOrEqualTo(3);
            for (int i = 1; i < moves.size(); i++) {
                long gap = moves.get(i)[0] - moves.get(i - 1)[0];
                assertThat(gap).as("ns between progress %d and %d bytes (run of %d ms, %d moves)",
                        moves.get(i - 1)[1], moves.get(i)[1], runNanos / 1_000_000, moves.size() - 1)
                        .isLessThanOrEqualTo(MAX_GAP_NANOS);
            }
        }
    }

    /** Log-like lines from a fixed seed, {@code size} bytes exactly. */
    private static void writeLog(Path file, long size) throws IOException {
        Random r = new Random(9);
        String[] levels = {"INFO", "INFO", "INFO", "DEBUG", "WARN", "ERROR"};
        long written = 0;
        try (BufferedWriter w = Files.newBufferedWriter(file, StandardCharsets.US_ASCII)) {
            StringBuilder line = new StringBuilder();
            while (written < size) {
                line.setLength(0);
                line.append("2026-12-03T").append(10 + r.nextInt(10)).append(':').append(10 + r.nextInt(50)).append(':')
                        .append(10 + r.nextInt(50)).append('.').append(100 + r.nextInt(900)).append(' ')
                        .append(levels[r.nextInt(levels.length)]).append(" user=u").append(r.nextInt(100_000))
                        .append(" latency=").append(r.nextInt(5000)).append("ms request=").append(Long.toHexString(r.nextLong()))
                        .append('\n');
                String s = line.length() > size - written ? line.substring(0, (int) (size - written)) : line.toString();
                w.write(s);
                written += s.length();
            }
        }
    }
}
