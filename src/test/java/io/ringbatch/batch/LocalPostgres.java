package io.ringbatch.batch;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipal;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.awaitility.core.ConditionTimeoutException;

/**
 * A real PostgreSQL server for a test: Debian's {@code initdb} and {@code postgres} binaries
 * ({@code apt-get install postgresql}; {@code .ci/run} does it), a cluster in a temporary directory,
 * listening on a free port of 127.0.0.1 with trust authentication, and a database {@code ringbatch}.
 * As root (CI), the server runs as the {@code postgres} user, because PostgreSQL refuses to run as root.
 */
public final class LocalPostgres implements AutoCloseable {
    public static final String USER = "ringbatch";
    public static final String DATABASE = "ringbatch";

    private final Path dir;
    private final int port;
    private final Process server;

    public LocalPostgres(Path dir) throws IOException, InterruptedException {
        this.dir = dir;
        Path bin = binaries();
        boolean root = "root".equals(System.getProperty("user.name"));
        Path data = dir.resolve("pgdata");
        Path sockets = Files.createDirectories(dir.resolve("pgsock"));
        if (root) {
            UserPrincipal postgres = dir.getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName("postgres");
            Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
            Files.setOwner(sockets, postgres);
            Files.createDirectories(data);
            Files.setOwner(data, postgres);
            Files.setPosixFilePermissions(data, PosixFilePermissions.fromString("rwx------"));
        }
        run(root, bin.resolve("initdb").toString(), "-D", data.toString(), "-U", USER, "--auth=trust", "-E", "UTF8",
                "--no-locale", "--no-sync");
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        server = process(root, bin.resolve("postgres").toString(), "-D", data.toString(), "-p", Integer.toString(port),
                "-k", sockets.toString(), "-c", "listen_addresses=127.0.0.1")
                .redirectErrorStream(true).redirectOutput(dir.resolve("postgres.log").toFile()).start();
        awaitReady();
        try (Connection c = DriverManager.getConnection(url("postgres"), USER, "");
             Statement st = c.createStatement()) {
            st.execute("CREATE DATABASE " + DATABASE);
        } catch (SQLException e) {
            throw new IOException("could not create the database: " + e.getMessage(), e);
        }
    }

    /** The newest {@code /usr/lib/postgresql/<version>/bin} with initdb and postgres. */
    /**
     * A server in {@code dir}, or the test skipped (JUnit's assumption) where PostgreSQL's server binaries
     * are not installed.
     */
    public static LocalPostgres startOrSkip(Path dir) throws IOException, InterruptedException {
        boolean installed;
        try {
            binaries();
            installed = true;
        } catch (IllegalStateException e) {
            installed = false;
        }
        org.junit.jupiter.api.Assumptions.assumeTrue(installed, "skipped: PostgreSQL's server binaries are missing"
                + " under /usr/lib/postgresql (apt-get install postgresql; .ci/run does)");
        return new LocalPostgres(dir);
    }

    static Path binaries() {
        Path root = Path.of("/usr/lib/postgresql");
        try (Stream<Path> versions = Files.list(root)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")) && Files.isExecutable(b.resolve("postgres")))
                    .max(Comparator.comparing(b -> {
                        String v = b.getParent().getFileName().toString();
                        return v.matches("\\d+") ? Integer.parseInt(v) : 0;
                    }))
                    .orElseThrow();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException("PostgreSQL's server binaries are missing under " + root
                    + ": apt-get install postgresql (.ci/run does)", e);
        }
    }

    public String url() {
        return url(DATABASE);
    }

    private String url(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    private void awaitReady() throws IOException {
        AtomicReference<SQLException> last = new AtomicReference<>();
        try {
            await("postgres accepts connections").atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(100))
                    .until(() -> {
                        if (!server.isAlive()) {
                            throw new IOException("postgres exited at start-up: "
                                    + Files.readString(dir.resolve("postgres.log")));
                        }
                        try (Connection c = DriverManager.getConnection(url("postgres"), USER, "")) {
                            return true;
                        } catch (SQLException e) {
                            last.set(e);
                            return false;
                        }
                    });
        } catch (ConditionTimeoutException e) {
            throw new IOException("postgres did not accept connections: "
                    + (last.get() == null ? "" : last.get().getMessage()), e);
        }
    }

    private static ProcessBuilder process(boolean root, String... command) {
        List<String> cmd = new ArrayList<>();
        if (root) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(command));
        return new ProcessBuilder(cmd);
    }

    private void run(boolean root, String... command) throws IOException, InterruptedException {
        Path log = dir.resolve("initdb.log");
        Process p = process(root, command).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        if (p.waitFor() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + Files.readString(log));
        }
    }

    /** A new connection to the database {@code ringbatch}, as the tests' own reader of the repository. */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(url(), USER, "");
    }

    @Override
    public void close() throws InterruptedException {
        // SIGTERM: a smart shutdown that waits for clients; they are gone by now
        server.destroy();
        if (!server.waitFor(30, java.util.concurrent.TimeUnit.SECONDS)) {
            server.destroyForcibly().waitFor();
        }
    }
}
