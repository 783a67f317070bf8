package io.ringbatch.operation;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The prefilter of grep: finds where one of a few literal strings occurs in an array, scanning it eight
 * bytes at a time on the literals' rarest bytes. One literal: two of its bytes, the two
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
    private int o1;
    private int o2;
    private long m1;
    private long m2;
    private long f1;
    private long f2;
    /** Several literals: each one's rarest offset, and the distinct rarest bytes with their fold masks. */
    private final int[] rareOffset;
    private long[] rareWords;
    private long[] rareFolds;
    private int span;
    /** Whether the rare bytes were chosen again from the text itself ({@link #tune}). */
    private boolean tuned;
    /** Full comparisons made since the caller last reset it. */
    long probes;

    private LiteralFilter(byte[][] literals, boolean fold) {
        this.literals = literals;
        this.fold = fold;
        if (literals.length == 1) {
            byte[] lit = literals[0];
            int a = rarest(lit, -1);
            pair(a, lit.length == 1 ? a : rarest(lit, a));
            rareOffset = null;
        } else {
            rareOffset = new int[literals.length];
            for (int k = 0; k < literals.length; k++) {
                rareOffset[k] = rarest(literals[k], -1);
            }
            rareBytes();
        }
    }

    /** One literal: compares the bytes at offsets {@code a} and {@code b} first. */
    private void pair(int a, int b) {
        byte[] lit = literals[0];
        o1 = a;
        o2 = b;
        m1 = ByteScan.broadcast(lit[a]);
        m2 = ByteScan.broadcast(lit[b]);
        f1 = foldMask(lit[a]);
        f2 = foldMask(lit[b]);
        span = Math.max(a, b);
    }

    /** Several literals: the distinct bytes at their {@link #rareOffset}s, compared against every word. */
    private void rareBytes() {
        List<Byte> distinct = new ArrayList<>();
        for (int k = 0; k < literals.length; k++) {
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
    }

    /** Bytes of the first block a filter sees that {@link #tune} looks at. */
    static final int SAMPLE = 64 * 1024;
    /** Offsets of a literal (its rarest in the sample) whose pairs {@link #tune} tries. */
    private static final int PAIR_CANDIDATES = 6;

    /**
     * Chooses the rare bytes again from the text: the table of {@link #COMMON} is a guess for any text,
     * and a guess that is wrong for this text makes the scan stop at every line (in the log benchmark,
     * {@code -i DEADLOCK} compared {@code c} and {@code k}, which {@code rollback} has side by side).
     * Looks once, at most {@value #SAMPLE} bytes of {@code [from, to)}: each literal's bytes by how often they
     * occur there; for one literal, the pair of its rarer bytes that occurs together, at their distance, the
     * fewest times. Only the speed depends on the choice, never the hits found.
     */
    void tune(ByteBuffer b, int from, int to) {
        if (tuned) {
            return;
        }
        tuned = true;
        int n = Math.min(SAMPLE, to - from);
        if (n < 1024) {
            tuned = false; // too little text to judge: try again on the next block
            return;
        }
        byte[] sample = new byte[n];
        b.get(from, sample, 0, n);
        int[] histogram = new int[256];
        for (byte x : sample) {
            histogram[fold(x) & 0xff]++;
        }
        if (rareOffset != null) {
            for (int k = 0; k < literals.length; k++) {
                rareOffset[k] = rarestIn(literals[k], histogram);
            }
            rareBytes();
            return;
        }
        byte[] lit = literals[0];
        if (lit.length < 2) {
            return;
        }
        Integer[] order = new Integer[lit.length];
        for (int k = 0; k < lit.length; k++) {
            order[k] = k;
        }
        java.util.Arrays.sort(order, java.util.Comparator.<Integer>comparingInt(k -> histogram[lit[k] & 0xff])
                .thenComparingInt(k -> -rank(lit[k])));
        int m = Math.min(PAIR_CANDIDATES, lit.length);
        long best = Long.MAX_VALUE;
        int bestA = o1;
        int bestB = o2;
        for (int x = 0; x < m; x++) {
            for (int y = x + 1; y < m; y++) {
                int a = order[x];
                int c = order[y];
                if (lit[a] == lit[c]) {
                    continue;
                }
                long together = 0;
                int lo = Math.min(a, c);
                int d = Math.abs(a - c);
                byte va = lit[lo];
                byte vc = lit[Math.max(a, c)];
                for (int i = 0; i + d < n; i++) {
                    if (fold(sample[i]) == va && fold(sample[i + d]) == vc) {
                        together++;
                    }
                }
                if (together < best) {
                    best = together;
                    bestA = a;
                    bestB = c;
                }
            }
        }
        pair(bestA, bestB);
    }

    /** A byte of the text as the literals hold it: lower case when folding. */
    private byte fold(byte x) {
        return fold && x >= 'A' && x <= 'Z' ? (byte) (x | 0x20) : x;
    }

    /** The offset of the byte of {@code lit} least often in the sample (ties: the rarer by {@link #COMMON}). */
    private static int rarestIn(byte[] lit, int[] histogram) {
        int best = 0;
        for (int k = 1; k < lit.length; k++) {
            int h = histogram[lit[k] & 0xff];
            int hb = histogram[lit[best] & 0xff];
            if (h < hb || h == hb && rank(lit[k]) > rank(lit[best])) {
                best = k;
            }
        }
        return best;
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
     * first), not necessarily the leftmost start. A buffer without an array is copied first (grep hands
     * this only arrays: {@code GrepOperation} copies a direct block once for all its searches).
     */
    int find(ByteBuffer b, int from, int to) {
        if (b.hasArray()) {
            int base = b.arrayOffset();
            int s = find(b.array(), base + from, base + to);
            return s < 0 ? -1 : s - base;
        }
        byte[] a = new byte[to - from];
        b.get(from, a, 0, a.length);
        int s = find(a, 0, a.length);
        return s < 0 ? -1 : s + from;
    }

    /** Where in {@code a[from, to)} one of the literals starts, lying wholly inside, or -1 (see above). */
    int find(byte[] a, int from, int to) {
        return rareOffset == null ? findOne(a, from, to) : findAny(a, from, to);
    }

    private int findOne(byte[] b, int from, int to) {
        byte[] lit = literals[0];
        int last = to - lit.length; // the last start
        int i = from;
        for (; i <= last && i + span + 8 <= to; i += 8) {
            long z = ByteScan.zeroBytes((ByteScan.longAt(b, i + o1) | f1) ^ m1)
                    & ByteScan.zeroBytes((ByteScan.longAt(b, i + o2) | f2) ^ m2);
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

    private int findAny(byte[] b, int from, int to) {
        int i = from;
        for (; i + 8 <= to; i += 8) {
            long v = ByteScan.longAt(b, i);
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
    private int startAt(byte[] b, int from, int to, int p) {
        for (int k = 0; k < literals.length; k++) {
            byte[] lit = literals[k];
            int s = p - rareOffset[k];
            if (s >= from && s + lit.length <= to && matchesAt(b, s, lit)) {
                return s;
            }
        }
        return -1;
    }

    private boolean matchesAt(byte[] b, int s, byte[] lit) {
        probes++;
        for (int j = 0; j < lit.length; j++) {
            byte x = b[s + j];
            byte y = lit[j];
            if (x != y && !(fold && y >= 'a' && y <= 'z' && (x | 0x20) == y)) {
                return false;
            }
        }
        return true;
    }
}
