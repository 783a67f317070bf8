package io.ringbatch.config;

import java.nio.file.Path;

/** {@code ringbatch.data-dir} cannot be used: not creatable, not a directory, or not writable. */
public class DataDirectoryException extends RuntimeException {
    private final Path dir;

    public DataDirectoryException(Path dir, String reason, Throwable cause) {
        super("ringbatch.data-dir " + io.ringbatch.io.FileNames.inMessage(dir) + " cannot be used: " + reason, cause);
        this.dir = dir;
    }

    public Path dir() {
        return dir;
    }
}
