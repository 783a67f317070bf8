package io.ringbatch.operation;

import java.io.IOException;
import java.nio.ByteBuffer;

/**
 * Builds the bytes of records for {@link FragmentSink#record}: a growable heap buffer with unsigned
 * LEB128 variable-length numbers, reused from record to record (the sink consumes a record during the
 * call). {@link #readVarLong} reads the numbers back in the merge.
 */
final class RecordBuffer {
    private ByteBuffer buf;

    RecordBuffer(int initialCapacity) {
        buf = ByteBuffer.allocate(initialCapacity);
    }

    int size() {
        return buf.position();
    }

    RecordBuffer put(byte b) {
        ensure(1);
        buf.put(b);
        return this;
    }

    RecordBuffer putVarLong(long v) {
        if (v < 0) {
            throw new IllegalArgumentException("negative: " + v);
        }
        ensure(10);
        while ((v & ~0x7fL) != 0) {
            buf.put((byte) ((v & 0x7f) | 0x80));
            v >>>= 7;
        }
        buf.put((byte) v);
        return this;
    }

    RecordBuffer put(byte[] a, int offset, int length) {
        ensure(length);
        buf.put(a, offset, length);
        return this;
    }

    /** Hands the bytes built so far to the sink as one record (if there are any) and starts afresh. */
    void emit(FragmentSink sink) throws IOException {
        if (buf.position() == 0) {
            return;
        }
        buf.flip();
        sink.record(buf);
        buf.clear();
    }

    private void ensure(int n) {
        if (buf.remaining() < n) {
            long want = Math.max((long) buf.position() + n, buf.capacity() * 2L);
            if (want > Integer.MAX_VALUE - 16) {
                want = (long) buf.position() + n;
                if (want > Integer.MAX_VALUE - 16) {
                    throw new IllegalStateException("record too large");
                }
            }
            ByteBuffer bigger = ByteBuffer.allocate((int) want);
            buf.flip();
            bigger.put(buf);
            buf = bigger;
        }
    }

    static long readVarLong(ByteBuffer b) throws IOException {
        long v = 0;
        for (int shift = 0; shift < 64; shift += 7) {
            if (!b.hasRemaining()) {
                throw new IOException("truncated record");
            }
            byte x = b.get();
            v |= (long) (x & 0x7f) << shift;
            if (x >= 0) {
                return v;
            }
        }
        throw new IOException("malformed number in record");
    }
}
