package io.ringbatch.container;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.DigestInputStream;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import java.util.zip.GZIPInputStream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

/**
 * The project's Dockerfile, built with podman and with buildah on a Java 17 base made from Debian's
 * packages ({@link DebianBase}), and the image run the way the chart runs it: read-only root file system
 * with a /tmp of its own, the image's non-root user, every capability dropped, no privilege escalation, the
 * input mounted read-only, the data dir and the output root as volumes. Under the runtime's default seccomp
 * profile the service falls back to its blocking engine and says why; under the chart's profile
 * ({@code helm/ringbatch/files/ringbatch-io-uring.json}) it reads through io_uring while calls outside the
 * profile's list are refused; a checksum job equals {@code sha256sum}; SIGTERM stops a running job within
 * the chart's grace period and the next container on the same volumes finishes it.
 *
 * <p>Skipped only where podman is not installed ({@code .ci/run} installs podman, buildah, runc and debootstrap). It
 * runs podman as root, the way CI runs it.
 */
@Timeout(900)
class ContainerIT {
    static final JsonMapper JSON = JsonMapper.builder().build();
    static final String PASSWORD = "container-test-secret";
    static final Path PROFILE = Path.of("helm/ringbatch/files/ringbatch-io-uring.json").toAbsolutePath();
    /** The chart's podSecurityContext: runAsUser and runAsGroup. */
    static final int UID = 1002;
    static final int GID = 1000;
    /** The chart's shutdownTimeout (45s) and terminationGracePeriodSeconds (60). */
    static final Duration SHUTDOWN_TIMEOUT = Duration.ofSeconds(45);
    static final Duration GRACE_PERIOD = Duration.ofSeconds(60);

    @TempDir
    static Path dir;
    static Podman podman;
    static String podmanImage;
    static String buildahImage;
    static final List<String> containers = new ArrayList<>();
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void images() throws Exception {
        assumeTrue(Podman.which("podman").isPresent(),
                "ContainerIT skipped: podman is not installed (.ci/run installs podman, buildah, runc and debootstrap)");
        podman = new Podman(Path.of("target", "container-it"));
        long start = System.nanoTime();
        String base = DebianBase.image(podman);
        long based = System.nanoTime();
        podmanImage = build("podman", "localhost/ringbatch:it", base);
        buildahImage = build("buildah", "localhost/ringbatch:it-buildah", base);
        System.out.printf("ContainerIT: base image %s in %d s, service images in %d s%n", base,
                Duration.ofNanos(based - start).toSeconds(), Duration.ofNanos(System.nanoTime() - based).toSeconds());
    }

    /** {@code tool build} of the Dockerfile on {@code base}; the image it replaces under {@code tag} is removed. */
    static String build(String tool, String tag, String base) throws Exception {
        Podman.Result before = podman.podman(Duration.ofMinutes(1), "image", "inspect", "--format", "{{.Id}}", tag);
        List<String> command = new ArrayList<>(List.of(tool, "build"));
        command.addAll(Podman.runtimeFlags());
        // --format docker: the OCI image format has no HEALTHCHECK. --layers=false: no cache of intermediate
        // images, which would keep about 200 MB per new jar on CI's machine; the build takes 7 s without it
        command.addAll(List.of("--format", "docker", "--layers=false", "--pull=never",
                "--build-arg", "BASE_IMAGE=" + base, "--tag", tag, "--file", "Dockerfile", "."));
        podman.run(Duration.ofMinutes(10), command).ok();
        String id = podman.podman(Duration.ofMinutes(1), "image", "inspect", "--format", "{{.Id}}", tag).ok().out().trim();
        if (before.exitCode() == 0 && !before.out().trim().equals(id)) {
            podman.podman(Duration.ofMinutes(1), "rmi", before.out().trim());
        }
        return tag;
    }

    @AfterAll
    static void removeContainers() throws Exception {
        for (String c : containers) {
            remove(c);
        }
    }

    @Test
    void underTheRuntimesDefaultProfileTheServiceRunsItsBlockingEngineAndSaysWhy() throws Exception {
        // the image buildah built: the same Dockerfile gives a working image with either tool
        String config = podman.podman(Duration.ofMinutes(1), "image", "inspect", "--format",
                "{{.Config.User}}|{{.Config.Entrypoint}}|{{.Config.Env}}|{{json .HealthCheck}}", buildahImage).ok().out();
        assertThat(config).startsWith(UID + ":" + GID + "|[java -jar /app/ringbatch.jar]|")
                .contains("LANG=C.UTF-8").contains("/actuator/health/liveness");

        Path data = volume("default/data");
        Path input = volume("default/input");
        Container c = start(buildahImage, null, data, input, volume("default/output"));
        JsonNode engine = c.health().get("components").get("ioEngine").get("details");
        assertThat(engine.get("engine").asString()).as("%s", engine).isEqualTo("blocking");
        assertThat(engine.path("fallbackReason").asString()).as("%s", engine).contains("io_uring_setup");

        // java is PID 1, as the image's user, under a seccomp filter (the runtime's default profile)
        String status = c.exec("cat", "/proc/1/status").ok().out();
        assertThat(status).contains("Name:\tjava").containsPattern("Uid:\t" + UID + "\t")
                .containsPattern("Gid:\t" + GID + "\t").contains("Seccomp:\t2");
        assertThat(c.exec("touch", "/app/written").err()).contains("Read-only file system");
        assertThat(c.exec("touch", "/data/input/written").err()).contains("Read-only file system");
        assertThat(podman.podman(Duration.ofMinutes(1), "healthcheck", "run", c.name()).exitCode())
                .as("the image's HEALTHCHECK").isZero();
        assertThat(c.stop()).as("exit code after SIGTERM: the JVM's own exit (128 + 15)").isEqualTo(143);
    }

    @Test
    void underTheChartsProfileTheServiceReadsThroughIoUringAndCallsOutsideTheListAreRefused() throws Exception {
        JsonNode profile = JSON.readTree(PROFILE.toFile());
        assertThat(profile.get("defaultAction").asString()).isEqualTo("SCMP_ACT_ERRNO");
        int refused = profile.path("defaultErrnoRet").asInt(1);

        // unshare(CLONE_NEWUSER) and keyctl(KEYCTL_GET_KEYRING_ID, session keyring): the kernel grants both
        // here (unconfined), the profile refuses both with its default errno
        assertThat(syscalls("unconfined")).isEqualTo("unshare 0 0\nkeyctl ok 0\n");
        assertThat(syscalls(PROFILE.toString())).isEqualTo("unshare -1 " + refused + "\nkeyctl -1 " + refused + "\n");

        Path input = volume("chart/input");
        Path tree = Files.createDirectories(input.resolve("sums"));
        List<String> paths = tree(tree);
        Path output = volume("chart/output");
        Container c = start(podmanImage, PROFILE, volume("chart/data"), input, output);
        JsonNode engine = c.health().get("components").get("ioEngine").get("details");
        assertThat(engine.get("engine").asString()).as("%s", engine).isEqualTo("io_uring");
        assertThat(engine.has("fallbackReason")).as("%s", engine).isFalse();
        assertThat(c.exec("cat", "/proc/1/status").ok().out()).contains("Seccomp:\t2");

        String id = c.submit("{\"name\":\"container checksum\",\"operation\":\"checksum\",\"params\":{\"algorithm\":"
                + "\"sha256\"},\"input\":{\"root\":\"/data/input/sums\"}}");
        JsonNode job = c.awaitEnd(id, Duration.ofMinutes(2));
        assertThat(job.get("status").asString()).as("%s", job).isEqualTo("COMPLETED");
        List<String> sha256sum = new ArrayList<>(List.of("sha256sum", "--"));
        sha256sum.addAll(paths);
        ProcessBuilder reference = new ProcessBuilder(sha256sum).directory(tree.toFile());
        reference.environment().put("LC_ALL", "C");
        Process p = reference.start();
        byte[] expected = p.getInputStream().readAllBytes();
        assertThat(p.waitFor()).isZero();
        assertThat(new String(Files.readAllBytes(output.resolve(id).resolve("checksums.sha256")), StandardCharsets.ISO_8859_1))
                .isEqualTo(new String(expected, StandardCharsets.ISO_8859_1));
        c.stop();
    }

    @Test
    void sigtermStopsARunningJobWithinTheGracePeriodAndTheNextContainerResumesIt() throws Exception {
        Path data = volume("term/data");
        Path input = volume("term/input");
        Path output = volume("term/output");
        Path big = Files.createDirectories(input.resolve("big"));
        List<Path> files = text(big, 4, 32 << 20);
        // one worker committing every 4 MB, so that gzip -9 over 128 MB runs for seconds and commits often
        String[] args = {"--ringbatch.workers=1", "--ringbatch.pipeline.commit-interval=4",
                "--ringbatch.pipeline.split-size=16MB"};

        Container first = start(podmanImage, PROFILE, data, input, output, args);
        String id = first.submit("{\"name\":\"container sigterm\",\"operation\":\"gzip\",\"params\":{\"level\":9},"
                + "\"input\":{\"root\":\"/data/input/big\"}}");
        await("job " + id + " made progress").atMost(Duration.ofMinutes(2)).pollInterval(Duration.ofMillis(20))
                .until(() -> first.get("/api/jobs/" + id), j -> {
                    assertThat(j.get("status").asString()).as("the job ended before SIGTERM: %s", j)
                            .isIn("QUEUED", "STARTING", "STARTED");
                    return j.get("progress").get("bytesDone").asLong() > 0;
                });
        long term = System.nanoTime();
        int exit = first.stop();
        Duration stopped = Duration.ofNanos(System.nanoTime() - term);
        System.out.printf("ContainerIT: the service stopped %d ms after SIGTERM%n", stopped.toMillis());
        assertThat(exit).as("exit code: 143 is the JVM's own exit after SIGTERM, 137 a kill at the grace period's end")
                .isEqualTo(143);
        assertThat(stopped).as("stopped within the chart's shutdownTimeout").isLessThan(SHUTDOWN_TIMEOUT);
        assertThat(output.resolve(id)).as("the job had finished before SIGTERM: it needs more input").doesNotExist();

        Container second = start(podmanImage, PROFILE, data, input, output, args);
        JsonNode job = second.awaitEnd(id, Duration.ofMinutes(3));
        assertThat(job.get("status").asString()).as("%s", job).isEqualTo("COMPLETED");
        // the executions, oldest first: stopped by SIGTERM, then completed by the second container
        List<JsonNode> executions = new ArrayList<>(job.get("executions").values());
        executions.sort(Comparator.comparingLong(e -> e.get("id").asLong()));
        assertThat(executions).extracting(e -> e.get("status").asString()).as("%s", job)
                .containsExactly("STOPPED", "COMPLETED");
        for (Path f : files) {
            Path gz = output.resolve(id).resolve(big.relativize(f) + ".gz");
            try (InputStream in = new GZIPInputStream(Files.newInputStream(gz), 1 << 16)) {
                assertThat(sha256(in)).as("%s gives back %s", gz, f).isEqualTo(sha256(Files.newInputStream(f)));
            }
        }
        second.stop();
    }

    /** Runs perl in the image under {@code seccomp} and returns what the two calls answered. */
    private String syscalls(String seccomp) throws Exception {
        boolean arm = System.getProperty("os.arch").equals("aarch64");
        int unshare = arm ? 97 : 272;
        int keyctl = arm ? 219 : 250;
        // each line: the call's result ("ok" for a key's serial number) and errno when it failed
        String script = "my $r = syscall(" + unshare + ", 0x10000000); print \"unshare $r \", ($r < 0 ? $! + 0 : 0), \"\\n\";"
                + "$r = syscall(" + keyctl + ", 0, -3, 0); print \"keyctl \", ($r > 0 ? \"ok\" : $r), \" \","
                + " ($r < 0 ? $! + 0 : 0), \"\\n\";";
        List<String> command = new ArrayList<>(List.of("run", "--rm"));
        command.addAll(Podman.runtimeFlags());
        command.addAll(List.of("--cap-drop", "ALL", "--security-opt", "no-new-privileges", "--security-opt",
                "seccomp=" + seccomp, "--entrypoint", "perl", podmanImage, "-e", script));
        return podman.podman(Duration.ofMinutes(1), command).ok().out();
    }

    /** A directory for a volume, owned by the image's user as the chart's fsGroup would make it. */
    private static Path volume(String name) throws IOException {
        Path p = Files.createDirectories(dir.resolve(name));
        Files.setAttribute(p, "unix:uid", UID);
        Files.setAttribute(p, "unix:gid", GID);
        return p;
    }

    /** A few files of several sizes, one empty, one in a directory with a space; their paths in sha256sum's order. */
    private static List<String> tree(Path root) throws IOException {
        Random r = new Random(16);
        List<String> paths = new ArrayList<>(List.of("empty", "one.bin", "sub dir/two.bin", "sub dir/three.txt"));
        int[] sizes = {0, 3 << 20, (1 << 20) + 17, 4096};
        for (int i = 0; i < paths.size(); i++) {
            Path f = root.resolve(paths.get(i));
            Files.createDirectories(f.getParent());
            byte[] bytes = new byte[sizes[i]];
            r.nextBytes(bytes);
            Files.write(f, bytes);
        }
        paths.sort((a, b) -> Arrays.compareUnsigned(a.getBytes(StandardCharsets.UTF_8), b.getBytes(StandardCharsets.UTF_8)));
        return paths;
    }

    /** {@code count} files of {@code size} bytes of random lines: text that gzip -9 works at. */
    private static List<Path> text(Path root, int count, int size) throws IOException {
        Random r = new Random(2026);
        byte[] alphabet = "abcdefghijklmnopqrstuvwxyz0123456789     ".getBytes(StandardCharsets.US_ASCII);
        List<Path> files = new ArrayList<>();
        byte[] buffer = new byte[1 << 20];
        for (int f = 0; f < count; f++) {
            Path p = root.resolve("part-" + f + ".log");
            try (OutputStream out = Files.newOutputStream(p)) {
                for (int written = 0; written < size; written += buffer.length) {
                    for (int i = 0; i < buffer.length; i++) {
                        buffer[i] = i % 100 == 99 ? (byte) '\n' : alphabet[r.nextInt(alphabet.length)];
                    }
                    out.write(buffer);
                }
            }
            files.add(p);
        }
        return files;
    }

    private static String sha256(InputStream in) throws Exception {
        MessageDigest digest = MessageDigest.getInstance("SHA-256");
        try (DigestInputStream d = new DigestInputStream(in, digest)) {
            d.transferTo(OutputStream.nullOutputStream());
        }
        return HexFormat.of().formatHex(digest.digest());
    }

    /**
     * Runs the service's image as the chart runs it: {@code profile} is the seccomp profile's file (null: the
     * runtime's default); the service's port is published on the loopback address.
     */
    private Container start(String image, Path profile, Path data, Path input, Path output, String... args) throws Exception {
        String name = "ringbatch-it-" + ProcessHandle.current().pid() + "-" + containers.size();
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        List<String> command = new ArrayList<>(List.of("run", "--detach", "--name", name));
        command.addAll(Podman.runtimeFlags());
        // the chart: read-only root with an emptyDir at /tmp (exec: JNA loads its native library from there;
        // podman's --tmpfs is noexec unless told), no capabilities, no privilege escalation
        command.addAll(List.of("--read-only", "--read-only-tmpfs=false", "--tmpfs", "/tmp:rw,exec,nosuid,nodev,mode=1777",
                "--cap-drop", "ALL", "--security-opt", "no-new-privileges"));
        if (profile != null) {
            command.addAll(List.of("--security-opt", "seccomp=" + profile));
        }
        command.addAll(List.of("--volume", data + ":/var/lib/ringbatch", "--volume", input + ":/data/input:ro",
                "--volume", output + ":/data/output", "--env", "RINGBATCH_SECURITY_ADMINPASSWORD=" + PASSWORD,
                "--publish", "127.0.0.1:" + port + ":8080", image));
        command.addAll(List.of(args));
        containers.add(name);
        podman.podman(Duration.ofMinutes(2), command).ok();
        Container c = new Container(name, port);
        c.awaitHealthy();
        return c;
    }

    /** Saves the container's log beside the commands' logs, then removes it. */
    private static void remove(String name) throws Exception {
        Podman.Result logs = podman.podman(Duration.ofMinutes(1), "logs", name);
        if (logs.exitCode() == 0) {
            Files.writeString(Path.of("target", "container-it", name + ".log"), logs.out() + logs.err());
        }
        podman.podman(Duration.ofMinutes(1), "rm", "--force", "--time", "0", name);
    }

    final class Container {
        private final String name;
        private final int port;

        Container(String name, int port) {
            this.name = name;
            this.port = port;
        }

        String name() {
            return name;
        }

        Podman.Result exec(String... command) throws Exception {
            List<String> c = new ArrayList<>(List.of("exec", name));
            c.addAll(List.of(command));
            return podman.podman(Duration.ofMinutes(1), c);
        }

        /** SIGTERM and up to the chart's grace period before SIGKILL; returns the exit code. */
        int stop() throws Exception {
            podman.podman(GRACE_PERIOD.plusMinutes(1), "stop", "--time", String.valueOf(GRACE_PERIOD.toSeconds()), name).ok();
            int code = Integer.parseInt(podman.podman(Duration.ofMinutes(1), "inspect", "--format", "{{.State.ExitCode}}",
                    name).ok().out().trim());
            remove(name);
            return code;
        }

        private HttpRequest.Builder request(String path) {
            return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                    .header("Authorization", "Basic " + Base64.getEncoder()
                            .encodeToString(("admin:" + PASSWORD).getBytes(StandardCharsets.UTF_8)))
                    .timeout(Duration.ofSeconds(30));
        }

        JsonNode get(String path) throws Exception {
            HttpResponse<String> r = http.send(request(path).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as("GET %s: %s", path, r.body()).isEqualTo(200);
            return JSON.readTree(r.body());
        }

        JsonNode health() throws Exception {
            return get("/actuator/health");
        }

        String submit(String body) throws Exception {
            HttpResponse<String> r = http.send(request("/api/jobs").POST(HttpRequest.BodyPublishers.ofString(body))
                    .header("Content-Type", "application/json").build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).as(r.body()).isEqualTo(202);
            return JSON.readTree(r.body()).get("id").asString();
        }

        JsonNode awaitEnd(String id, Duration timeout) {
            return await("job " + id + " ended in " + name).atMost(timeout).pollInterval(Duration.ofMillis(200))
                    .until(() -> get("/api/jobs/" + id),
                            j -> List.of("COMPLETED", "FAILED", "ABANDONED").contains(j.get("status").asString()));
        }

        /** Until the service answers on its port; fails at once when the container has exited. */
        void awaitHealthy() {
            await("the service in " + name + " healthy; see target/container-it/" + name + ".log")
                    .atMost(Duration.ofMinutes(3)).pollInterval(Duration.ofMillis(250)).until(() -> {
                        try {
                            return http.send(request("/actuator/health").build(), HttpResponse.BodyHandlers.discarding())
                                    .statusCode() == 200;
                        } catch (IOException notYet) {
                            String running = podman.podman(Duration.ofMinutes(1), "inspect", "--format",
                                    "{{.State.Running}}", name).out().trim();
                            if (!running.equals("true")) {
                                remove(name);
                                throw new AssertionError("the container " + name + " exited at start-up; see target/"
                                        + "container-it/" + name + ".log");
                            }
                            return false;
                        }
                    });
        }
    }
}
