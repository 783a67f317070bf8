package io.ringbatch.api;

import static org.assertj.core.api.Assertions.assertThat;

import io.ringbatch.ServiceTest;
import io.ringbatch.TestDirs;
import io.ringbatch.io.Swaps;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.test.web.server.LocalServerPort;
import tools.jackson.databind.JsonNode;

/**
 * The attack that needs no race: a job is submitted with a root inside the input roots, stopped while it
 * waits in the queue, a directory on its root's path is replaced by a link to a directory outside the
 * roots that holds a secret under the same names, and the job is restarted. The submission's check is
 * long past; the restart opens the root again, sees where it leads and fails the job by that, and no
 * byte of the secret reaches an output. Once with openat2 and once with the fallback.
 */
@ServiceTest
@Timeout(180)
class InputRootSwapTest {
    private static final String SECRET = "TOPSECRET outside the input roots";

    @LocalServerPort
    int port;

    private final List<Runnable> undo = new ArrayList<>();

    @AfterEach
    void reset() {
        undo.forEach(Runnable::run);
        Swaps.useOpenat2(true);
    }

    private static String submit(ApiHttp http, String json) throws Exception {
        return http.submit(json).path("id").asString();
    }

    @ParameterizedTest(name = "openat2={0}")
    @ValueSource(booleans = {true, false})
    void aQueuedJobWhoseRootNowLeadsOutsideFailsAtRestart(boolean openat2) throws Exception {
        Swaps.useOpenat2(openat2);
        ApiHttp http = new ApiHttp(port);
        String name = "case-" + openat2;
        Path base = Files.createDirectories(TestDirs.input().resolve("InputRootSwapTest").resolve(name));
        Path data = base.resolve("data");
        Files.createDirectories(data.resolve("sub"));
        Files.writeString(base.resolve("data/a.txt"), "inside a\n");
        Files.writeString(base.resolve("data/sub/b.txt"), "inside b\n");
        Path outside = Files.createDirectories(TestDirs.shared().resolve("InputRootSwapTest-outside/" + name + "/data/sub"));
        Files.writeString(outside.resolve("b.txt"), SECRET + "\n");
        Files.writeString(outside.getParent().resolve("a.txt"), SECRET + "\n");
        Path slow = Files.createDirectories(TestDirs.input().resolve("InputRootSwapTest/slow-" + name));
        for (int i = 0; i < 40; i++) {
            Files.writeString(slow.resolve(String.format("f%02d.txt", i)), "line " + i + "\n");
        }

        // every slot (4) busy, so that the job waits in the queue
        http.awaitNoJobRunning();
        List<String> blockers = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            blockers.add(submit(http, "{\"operation\": \"test-list\", \"params\": {\"delayMillis\": 100}, "
                    + "\"input\": {\"root\": \"" + slow + "\"}}"));
        }
        for (String b : blockers) {
            http.awaitStatus(b, "STARTED", 30);
        }
        String id = submit(http, "{\"operation\": \"grep\", \"params\": {\"pattern\": \"TOPSECRET|inside\"}, "
                + "\"input\": {\"root\": \"" + data + "\"}}");
        assertThat(http.job(id).path("status").asString()).isEqualTo("QUEUED");
        HttpResponse<String> stop = http.post("/api/jobs/" + id + "/stop");
        assertThat(stop.statusCode()).as(stop.body()).isEqualTo(202);
        http.awaitStatus(id, "STOPPED", 30);
        for (String b : blockers) {
            http.post("/api/jobs/" + b + "/stop");
        }
        for (String b : blockers) {
            http.awaitEnd(b, 60);
        }

        // the root's parent becomes a link to the directory outside
        Path moved = base.resolveSibling(name + ".moved");
        Files.move(base, moved);
        Files.createSymbolicLink(base, outside.getParent().getParent());
        undo.add(() -> {
            try {
                Files.delete(base);
                Files.move(moved, base);
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });

        HttpResponse<String> restart = http.post("/api/jobs/" + id + "/restart");
        assertThat(restart.statusCode()).as(restart.body()).isEqualTo(202);
        JsonNode failed = http.awaitEnd(id, 60);
        assertThat(failed.path("status").asString()).isEqualTo("FAILED");
        assertThat(failed.path("error").path("message").asString()).contains("now resolves to")
                .contains("outside ringbatch.input-roots");
        Path output = TestDirs.output().resolve(id);
        if (Files.exists(output)) {
            try (Stream<Path> files = Files.walk(output)) {
                for (Path f : files.filter(Files::isRegularFile).toList()) {
                    assertThat(Files.readString(f)).as(f.toString()).doesNotContain(SECRET);
                }
            }
        }
    }
}
