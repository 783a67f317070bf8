package io.ringbatch;

import java.nio.charset.StandardCharsets;
import java.util.Random;

/** Log-like random text for the tests that need large inputs: short words, lines of 20 to 219 bytes. */
public final class RandomText {
    /** Letters, digits, an 'x' to grep for, and spaces. */
    public static final byte[] ALPHABET = "abcdefghijklmnopqrstuvwxyz0123456789x     "
            .getBytes(StandardCharsets.US_ASCII);

    private RandomText() {
    }

    /** {@code size} bytes of {@link #ALPHABET} cut into lines. */
    public static byte[] lines(Random r, int size) {
        byte[] b = new byte[size];
        int lineLeft = 20 + r.nextInt(200);
        for (int i = 0; i < size; i++) {
            if (--lineLeft == 0) {
                b[i] = '\n';
                lineLeft = 20 + r.nextInt(200);
            } else {
                b[i] = ALPHABET[r.nextInt(ALPHABET.length)];
            }
        }
        return b;
    }
}
