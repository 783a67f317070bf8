package io.ringbatch.operation;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/** Runs the real reference tools (GNU coreutils, grep, gzip) with {@code LC_ALL=C}. */
final class RefTools {
    private RefTools() {
    }

    /** Runs {@code command} in {@code dir}; returns its standard output. Fails unless it exits with one of {@code ok}. */
    static byte[] run(Path dir, List<String> command, Set<Integer> ok) throws IOException {
        Path outFile = Files.createTempFile("ref-out", ".bin");
        Path errFile = Files.createTempFile("ref-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(outFile.toFile()).redirectError(errFile.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            pb.environment().put("LC_ALL", "C");
            Process p = pb.start();
            int code = p.waitFor();
            if (!ok.contains(code)) {
                fail(command.get(0) + " exited with " + code + ": "
                        + new String(Files.readAllBytes(errFile), StandardCharsets.UTF_8));
            }
            return Files.readAllBytes(outFile);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException(e);
        } finally {
            Files.deleteIfExists(outFile);
            Files.deleteIfExists(errFile);
        }
    }

    static byte[] run(Path dir, List<String> command) throws IOException {
        return run(dir, command, Set.of(0));
    }

    /** {@code head...} {@code --} {@code files...}. */
    static List<String> command(List<String> head, List<String> files) {
        List<String> c = new ArrayList<>(head);
        c.add("--");
        c.addAll(files);
        return c;
    }

    static void assumeTool(String tool) {
        assertTrue(Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/bin", tool)),
                tool + " (the reference tool) is not installed");
    }
}
