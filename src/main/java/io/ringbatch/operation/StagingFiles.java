package io.ringbatch.operation;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.List;

/** Writing outputs into the merge's staging directory: safe paths, and per-piece outputs put in place. */
final class StagingFiles {
    private StagingFiles() {
    }

    /**
     * {@code staging/relative}, refusing a relative path that would leave the staging directory; the
     * parent directories are created.
     */
    static Path resolve(Path staging, String relative) throws IOException {
        Path root = staging.toAbsolutePath().normalize();
        Path target = root.resolve(relative).normalize();
        if (!target.startsWith(root) || target.equals(root)) {
            throw new IOException("output path leaves the output directory: " + relative);
        }
        Files.createDirectories(target.getParent());
        return target;
    }

    /**
     * Puts a piece's output file at {@code target} without copying its bytes: a hard link (the piece's
     * file stays where it is, so that the merge can run again after a crash), else a copy when the
     * file system refuses links. An existing {@code target} (from an earlier merge) is replaced.
     */
    static void place(Path pieceOutput, Path target) throws IOException {
        Files.deleteIfExists(target);
        try {
            Files.createLink(target, pieceOutput);
        } catch (UnsupportedOperationException | IOException e) {
            Files.copy(pieceOutput, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /** Writes the concatenation of {@code parts} to {@code target} (replacing it), kernel to kernel. */
    static void concatenate(List<Path> parts, Path target) throws IOException {
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            for (Path part : parts) {
                try (FileChannel in = FileChannel.open(part, StandardOpenOption.READ)) {
                    long size = in.size();
                    long pos = 0;
                    while (pos < size) {
                        long n = in.transferTo(pos, size - pos, out);
                        if (n <= 0) {
                            throw new IOException("could not copy " + part + " at offset " + pos);
                        }
                        pos += n;
                    }
                }
            }
        }
    }

    /** Creates {@code target} empty, replacing an existing file. */
    static void empty(Path target) throws IOException {
        Files.write(target, new byte[0]);
    }
}
