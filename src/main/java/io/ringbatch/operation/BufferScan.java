package io.ringbatch.operation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Byte searches over a {@link ByteBuffer} in place (the reader's direct buffers, without a copy into a
 * heap array), eight bytes at a time: the words are read little-endian whatever the buffer's own order,
 * so that the first byte is the lowest.
 */
final class BufferScan {
    private static final VarHandle LONGS = MethodHandles.byteBufferViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    private BufferScan() {
    }

    /** The eight bytes at absolute index {@code i}, the first in the lowest byte. */
    static long longAt(ByteBuffer b, int i) {
        return (long) LONGS.get(b, i);
    }

    /** The first index in {@code [from, to)} holding {@code x}, or -1. */
    static int indexOf(ByteBuffer b, int from, int to, byte x) {
        if (b.hasArray()) {
            int base = b.arrayOffset();
            int i = ByteScan.indexOf(b.array(), base + from, base + to, x);
            return i < 0 ? -1 : i - base;
        }
        long pattern = ByteScan.broadcast(x);
        int i = from;
        for (; i <= to - 8; i += 8) {
            long z = ByteScan.zeroBytes(longAt(b, i) ^ pattern);
            if (z != 0) {
                return i + (Long.numberOfTrailingZeros(z) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (b.get(i) == x) {
                return i;
            }
        }
        return -1;
    }

    /** The last index in {@code [from, to)} holding {@code x}, or -1. */
    static int lastIndexOf(ByteBuffer b, int from, int to, byte x) {
        if (b.hasArray()) {
            int base = b.arrayOffset();
            int i = ByteScan.lastIndexOf(b.array(), base + from, base + to, x);
            return i < 0 ? -1 : i - base;
        }
        long pattern = ByteScan.broadcast(x);
        int i = to;
        for (; i - 8 >= from; i -= 8) {
            long z = ByteScan.zeroBytes(longAt(b, i - 8) ^ pattern);
            if (z != 0) {
                return i - 8 + ((63 - Long.numberOfLeadingZeros(z)) >>> 3);
            }
        }
        for (i--; i >= from; i--) {
            if (b.get(i) == x) {
                return i;
            }
        }
        return -1;
    }

    /** Bytes copied at a time by {@link #count}: a stretch the first level cache holds. */
    static final int COUNT_STRETCH = 16 * 1024;

    /**
     * How many bytes in {@code [from, to)} are {@code x}. A direct buffer's bytes are copied, a stretch of
     * {@value #COUNT_STRETCH} at a time, into {@code scratch} (at least that long) and counted there: on
     * the JDK 17 of the bench, a long read from a direct buffer through its view VarHandle costs more than
     * the copy and the read from an array together (counting newlines over 1 MiB blocks of the log
     * benchmark's text: 3.4-3.6 GB/s against 2.5 GB/s on one core, in one run of each).
     */
    static long count(ByteBuffer b, int from, int to, byte x, byte[] scratch) {
        if (b.hasArray()) {
            int base = b.arrayOffset();
            return ByteScan.count(b.array(), base + from, base + to, x);
        }
        long n = 0;
        for (int p = from; p < to; ) {
            int k = Math.min(COUNT_STRETCH, to - p);
            b.get(p, scratch, 0, k);
            n += ByteScan.count(scratch, 0, k, x);
            p += k;
        }
        return n;
    }
}
