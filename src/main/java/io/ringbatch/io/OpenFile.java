package io.ringbatch.io;

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

    @Override
    public abstract void close();
}
