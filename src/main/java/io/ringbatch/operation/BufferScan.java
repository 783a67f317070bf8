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

    /** How many bytes in {@code [from, to)} are {@code x}. */
    static long count(ByteBuffer b, int from, int to, byte x) {
        long pattern = ByteScan.broadcast(x);
        long n = 0;
        int i = from;
        for (; i <= to - 8; i += 8) {
            n += Long.bitCount(ByteScan.zeroBytes(longAt(b, i) ^ pattern));
        }
        for (; i < to; i++) {
            if (b.get(i) == x) {
                n++;
            }
        }
        return n;
    }
}
