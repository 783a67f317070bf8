package io.ringbatch.io;

import java.io.IOException;

/** A file an engine opened for a reader: its handle, what it was at open, and how reads must align. */
abstract class OpenFile implements AutoCloseable {
    /** The file for messages: its root as configured and its name beneath ({@code FileNames.inMessage}). */
    final String path;
    final long size;
    final boolean direct;
    /** Offsets, lengths and buffer addresses of direct reads are multiples of this; 1 when buffered. */
    final int align;

    OpenFile(String path, long size, boolean direct, int align) {
        this.path = path;
        this.size = size;
        this.direct = direct;
        this.align = align;
    }

    /**
     * Checks the opened file against what {@code input} expects once more, on its descriptor: for a file
     * opened ahead of its use, so that one changed since then fails as changed when it is reached, as a file
     * opened then would. Files that cannot be checked again are never opened ahead.
     */
    void recheck(InputFile input) throws IOException {
        throw new IOException(path + ": cannot be checked again");
    }

    /**
     * A read met EAGAIN: makes the handle blocking if it was not, and says whether it did (the read is then
     * tried again). False for handles that are blocking already.
     */
    boolean makeBlocking() {
        return false;
    }

    @Override
    public abstract void close();
}
