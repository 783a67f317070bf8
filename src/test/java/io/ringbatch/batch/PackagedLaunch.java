package io.ringbatch.batch;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * {@link ServiceProcess.Launch#EXTRACTED}: the packaged jar extracted once per package by Spring Boot's tool,
 * and a dynamic class-data-sharing archive written by one training start that ends once the context is
 * refreshed ({@code -XX:ArchiveClassesAtExit}, {@code -Dspring.context.exit=onRefresh}). Kept under
 * {@code target/it-launch/<size>-<mtime of the jar>}, made under a file lock so that test JVMs running side by
 * side make it once. A failure here fails the test that asked: the extracted layout is what the container image
 * runs, so it must work.
 */
final class PackagedLaunch {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static List<String> command;

    private PackagedLaunch() {
    }

    /** The JVM options and {@code -jar} of the extracted jar, made on first use. */
    static synchronized List<String> extracted() throws Exception {
        if (command == null) {
            command = prepare();
        }
        return command;
    }

    private static List<String> prepare() throws Exception {
        Path jar = ServiceProcess.packagedJar();
        Path base = Files.createDirectories(Path.of("target", "it-launch").toAbsolutePath());
        Path dir = base.resolve(Files.size(jar) + "-" + Files.getLastModifiedTime(jar).toMillis());
        Path app = dir.resolve("app").resolve(jar.getFileName());
        Path archive = dir.resolve("app.jsa");
        try (FileChannel lockFile = FileChannel.open(base.resolve(".lock"), StandardOpenOption.CREATE,
                StandardOpenOption.WRITE); FileLock lock = lockFile.lock()) {
            if (!Files.exists(dir.resolve("ready"))) {
                try (Stream<Path> old = Files.list(base)) {
                    for (Path p : old.filter(p -> !p.getFileName().toString().equals(".lock")).toList()) {
                        deleteTree(p);
                    }
                }
                Files.createDirectories(dir);
                run(dir, "extract", List.of(ServiceProcess.java(), "-Djarmode=tools", "-jar", jar.toString(),
                        "extract", "--destination", dir.resolve("app").toString()));
                run(dir, "training", List.of(ServiceProcess.java(), "-Xmx512m",
                        "-XX:ArchiveClassesAtExit=" + archive, "-Dspring.context.exit=onRefresh",
                        "-jar", app.toString(), "--server.port=0",
                        "--ringbatch.data-dir=" + Files.createDirectories(dir.resolve("training-data")),
                        "--ringbatch.security.admin-password=" + ServiceProcess.PASSWORD));
                if (!Files.isRegularFile(archive) || Files.size(archive) == 0) {
                    throw new IllegalStateException("the training start wrote no class-data archive; see "
                            + dir.resolve("training.log"));
                }
                Files.createFile(dir.resolve("ready"));
            }
        }
        return List.of("-XX:SharedArchiveFile=" + archive, "-jar", app.toString());
    }

    private static void run(Path dir, String name, List<String> cmd) throws IOException, InterruptedException {
        Path log = dir.resolve(name + ".log");
        Process p = new ProcessBuilder(new ArrayList<>(cmd)).directory(dir.toFile()).redirectErrorStream(true)
                .redirectOutput(log.toFile()).start();
        if (!p.waitFor(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor();
            throw new IllegalStateException(name + " did not end within " + TIMEOUT + ": " + cmd);
        }
        if (p.exitValue() != 0) {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            throw new IllegalStateException(name + " exited " + p.exitValue() + ": " + cmd + "\n"
                    + String.join("\n", lines.subList(Math.max(0, lines.size() - 30), lines.size())));
        }
    }

    private static void deleteTree(Path root) throws IOException {
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                Files.delete(p);
            }
        }
    }
}
