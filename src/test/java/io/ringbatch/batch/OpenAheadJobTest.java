package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoUringEngine;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;

/**
 * A job over many small files on the io_uring engine: its partitions hand their files to the engine, which
 * opens and checks them ahead of the reader through the worker's ring, and the checksums are those of the
 * files; {@code ringbatch.io.open-ahead=false} opens each file at its use, with the same output.
 */
@Timeout(180)
class OpenAheadJobTest {
    private static final int FILES = 300;

    @TempDir
    Path dir;

    private ConfigurableApplicationContext start(String data, boolean openAhead) {
        return new SpringApplicationBuilder(RingbatchApplication.class).properties(Map.of(
                "server.port", "0",
                "ringbatch.data-dir", dir.resolve(data).toString(),
                "ringbatch.input-roots", dir.resolve("input").toString(),
                "ringbatch.output-root", dir.resolve("output").toString(),
                "ringbatch.security.admin-password", "admin-secret",
                "ringbatch.workers", "2",
                "ringbatch.io.engine", "auto",
                "ringbatch.io.topology", "per-thread",
                "ringbatch.io.open-ahead", String.valueOf(openAhead))).run();
    }

    @Test
    void aJobOverSmallFilesOpensThemAheadThroughTheRingAndChecksumsThemExactly() throws Exception {
        Path root = Files.createDirectories(dir.resolve("input/small"));
        Map<String, String> expected = new TreeMap<>();
        int empty = 0;
        MessageDigest sha = MessageDigest.getInstance("SHA-256");
        for (int i = 0; i < FILES; i++) {
            String name = String.format("d%d/f%04d.txt", i % 7, i);
            byte[] data = ("file " + i + "\n").repeat(i % 50).getBytes(StandardCharsets.UTF_8);
            Files.createDirectories(root.resolve(name).getParent());
            Files.write(root.resolve(name), data);
            empty += data.length == 0 ? 1 : 0;
            expected.put(name, HexFormat.of().formatHex(sha.digest(data)));
        }
        StringBuilder want = new StringBuilder();
        expected.forEach((name, hex) -> want.append(hex).append("  ").append(name).append('\n'));

        try (ConfigurableApplicationContext app = start("data-ahead", true)) {
            IoEngine engine = app.getBean(IoEngine.class);
            assumeTrue(engine instanceof IoUringEngine, "skipped: io_uring is refused here (" + engine + ")");
            IoUringEngine ring = (IoUringEngine) engine;
            long before = ring.openedAhead();
            assertThat(run(app, "ahead", root)).isEqualTo(want.toString());
            // every file with bytes to read (an empty one is never opened: it is passed over and closed), but
            // those the kernel could not open through the ring (none on 5.6 and later)
            assertThat(ring.openedAhead() - before).as("files opened ahead through the ring")
                    .isGreaterThanOrEqualTo(FILES - empty - ring.openedInline())
                    .isPositive();
        }
        try (ConfigurableApplicationContext app = start("data-inline", false)) {
            IoUringEngine ring = (IoUringEngine) app.getBean(IoEngine.class);
            assertThat(run(app, "inline", root)).isEqualTo(want.toString());
            assertThat(ring.openedAhead()).as("off: each file opened at its use").isZero();
        }
    }

    private String run(ConfigurableApplicationContext app, String id, Path root) throws Exception {
        JobRunner runner = app.getBean(JobRunner.class);
        Path output = dir.resolve("output").resolve(id);
        runner.start(new JobDefinition(id, "checksum", Map.of("algorithm", "sha256"), root, List.of(), List.of(),
                output, false));
        RunState end = PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
        assertThat(end.status()).as(end.error()).isEqualTo("COMPLETED");
        return Files.readString(output.resolve("checksums.sha256"));
    }
}
