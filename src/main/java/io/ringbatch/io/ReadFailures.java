package io.ringbatch.io;

import java.io.IOException;
import java.time.Duration;

/** The messages of a failed read: each names the file and the offset, and says what happened. */
final class ReadFailures {
    private ReadFailures() {
    }

    /** A read that completed with an error, or with end of file before {@code end}. */
    static IOException failed(String path, long at, long end, IOException cause, int errno) {
        if (cause != null) {
            return new IOException(path + ": read at offset " + at + " failed: " + cause.getMessage(), cause);
        }
        if (errno == 0) {
            return new IOException(path + ": file ended at offset " + at + " while " + end
                    + " bytes were expected (it was truncated while being read)");
        }
        return new IOException(path + ": read at offset " + at + " failed: " + Errno.describe(errno));
    }

    /** A read given up: its time-out passed, or the engine under it failed ({@code broken}). */
    static IOException stopped(String path, long at, IOException broken, Duration timeout) {
        if (broken != null) {
            return new IOException(path + ": read at offset " + at + " failed: " + broken.getMessage(), broken);
        }
        String limit = timeout.toMillis() % 1000 == 0 ? timeout.toSeconds() + " s" : timeout.toMillis() + " ms";
        return new IOException(path + ": read at offset " + at + " did not complete within " + limit
                + " (ringbatch.io.read-timeout); it was cancelled");
    }
}
