package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ringbatch.api.ApiHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import tools.jackson.databind.JsonNode;

/**
 * The output root fills up: a small tmpfs (mounted by the test, as root) is the output root, and a gzip
 * job's results do not fit. The job fails with a message that says the disk is full, nothing half-written
 * is left where the result goes, and after space is freed a restart completes it with the right output.
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: its output root is the small tmpfs (the staging
 * and the move into place happen on the output root's file system).
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW, "ringbatch.workers=2"})
@DirtiesContext
@Timeout(120)
class DiskFullTest {
    @TempDir
    static Path dataDir;
    static Path output;
    static boolean mounted;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) throws Exception {
        output = Files.createDirectories(dataDir.resolve("output"));
        if ("root".equals(System.getProperty("user.name"))) {
            mounted = mount("size=2m");
        }
        registry.add("ringbatch.data-dir", () -> dataDir.resolve("data").toString());
        registry.add("ringbatch.input-roots", () -> dataDir.resolve("input").toString());
        registry.add("ringbatch.output-root", () -> output.toString());
    }

    @AfterAll
    static void unmount() throws Exception {
        if (mounted) {
            new ProcessBuilder("umount", output.toString()).inheritIO().start().waitFor();
        }
    }

    private static boolean mount(String options) throws Exception {
        int rc = new ProcessBuilder("mount", "-t", "tmpfs", "-o", options, "tmpfs", output.toString())
                .inheritIO().start().waitFor();
        assertThat(rc).as("mount -t tmpfs -o " + options).isZero();
        return true;
    }

    @LocalServerPort
    int port;

    @Test
    void aFullOutputDiskFailsTheJobCleanlyAndARestartAfterFreeingSpaceCompletesIt() throws Exception {
        assumeTrue(mounted, "mounting a tmpfs needs root (CI runs as root)");
        Path input = Files.createDirectories(dataDir.resolve("input/random"));
        Random r = new Random(5);
        for (int i = 0; i < 4; i++) {
            byte[] noise = new byte[1 << 20]; // incompressible: gzip makes it a little larger
            r.nextBytes(noise);
            Files.write(input.resolve("noise-" + i + ".bin"), noise);
        }
        ApiHttp http = new ApiHttp(port);
        String id = http.submit("{\"operation\": \"gzip\", \"params\": {\"level\": 1}, \"input\": {\"root\": \"" + input
                + "\"}}").path("id").asString();
        JsonNode failed = http.awaitEnd(id, 60);
        assertThat(failed.path("status").asString()).as("%s", failed).isEqualTo("FAILED");
        assertThat(failed.path("error").path("message").asString()).containsIgnoringCase("no space left on device");
        // nothing in place, nothing half-written beside it
        assertThat(output.resolve(id)).doesNotExist();
        try (Stream<Path> left = Files.list(output)) {
            assertThat(left.map(p -> p.getFileName().toString())).as("left in the output root").isEmpty();
        }

        // free space, restart: the result is complete and right
        mount("remount,size=64m");
        assertThat(http.post("/api/jobs/" + id + "/restart").statusCode()).isEqualTo(202);
        JsonNode done = http.awaitEnd(id, 60);
        assertThat(done.path("status").asString()).as("%s", done).isEqualTo("COMPLETED");
        for (int i = 0; i < 4; i++) {
            try (var in = new java.util.zip.GZIPInputStream(Files.newInputStream(output.resolve(id)
                    .resolve("noise-" + i + ".bin.gz")))) {
                assertThat(in.readAllBytes()).isEqualTo(Files.readAllBytes(input.resolve("noise-" + i + ".bin")));
            }
        }
    }
}
