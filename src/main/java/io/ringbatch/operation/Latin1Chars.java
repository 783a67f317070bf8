package io.ringbatch.operation;

import java.nio.charset.StandardCharsets;

/**
 * A region of a byte array seen as characters, one per byte (ISO-8859-1), without decoding: what the
 * regex engine runs over, so that a line is never turned into a String.
 */
final class Latin1Chars implements CharSequence {
    private byte[] bytes;
    private int offset;
    private int length;
    /** Characters the regex engine may still read before {@link BudgetExceeded}; unlimited by default. */
    private long budget = Long.MAX_VALUE;

    /** The regex engine read more characters than its budget: it is backtracking without end. */
    static final class BudgetExceeded extends RuntimeException {
        BudgetExceeded() {
            super(null, null, false, false);
        }
    }

    /** Allows the regex engine this many more character reads. */
    void budget(long reads) {
        budget = reads;
    }

    Latin1Chars set(byte[] bytes, int offset, int length) {
        this.bytes = bytes;
        this.offset = offset;
        this.length = length;
        return this;
    }

    void release() {
        bytes = null;
        length = 0;
    }

    @Override
    public int length() {
        return length;
    }

    @Override
    public char charAt(int index) {
        if (index < 0 || index >= length) {
            throw new IndexOutOfBoundsException(index);
        }
        if (--budget < 0) {
            throw new BudgetExceeded();
        }
        return (char) (bytes[offset + index] & 0xff);
    }

    @Override
    public CharSequence subSequence(int start, int end) {
        if (start < 0 || end > length || start > end) {
            throw new IndexOutOfBoundsException("[" + start + ", " + end + ") of " + length);
        }
        return new String(bytes, offset + start, end - start, StandardCharsets.ISO_8859_1);
    }

    @Override
    public String toString() {
        return new String(bytes, offset, length, StandardCharsets.ISO_8859_1);
    }
}
