package io.ringbatch.operation;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;

/**
 * A buffered, sequential output file for a merge that can take back what it wrote since a mark (so a
 * file found incomplete half-way through its lines can be dropped without a second pass).
 */
public final class MergeOutput implements AutoCloseable {
    private final FileChannel channel;
    private final ByteBuffer buffer = ByteBuffer.allocateDirect(1 << 16);

    /** On a file {@link StagingFiles#output} opened (empty, by descriptor); closing this closes it. */
    MergeOutput(FileChannel channel) {
        this.channel = channel;
    }

    /** Bytes written so far. */
    long position() throws IOException {
        return channel.position() + buffer.position();
    }

    /** Drops everything written after {@code position}. */
    void truncate(long position) throws IOException {
        flush();
        channel.truncate(position);
        channel.position(position);
    }

    void write(int b) throws IOException {
        if (!buffer.hasRemaining()) {
            flush();
        }
        buffer.put((byte) b);
    }

    void write(byte[] bytes) throws IOException {
        write(bytes, 0, bytes.length);
    }

    void write(byte[] bytes, int offset, int length) throws IOException {
        while (length > 0) {
            if (!buffer.hasRemaining()) {
                flush();
            }
            int n = Math.min(length, buffer.remaining());
            buffer.put(bytes, offset, n);
            offset += n;
            length -= n;
        }
    }

    /** The next {@code length} bytes of {@code src}, which moves past them. */
    void write(ByteBuffer src, int length) throws IOException {
        int limit = src.limit();
        int end = src.position() + length;
        try {
            if (length > buffer.capacity()) {
                flush();
                src.limit(end);
                while (src.hasRemaining()) {
                    channel.write(src);
                }
                return;
            }
            if (buffer.remaining() < length) {
                flush();
            }
            src.limit(end);
            buffer.put(src);
        } finally {
            src.limit(limit);
        }
    }

    void writeDecimal(long value) throws IOException {
        if (value < 0) {
            throw new IllegalArgumentException("negative: " + value);
        }
        if (buffer.remaining() < 20) {
            flush();
        }
        if (value == 0) {
            buffer.put((byte) '0');
            return;
        }
        int start = buffer.position();
        while (value != 0) {
            buffer.put((byte) ('0' + value % 10));
            value /= 10;
        }
        for (int i = start, j = buffer.position() - 1; i < j; i++, j--) {
            byte t = buffer.get(i);
            buffer.put(i, buffer.get(j));
            buffer.put(j, t);
        }
    }

    private void flush() throws IOException {
        buffer.flip();
        while (buffer.hasRemaining()) {
            channel.write(buffer);
        }
        buffer.clear();
    }

    @Override
    public void close() throws IOException {
        try {
            flush();
        } finally {
            channel.close();
        }
    }
}
