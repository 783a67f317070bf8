package io.ringbatch.io;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.ringbatch.api.ApiHttp;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
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
 * A real read error from a device: an ext4 file system on a loop device (made by the test, as root) whose
 * backing file is then cut short, so that a file's later blocks lie past the end of the device and the
 * block layer answers EIO. (Device-mapper's error target would be the textbook fault; this kernel has no
 * device-mapper here.) The job fails naming the file and errno 5; the service stays healthy and runs the
 * next job.
 * <p>
 * Its own context, not {@link io.ringbatch.ServiceTest}'s: its input root is the failing device.
 */
@SpringBootTest(webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT, properties = {
        "ringbatch.security.admin-password=" + ApiHttp.ADMIN_PW, "ringbatch.workers=2"})
@DirtiesContext
@Timeout(120)
class DeviceErrorTest {
    @TempDir
    static Path dir;
    static Path mount;
    static String loop;

    @DynamicPropertySource
    static void dirs(DynamicPropertyRegistry registry) throws Exception {
        Path input = Files.createDirectories(dir.resolve("input"));
        mount = Files.createDirectories(input.resolve("disk"));
        registry.add("ringbatch.data-dir", () -> dir.resolve("data").toString());
        registry.add("ringbatch.input-roots", input::toString);
        registry.add("ringbatch.output-root", () -> dir.resolve("output").toString());
        if ("root".equals(System.getProperty("user.name"))) {
            Path image = dir.resolve("disk.img");
            sh("truncate", "-s", "64M", image.toString());
            sh("mkfs.ext4", "-q", "-F", image.toString());
            loop = new String(new ProcessBuilder("losetup", "-f", "--show", image.toString()).start().getInputStream()
                    .readAllBytes()).strip();
            sh("mount", loop, mount.toString());
        }
    }

    @AfterAll
    static void detach() throws Exception {
        if (loop != null) {
            new ProcessBuilder("umount", mount.toString()).inheritIO().start().waitFor();
            new ProcessBuilder("losetup", "-d", loop).inheritIO().start().waitFor();
        }
    }

    private static void sh(String... command) throws Exception {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", command) + ": " + out).isZero();
    }

    @LocalServerPort
    int port;

    @Test
    void aReadErrorFailsTheJobNamingTheFileAndErrnoAndTheServiceStaysHealthy() throws Exception {
        assumeTrue(loop != null, "loop devices and mounts need root (CI runs as root)");
        Path good = mount.resolve("good.txt");
        Files.writeString(good, "fine\n");
        Path bad = mount.resolve("bad.bin");
        byte[] noise = new byte[40 << 20];
        new Random(3).nextBytes(noise);
        Files.write(bad, noise);
        sh("sync");
        // cut the device to 30 MiB: the file's last blocks are now past its end; and forget the cached copy
        sh("truncate", "-s", "30M", dir.resolve("disk.img").toString());
        sh("losetup", "-c", loop);
        EngineContractTest.evict(bad, 0, noise.length);

        ApiHttp http = new ApiHttp(port);
        String id = http.submit("{\"operation\": \"checksum\", \"input\": {\"root\": \"" + mount + "\", "
                + "\"include\": [\"*.bin\", \"*.txt\"]}}").path("id").asString();
        JsonNode failed = http.awaitEnd(id, 60);
        assertThat(failed.path("status").asString()).as("%s", failed).isEqualTo("FAILED");
        String error = failed.path("error").path("message").asString() + " " + failed.path("error").path("detail")
                .asString();
        assertThat(error).contains("bad.bin").contains("EIO (errno 5)");

        JsonNode health = ApiHttp.json(http.send(http.request("/actuator/health").GET()));
        assertThat(health.path("status").asString()).isEqualTo("UP");

        // and it goes on working: a job over the readable file completes
        String next = http.submit("{\"operation\": \"checksum\", \"input\": {\"root\": \"" + mount + "\", "
                + "\"include\": [\"*.txt\"]}}").path("id").asString();
        assertThat(http.awaitEnd(next, 60).path("status").asString()).isEqualTo("COMPLETED");
        List<String> lines = new ArrayList<>(Files.readAllLines(dir.resolve("output").resolve(next)
                .resolve("checksums.sha256")));
        assertThat(lines).singleElement().asString().endsWith("  good.txt");
    }
}
