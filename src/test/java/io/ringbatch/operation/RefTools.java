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
public final class RefTools {
    private RefTools() {
    }

    /** Runs {@code command} in {@code dir}; returns its standard output. Fails unless it exits with one of {@code ok}. */
    static byte[] run(Path dir, List<String> command, Set<Integer> ok) throws IOException {
        return run(dir, command, ok, new File("/dev/null"));
    }

    /**
     * Runs {@code head -- files...} in {@code dir}, the files being byte strings (see FileNames): their
     * bytes cannot go through a Java argument (encoded with sun.jnu.encoding), so {@code xargs -0} reads
     * them from its standard input and passes them on as they are, all in one command line (a few
     * kilobytes here). {@code ok} as for the tool itself.
     */
    static byte[] run(Path dir, List<String> head, List<String> files, Set<Integer> ok) throws IOException {
        List<String> command = new ArrayList<>(List.of("xargs", "-0", "-r"));
        command.addAll(head);
        command.add("--");
        Path names = Files.createTempFile("ref-names", ".bin");
        try {
            java.io.ByteArrayOutputStream list = new java.io.ByteArrayOutputStream();
            for (String f : files) {
                list.writeBytes(io.ringbatch.io.FileNames.cString(f));
            }
            Files.write(names, list.toByteArray());
            // xargs exits 123 when the command exited with 1-125
            Set<Integer> xargsOk = new java.util.HashSet<>();
            for (int code : ok) {
                xargsOk.add(code >= 1 && code <= 125 ? 123 : code);
            }
            return run(dir, command, xargsOk, names.toFile());
        } finally {
            Files.deleteIfExists(names);
        }
    }

    public static byte[] run(Path dir, List<String> head, List<String> files) throws IOException {
        return run(dir, head, files, Set.of(0));
    }

    private static byte[] run(Path dir, List<String> command, Set<Integer> ok, File input) throws IOException {
        Path outFile = Files.createTempFile("ref-out", ".bin");
        Path errFile = Files.createTempFile("ref-err", ".txt");
        try {
            ProcessBuilder pb = new ProcessBuilder(command).directory(dir.toFile())
                    .redirectOutput(outFile.toFile()).redirectError(errFile.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(input));
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

    static void assumeTool(String tool) {
        assertTrue(Files.isExecutable(Path.of("/usr/bin", tool)) || Files.isExecutable(Path.of("/bin", tool)),
                tool + " (the reference tool) is not installed");
    }
}
