package io.ringbatch.operation;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * Byte searches over arrays, eight bytes at a time (SWAR): finding and counting {@code \n} is the
 * inner loop of grep and wc.
 */
final class ByteScan {
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long ONES = 0x0101010101010101L;
    private static final long LOW7 = 0x7f7f7f7f7f7f7f7fL;

    private ByteScan() {
    }

    static long broadcast(byte b) {
        return (b & 0xffL) * ONES;
    }

    /** The eight bytes at {@code a[i]}, the first in the lowest byte. */
    static long longAt(byte[] a, int i) {
        return (long) LONGS.get(a, i);
    }

    /** 0x80 in each byte of {@code v} that is zero and 0 in every other byte (exact: no carries between bytes). */
    static long zeroBytes(long v) {
        long t = (v & LOW7) + LOW7;
        return ~(t | v | LOW7);
    }

    /** The first index in {@code [from, to)} holding {@code b}, or -1. */
    static int indexOf(byte[] a, int from, int to, byte b) {
        long pattern = broadcast(b);
        int i = from;
        for (; i <= to - 8; i += 8) {
            long z = zeroBytes((long) LONGS.get(a, i) ^ pattern);
            if (z != 0) {
                return i + (Long.numberOfTrailingZeros(z) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /** The first index in {@code [from, to)} holding {@code b1} or {@code b2}, or -1. */
    static int indexOfEither(byte[] a, int from, int to, byte b1, byte b2) {
        if (b1 == b2) {
            return indexOf(a, from, to, b1);
        }
        long p1 = broadcast(b1);
        long p2 = broadcast(b2);
        int i = from;
        for (; i <= to - 8; i += 8) {
            long v = (long) LONGS.get(a, i);
            long z = zeroBytes(v ^ p1) | zeroBytes(v ^ p2);
            if (z != 0) {
                return i + (Long.numberOfTrailingZeros(z) >>> 3);
            }
        }
        for (; i < to; i++) {
            if (a[i] == b1 || a[i] == b2) {
                return i;
            }
        }
        return -1;
    }

    /** The last index in {@code [from, to)} holding {@code b}, or -1. */
    static int lastIndexOf(byte[] a, int from, int to, byte b) {
        long pattern = broadcast(b);
        int i = to;
        for (; i - 8 >= from; i -= 8) {
            long z = zeroBytes((long) LONGS.get(a, i - 8) ^ pattern);
            if (z != 0) {
                return i - 8 + ((63 - Long.numberOfLeadingZeros(z)) >>> 3);
            }
        }
        for (i--; i >= from; i--) {
            if (a[i] == b) {
                return i;
            }
        }
        return -1;
    }

    /**
     * How many bytes in {@code [from, to)} are {@code b}. The zero-byte flags of up to 255 words are added
     * up byte by byte in one long (each byte of the sum counts its lane, below 256) and summed across once
     * per run: no population count per word.
     */
    static int count(byte[] a, int from, int to, byte b) {
        long pattern = broadcast(b);
        int n = 0;
        int i = from;
        while (i <= to - 8) {
            int stop = (int) Math.min(to - 7L, i + 8L * 255);
            long lanes = 0;
            for (; i < stop; i += 8) {
                lanes += zeroBytes((long) LONGS.get(a, i) ^ pattern) >>> 7;
            }
            n += sumLanes(lanes);
        }
        for (; i < to; i++) {
            if (a[i] == b) {
                n++;
            }
        }
        return n;
    }

    /** The sum of the eight bytes of {@code lanes}. */
    static int sumLanes(long lanes) {
        long pairs = (lanes & 0x00ff00ff00ff00ffL) + ((lanes >>> 8) & 0x00ff00ff00ff00ffL);
        return (int) ((pairs * 0x0001000100010001L) >>> 48);
    }

    /**
     * A buffer's remaining bytes as an array region, without a copy when the buffer has an accessible
     * array, else copied into a scratch array that is kept (and grown) for the next call.
     */
    static final class Window {
        private byte[] scratch = new byte[0];
        byte[] array;
        int offset;
        int length;

        /** Views {@code data}'s remaining bytes (it does not move its position). */
        Window load(ByteBuffer data) {
            int n = data.remaining();
            if (data.hasArray()) {
                array = data.array();
                offset = data.arrayOffset() + data.position();
            } else {
                if (scratch.length < n) {
                    scratch = new byte[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 16, scratch.length * 2L))];
                }
                data.get(data.position(), scratch, 0, n);
                array = scratch;
                offset = 0;
            }
            length = n;
            return this;
        }

        /** Forgets the array (it may be the caller's, valid only during one call). */
        void release() {
            array = null;
        }

        int end() {
            return offset + length;
        }
    }
}
