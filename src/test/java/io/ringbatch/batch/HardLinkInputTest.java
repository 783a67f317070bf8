package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.operation.Operation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/**
 * An input root may hold a hard link to a file outside it, and which name of an inode lies where cannot
 * be told: a regular file with more than one link is refused like an unreadable file unless
 * {@code ringbatch.input.allow-hard-links=true}. Without {@code skipUnreadable} the job fails at planning,
 * naming the file and the reason, before anything is read; with it the file is skipped and listed in
 * the report; a link made after planning is caught when the file is opened; with the key set the file
 * is read like any other.
 */
@Timeout(180)
class HardLinkInputTest {
    private static final String SECRET = "outside the input root\n";

    @TempDir
    Path dir;
    Path root;
    Path outside;

    @Configuration(proxyBeanMethods = false)
    static class Ops {
        @Bean
        Operation copyWhole() {
            return new CopyOperation("copy-whole", Operation.Split.WHOLE);
        }
    }

    @BeforeEach
    void tree() throws Exception {
        root = Files.createDirectories(dir.resolve("input/root"));
        outside = Files.createDirectories(dir.resolve("outside"));
        Files.writeString(outside.resolve("secret.txt"), SECRET);
        Files.writeString(root.resolve("a.txt"), "alpha\n");
        Files.createDirectories(root.resolve("sub"));
        Files.createLink(root.resolve("sub/linked.txt"), outside.resolve("secret.txt"));
        Files.writeString(root.resolve("z.txt"), "zulu\n");
    }

    private ConfigurableApplicationContext start(String data, boolean allowHardLinks) {
        return new SpringApplicationBuilder(RingbatchApplication.class, Ops.class).properties(Map.of(
                "server.port", "0",
                "ringbatch.data-dir", dir.resolve(data).toString(),
                "ringbatch.input-roots", dir.resolve("input").toString(),
                "ringbatch.output-root", dir.resolve("output").toString(),
                "ringbatch.security.admin-password", "admin-secret",
                "ringbatch.workers", "2",
                "ringbatch.pipeline.commit-interval", "1",
                "ringbatch.input.allow-hard-links", String.valueOf(allowHardLinks))).run();
    }

    @Test
    void aHardLinkIsRefusedLikeAnUnreadableFileUnlessAllowed() throws Exception {
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                .digest(SECRET.getBytes(StandardCharsets.UTF_8)));
        try (ConfigurableApplicationContext app = start("data-refuse", false)) {
            JobRunner runner = app.getBean(JobRunner.class);

            // refused at planning: the job fails by the file's name and the reason, nothing is read
            RunState failed = run(runner, "refused", "checksum", false);
            assertThat(failed.status()).isEqualTo("FAILED");
            assertThat(failed.phase()).isEqualTo("planning");
            assertThat(failed.error()).contains("sub/linked.txt").contains("has 2 hard links")
                    .contains("ringbatch.input.allow-hard-links=true");
            assertThat(output("refused")).doesNotExist();

            // with skipUnreadable: skipped and listed in the report, the rest done
            RunState skipped = run(runner, "skipped", "checksum", true);
            assertThat(skipped.status()).as(skipped.error()).isEqualTo("COMPLETED");
            String report = Files.readString(output("skipped").resolve("job-report.json"));
            assertThat(report).contains("sub/linked.txt").contains("has 2 hard links");
            String sums = Files.readString(output("skipped").resolve("checksums.sha256"));
            assertThat(sums).contains("  a.txt\n").contains("  z.txt\n").doesNotContain("linked").doesNotContain(sha);

            // a link made after planning is caught when the file is opened
            Path lateRoot = Files.createDirectories(dir.resolve("input/late"));
            // more files before it than the io_uring engine opens ahead of the reader (16), so that the last
            // one is opened (and its links counted on the descriptor) after the link is made
            for (int i = 0; i < 40; i++) {
                Files.writeString(lateRoot.resolve(String.format("a-%02d.txt", i)), "line " + i + "\n");
            }
            Files.writeString(lateRoot.resolve("z-last.txt"), "planned with one link\n");
            CopyOperation.delayMillis = 100;
            try {
                String id = "late";
                runner.start(new JobDefinition(id, "copy-whole", Map.of(), lateRoot, List.of(), List.of(), output(id),
                        false));
                awaitProgress(runner, id);
                Files.createLink(outside.resolve("z-again.txt"), lateRoot.resolve("z-last.txt"));
                RunState late = await(runner, id);
                assertThat(late.status()).isEqualTo("FAILED");
                assertThat(late.phase()).isEqualTo("processing");
                assertThat(late.error()).contains("z-last.txt").contains("has 2 hard links");
                assertThat(output(id)).doesNotExist();
            } finally {
                CopyOperation.delayMillis = 0;
            }
        }

        // with ringbatch.input.allow-hard-links=true the file is read like any other
        try (ConfigurableApplicationContext app = start("data-allow", true)) {
            JobRunner runner = app.getBean(JobRunner.class);
            RunState done = run(runner, "allowed", "checksum", false);
            assertThat(done.status()).as(done.error()).isEqualTo("COMPLETED");
            assertThat(Files.readString(output("allowed").resolve("checksums.sha256")))
                    .contains(sha + "  sub/linked.txt\n").contains("  a.txt\n");
            assertThat(Files.readString(output("allowed").resolve("job-report.json")))
                    .contains("\"skipped\" : [ ]");
        }
    }

    private Path output(String id) {
        return dir.resolve("output").resolve(id);
    }

    private RunState run(JobRunner runner, String id, String operation, boolean skipUnreadable) throws Exception {
        runner.start(new JobDefinition(id, operation, Map.of("algorithm", "sha256"), root, List.of(), List.of(),
                output(id), skipUnreadable));
        return await(runner, id);
    }

    private static void awaitProgress(JobRunner runner, String id) {
        Awaitility.await("job " + id + " made progress").atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(10))
                .until(() -> runner.state(id).bytesDone() > 0);
    }

    private static RunState await(JobRunner runner, String id) {
        return PipelineTest.awaitEnd(runner, id, Duration.ofMinutes(1));
    }
}
