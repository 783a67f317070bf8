package io.ringbatch.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import io.ringbatch.RingbatchApplication;
import io.ringbatch.io.Errno;
import io.ringbatch.io.IoEngine;
import io.ringbatch.io.IoEngineUnavailableException;
import io.ringbatch.io.IoEngines;
import io.ringbatch.io.IoUringUnavailableException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.diagnostics.FailureAnalysis;
import org.springframework.boot.test.system.CapturedOutput;
import org.springframework.boot.test.system.OutputCaptureExtension;
import org.springframework.boot.web.server.context.WebServerApplicationContext;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.support.GenericApplicationContext;
import org.springframework.util.FileSystemUtils;

/**
 * Whole start-ups, as {@code java -jar} or {@code spring-boot:run} would do them: the log lines an
 * operator reads, the failure report when io_uring is forced where it is refused, a second start on
 * the same data dir.
 */
@ExtendWith(OutputCaptureExtension.class)
class StartupTest {

    private static final IoEngines.UringStarter REFUSED = options -> {
        throw new IoUringUnavailableException("io_uring_setup", Errno.EPERM);
    };

    /** A start-up with command-line arguments, which (unlike builder properties) beat application.yml. */
    private static ConfigurableApplicationContext start(Path dataDir, String engine, IoEngines.UringStarter uring,
                                                        String... more) {
        SpringApplicationBuilder builder = new SpringApplicationBuilder(RingbatchApplication.class)
                .main(RingbatchApplication.class);
        if (uring != null) {
            builder.initializers(context -> ((GenericApplicationContext) context)
                    .registerBean(IoEngines.UringStarter.class, () -> uring));
        }
        List<String> args = new ArrayList<>(List.of("--server.port=0", "--ringbatch.data-dir=" + dataDir,
                "--ringbatch.io.engine=" + engine, "--spring.main.banner-mode=off"));
        for (String arg : more) {
            args.add("--" + arg);
        }
        return builder.run(args.toArray(String[]::new));
    }

    @Test
    void forcedIoUringWhereRefusedStopsWithAClearReport(@TempDir Path dataDir, CapturedOutput output) {
        assertThatThrownBy(() -> start(dataDir, "io_uring", REFUSED).close())
                .hasRootCauseInstanceOf(IoUringUnavailableException.class)
                .satisfies(failure -> {
                    FailureAnalysis analysis = new IoEngineUnavailableFailureAnalyzer().analyze(failure);
                    assertThat(analysis).isNotNull();
                    assertThat(analysis.getDescription())
                            .startsWith("ringbatch.io.engine is set to io_uring, but io_uring cannot run here: ")
                            .contains("io_uring_setup refused: EPERM (errno 1)").contains("seccomp");
                    assertThat(analysis.getAction()).contains("ringbatch.io.engine=auto")
                            .contains("ringbatch.io.engine=blocking").contains("seccomp profile");
                });
        // The report that Spring Boot prints comes from our analyzer (registered in spring.factories)...
        assertThat(output.getOut() + output.getErr())
                .contains("APPLICATION FAILED TO START")
                .contains("ringbatch.io.engine is set to io_uring, but io_uring cannot run here: io_uring_setup refused:")
                .contains("set ringbatch.io.engine=auto (RINGBATCH_IO_ENGINE=auto)")
                // ...instead of a stack trace.
                .doesNotContain("at io.ringbatch.io.IoEngines.select");
    }

    @Test
    void analyzerIgnoresOtherFailures() {
        assertThat(new IoEngineUnavailableFailureAnalyzer().analyze(new IllegalStateException("other"))).isNull();
        FailureAnalysis bare = new IoEngineUnavailableFailureAnalyzer()
                .analyze(new IoEngineUnavailableException("no ring", null));
        assertThat(bare.getDescription()).contains("no ring");
    }

    @Test
    void autoWhereRefusedSaysSoOnceAndRunsTheBlockingEngine(@TempDir Path dataDir, CapturedOutput output) {
        try (ConfigurableApplicationContext context = start(dataDir, "auto", REFUSED,
                "ringbatch.security.admin-password=secret")) {
            assertThat(context.getBean(IoEngine.class).name()).isEqualTo("blocking");
        }
        String log = output.getOut();
        assertThat(count(log, "WARN")).as("exactly one WARN line:\n" + log).isEqualTo(1);
        assertThat(log).containsPattern("WARN .*io_uring is not available here \\(io_uring_setup refused: EPERM"
                + " \\(errno 1\\).*\\); the blocking engine runs instead");
        assertThat(log).containsPattern("INFO .*I/O engine: blocking \\(ringbatch.io.engine=auto");
    }

    @Test
    void generatedAdminPasswordIsLoggedOnceAndWorks(@TempDir Path dataDir, CapturedOutput output) throws Exception {
        try (ConfigurableApplicationContext context = start(dataDir, "blocking", null)) {
            String log = output.getOut();
            Matcher m = Pattern.compile("generated password for user 'admin'[^:]*: (\\S+)").matcher(log);
            assertThat(m.find()).as(log).isTrue();
            String password = m.group(1);
            assertThat(m.find()).as("logged once").isFalse();
            assertThat(count(log, password)).isEqualTo(1);
            assertThat(count(log, "WARN")).as("one WARN line, the password's:\n" + log).isEqualTo(1);
            assertThat(log).containsPattern("INFO .*I/O engine: blocking \\(ringbatch.io.engine=blocking");

            int port = ((WebServerApplicationContext) context).getWebServer().getPort();
            TestHttp http = new TestHttp(port);
            assertThat(http.get("/actuator/prometheus", "admin", password).statusCode()).isEqualTo(200);
            assertThat(http.get("/actuator/prometheus", "admin", "guess").statusCode()).isEqualTo(401);
        }
        assertThat(dataDir.resolve("ringbatch.mv.db")).isRegularFile();
    }

    @Test
    void startsAgainOnTheSameDataDirAndCreatesIt(@TempDir Path tmp) {
        Path dataDir = tmp.resolve("not/yet/there");
        for (int start = 0; start < 2; start++) {
            try (ConfigurableApplicationContext context = start(dataDir, "blocking", null,
                    "ringbatch.security.admin-password=secret")) {
                assertThat(context.getBean(RingbatchProperties.class).dataDir()).isEqualTo(dataDir);
                assertThat(dataDir.resolve("ringbatch.mv.db")).isRegularFile();
            }
        }
    }

    /** H2 refuses "data/x" (implicitly relative); the service makes the data dir absolute first. */
    @Test
    void aRelativeDataDirWorks() throws Exception {
        String relative = "target/startup-test-" + UUID.randomUUID() + "/data";
        Path absolute = Path.of(relative).toAbsolutePath();
        try (ConfigurableApplicationContext context = start(Path.of(relative), "blocking", null,
                "ringbatch.security.admin-password=secret")) {
            assertThat(context.getBean(RingbatchProperties.class).dataDir()).isEqualTo(absolute);
            assertThat(context.getEnvironment().getProperty("spring.datasource.url"))
                    .startsWith("jdbc:h2:file:" + absolute + "/ringbatch");
            assertThat(absolute.resolve("ringbatch.mv.db")).isRegularFile();
        } finally {
            FileSystemUtils.deleteRecursively(absolute.getParent());
        }
    }

    /** What an operator should see for a start-up failure they can fix: the report, no stack trace. */
    private static void assertReport(CapturedOutput output, String... expected) {
        String all = output.getOut() + output.getErr();
        assertThat(all).contains("APPLICATION FAILED TO START").contains(expected)
                .doesNotContain("\tat io.ringbatch").doesNotContain("\tat org.springframework");
    }

    @Test
    void aDataDirThatIsAFileStopsStartUpWithAReport(@TempDir Path tmp, CapturedOutput output) throws Exception {
        Path file = java.nio.file.Files.writeString(tmp.resolve("data"), "not a directory");
        assertThatThrownBy(() -> start(file, "blocking", null, "ringbatch.security.admin-password=secret").close())
                .isInstanceOf(DataDirectoryException.class);
        assertReport(output, "ringbatch.data-dir " + file + " cannot be used: it exists and is not a directory",
                "Point ringbatch.data-dir (RINGBATCH_DATADIR) at a directory");
    }

    @Test
    void aDataDirOnAReadOnlyFileSystemStopsStartUpWithAReport(@TempDir Path tmp, CapturedOutput output)
            throws Exception {
        Path dir = java.nio.file.Files.createDirectories(tmp.resolve("ro"));
        boolean root = "root".equals(System.getProperty("user.name"));
        if (root) {
            // root writes through permissions, not through a read-only mount
            assertThat(new ProcessBuilder("mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", dir.toString())
                    .inheritIO().start().waitFor()).as("mount a read-only tmpfs").isZero();
        } else {
            java.nio.file.Files.setPosixFilePermissions(dir,
                    java.nio.file.attribute.PosixFilePermissions.fromString("r-xr-xr-x"));
        }
        try {
            assertThatThrownBy(() -> start(dir, "blocking", null, "ringbatch.security.admin-password=secret").close())
                    .isInstanceOf(DataDirectoryException.class);
            assertReport(output, "ringbatch.data-dir " + dir + " cannot be used: it is not writable (",
                    root ? "Read-only file system" : "permission denied");
        } finally {
            if (root) {
                new ProcessBuilder("umount", dir.toString()).inheritIO().start().waitFor();
            } else {
                java.nio.file.Files.setPosixFilePermissions(dir,
                        java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
            }
        }
    }

    @Test
    void anH2DatabaseHeldByAnotherProcessStopsStartUpWithAReport(@TempDir Path dataDir, CapturedOutput output)
            throws Exception {
        // another process opens the data dir's database and keeps it open (H2's shell waits on its stdin)
        String h2 = Path.of(org.h2.Driver.class.getProtectionDomain().getCodeSource().getLocation().toURI()).toString();
        Path log = dataDir.resolveSibling(dataDir.getFileName() + ".h2.log");
        Process holder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-cp", h2,
                "org.h2.tools.Shell", "-url", "jdbc:h2:file:" + dataDir + "/ringbatch", "-user", "sa", "-password", "")
                .redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            // the shell prints its help only once it holds an open connection (the database and its lock)
            await("the H2 shell connected; its output is in " + log).atMost(Duration.ofSeconds(30))
                    .until(() -> !holder.isAlive() || Files.readString(log).contains("Commands are case insensitive"));
            assertThat(holder.isAlive()).as("the H2 shell holds the database").isTrue();
            assertThatThrownBy(() -> start(dataDir, "blocking", null, "ringbatch.security.admin-password=secret").close());
            assertReport(output, "The H2 job repository is in use by another process",
                    "give this one its own ringbatch.data-dir");
        } finally {
            holder.destroyForcibly().waitFor();
        }
    }

    private static int count(String text, String needle) {
        int n = 0;
        for (int i = text.indexOf(needle); i >= 0; i = text.indexOf(needle, i + needle.length())) {
            n++;
        }
        return n;
    }
}
