package io.ringbatch.operation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The prefilter of grep: finds where one of a few literal strings occurs in a buffer, scanning it in
 * place eight bytes at a time on the literals' rarest bytes. One literal: two of its bytes, the two
 * rarest, are compared at the eight starts of a word at once (as memchr's "rare bytes" do), and only
 * starts where both fit are compared in full. Several literals: the rarest byte of each, all compared
 * against every word; a hit is checked against the literals that have that byte there. With case
 * folding a letter is compared with its {@code 0x20} bit set on both sides (which lets a few
 * punctuation bytes through as well, ruled out by the full comparison).
 * <p>
 * Not thread-safe: {@link #probes} counts the full comparisons, which tells the caller how dense the
 * hits are.
 */
final class LiteralFilter {
    /**
     * Bytes ranked by how common they are in logs and text, most common first (a hand-made order: spaces,
     * digits of timestamps and numbers, lower-case letters by English frequency, the punctuation of
     * timestamps and paths, then capitals); every byte not listed is rarer than all listed ones.
     */
    private static final String COMMON = " 0123456789etaoinsrhldcu:-./mfpgwyb,=_kvETAOINSRHLDCUMFPGWYBVKxjqzXJQZ"
            + "[]()\"'\t<>{}@#+*;!?&%$|\\^~`\r";
    private static final int MAX_RARE_BYTES = 8;

    private final byte[][] literals;
    private final boolean fold;
    /** One literal: the offsets of its two rarest bytes and their patterns (broadcast) and fold masks. */
    private final int o1;
    private final int o2;
    private final long m1;
    private final long m2;
    private final long f1;
    private final long f2;
    /** Several literals: each one's rarest offset, and the distinct rarest bytes with their fold masks. */
    private final int[] rareOffset;
    private final long[] rareWords;
    private final long[] rareFolds;
    private final int span;
    /** Full comparisons made since the caller last reset it. */
    long probes;

    private LiteralFilter(byte[][] literals, boolean fold) {
        this.literals = literals;
        this.fold = fold;
        if (literals.length == 1) {
            byte[] lit = literals[0];
            int a = rarest(lit, -1);
            int b = lit.length == 1 ? a : rarest(lit, a);
            o1 = a;
            o2 = b;
            m1 = ByteScan.broadcast(lit[a]);
            m2 = ByteScan.broadcast(lit[b]);
            f1 = foldMask(lit[a]);
            f2 = foldMask(lit[b]);
            rareOffset = null;
            rareWords = null;
            rareFolds = null;
            span = Math.max(a, b);
        } else {
            o1 = o2 = 0;
            m1 = m2 = f1 = f2 = 0;
            rareOffset = new int[literals.length];
            List<Byte> distinct = new ArrayList<>();
            for (int k = 0; k < literals.length; k++) {
                rareOffset[k] = rarest(literals[k], -1);
                byte r = literals[k][rareOffset[k]];
                if (!distinct.contains(r)) {
                    distinct.add(r);
                }
            }
            rareWords = new long[distinct.size()];
            rareFolds = new long[distinct.size()];
            for (int k = 0; k < distinct.size(); k++) {
                rareWords[k] = ByteScan.broadcast(distinct.get(k));
                rareFolds[k] = foldMask(distinct.get(k));
            }
            span = 0;
        }
    }

    /**
     * A filter for these strings (one char per byte, lower case when folding), or null when there are
     * none, or so many different rare bytes that the scan would be no faster than the automaton.
     */
    static LiteralFilter of(List<String> strings, boolean fold) {
        if (strings.isEmpty()) {
            return null;
        }
        byte[][] literals = new byte[strings.size()][];
        List<Byte> rare = new ArrayList<>();
        for (int k = 0; k < literals.length; k++) {
            literals[k] = strings.get(k).getBytes(StandardCharsets.ISO_8859_1);
            if (literals[k].length == 0) {
                return null;
            }
            byte r = literals[k][rarest(literals[k], -1)];
            if (!rare.contains(r)) {
                rare.add(r);
            }
        }
        return rare.size() > MAX_RARE_BYTES ? null : new LiteralFilter(literals, fold);
    }

    private static int rank(byte b) {
        int i = COMMON.indexOf((char) (b & 0xff));
        return i < 0 ? COMMON.length() : i;
    }

    /** The offset of the rarest byte of {@code lit} other than {@code except}, of another value if there is one. */
    private static int rarest(byte[] lit, int except) {
        int best = -1;
        int bestScore = -1;
        for (int k = 0; k < lit.length; k++) {
            if (k == except) {
                continue;
            }
            int score = rank(lit[k]) + (except >= 0 && lit[k] != lit[except] ? 1000 : 0);
            if (score > bestScore) {
                best = k;
                bestScore = score;
            }
        }
        return best;
    }

    private long foldMask(byte b) {
        return fold && b >= 'a' && b <= 'z' ? ByteScan.broadcast((byte) 0x20) : 0;
    }

    /**
     * Where in {@code [from, to)} of {@code b} one of the literals starts, lying wholly inside, or -1.
     * With several literals the hit found is one in the first line that holds any (its rarest byte comes
     * first), not necessarily the leftmost start.
     */
    int find(ByteBuffer b, int from, int to) {
        return rareOffset == null ? findOne(b, from, to) : findAny(b, from, to);
    }

    private int findOne(ByteBuffer b, int from, int to) {
        byte[] lit = literals[0];
        int last = to - lit.length; // the last start
        int i = from;
        for (; i <= last && i + span + 8 <= to; i += 8) {
            long z = ByteScan.zeroBytes((BufferScan.longAt(b, i + o1) | f1) ^ m1)
                    & ByteScan.zeroBytes((BufferScan.longAt(b, i + o2) | f2) ^ m2);
            while (z != 0) {
                int s = i + (Long.numberOfTrailingZeros(z) >>> 3);
                if (s <= last && matchesAt(b, s, lit)) {
                    return s;
                }
                z &= z - 1;
            }
        }
        for (; i <= last; i++) {
            if (matchesAt(b, i, lit)) {
                return i;
            }
        }
        return -1;
    }

    private int findAny(ByteBuffer b, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long v = BufferScan.longAt(b, i);
            long z = 0;
            for (int r = 0; r < rareWords.length; r++) {
                z |= ByteScan.zeroBytes((v | rareFolds[r]) ^ rareWords[r]);
            }
            while (z != 0) {
                int s = startAt(b, from, to, i + (Long.numberOfTrailingZeros(z) >>> 3));
                if (s >= 0) {
                    return s;
                }
                z &= z - 1;
            }
        }
        for (; i < to; i++) {
            int s = startAt(b, from, to, i);
            if (s >= 0) {
                return s;
            }
        }
        return -1;
    }

    /** The start of a literal whose rarest byte is at {@code p}, or -1. */
    private int startAt(ByteBuffer b, int from, int to, int p) {
        for (int k = 0; k < literals.length; k++) {
            byte[] lit = literals[k];
            int s = p - rareOffset[k];
            if (s >= from && s + lit.length <= to && matchesAt(b, s, lit)) {
                return s;
            }
        }
        return -1;
    }

    private boolean matchesAt(ByteBuffer b, int s, byte[] lit) {
        probes++;
        for (int j = 0; j < lit.length; j++) {
            byte x = b.get(s + j);
            byte y = lit[j];
            if (x != y && !(fold && y >= 'a' && y <= 'z' && (x | 0x20) == y)) {
                return false;
            }
        }
        return true;
    }
}
