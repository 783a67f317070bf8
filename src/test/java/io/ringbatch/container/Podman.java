package io.ringbatch.container;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

/**
 * podman (and buildah, tar, debootstrap) as processes: each command's output goes to a numbered file in
 * {@code logs}, and a failure names that file and ends with the output's last lines.
 */
final class Podman {
    private final Path logs;
    private int commands;

    Podman(Path logs) throws IOException {
        this.logs = Files.createDirectories(logs);
    }

    /** An executable of this name on the PATH, if there is one. */
    static Optional<Path> which(String name) {
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/sbin:/usr/bin:/sbin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, name);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    /**
     * What every container (and every RUN step of a build) needs on hosts like CI's, a root without
     * CAP_SYS_RESOURCE whose hard limits are 20000 open files and 96363 processes:
     * <ul>
     * <li>runc where it is installed: crun 1.8 (Debian 12's) refuses hosts with cgroups in hybrid mode
     * ("cgroups in hybrid mode not supported"), runc runs on v1, hybrid and v2 alike;</li>
     * <li>lowered limits: podman as root asks for 1048576 open files and 4194304 processes, which such a
     * root may not set ("error setting rlimits for ready process ... operation not permitted"). 4096 of
     * each is plenty for the service: about 250 files and sockets open, under 100 threads.</li>
     * </ul>
     * The rest is podman's own choice, which fits: the cgroupfs manager and a file for events where systemd
     * is not PID 1 (CI's machine), systemd and journald where it is; overlay storage on ext4 and xfs.
     */
    static List<String> runtimeFlags() {
        List<String> flags = new ArrayList<>();
        which("runc").ifPresent(runc -> flags.addAll(List.of("--runtime", runc.toString())));
        flags.addAll(List.of("--ulimit", "nofile=4096:4096", "--ulimit", "nproc=4096:4096"));
        return flags;
    }

    /** A command's exit code, its standard output and its standard error (kept apart: podman warns on stderr). */
    record Result(int exitCode, String out, String err, Path log) {
        Result ok() {
            if (exitCode != 0) {
                throw new AssertionError("exit code " + exitCode + ", see " + log + ":\n" + tail(out + err, 40));
            }
            return this;
        }
    }

    /** {@code podman args...}, within {@code timeout}. */
    Result podman(Duration timeout, String... args) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>(List.of("podman"));
        command.addAll(List.of(args));
        return run(timeout, command);
    }

    Result podman(Duration timeout, List<String> args) throws IOException, InterruptedException {
        return podman(timeout, args.toArray(String[]::new));
    }

    /**
     * Runs {@code command} with its standard output in a log file and its standard error in the same name plus
     * {@code .err}; kills it after {@code timeout}.
     */
    synchronized Result run(Duration timeout, List<String> command) throws IOException, InterruptedException {
        Path log = logs.resolve(String.format("%03d-%s.log", ++commands, command.get(0)));
        Path err = log.resolveSibling(log.getFileName() + ".err");
        Files.writeString(err, "$ " + String.join(" ", command) + "\n");
        Process p = new ProcessBuilder(command).redirectOutput(log.toFile())
                .redirectError(ProcessBuilder.Redirect.appendTo(err.toFile()))
                .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null"))).start();
        if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            p.destroyForcibly().waitFor();
            throw new AssertionError("no answer within " + timeout + ": " + String.join(" ", command) + "; see " + log);
        }
        // new String, not readString: a service's log may hold bytes that are not UTF-8 (a file's name)
        String stderr = new String(Files.readAllBytes(err), StandardCharsets.UTF_8);
        return new Result(p.exitValue(), new String(Files.readAllBytes(log), StandardCharsets.UTF_8),
                stderr.substring(stderr.indexOf('\n') + 1), log);
    }

    static String tail(String text, int lines) {
        String[] all = text.split("\n");
        return String.join("\n", List.of(all).subList(Math.max(0, all.length - lines), all.length));
    }
}
