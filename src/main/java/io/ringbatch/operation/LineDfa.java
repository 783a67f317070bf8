package io.ringbatch.operation;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A necessary condition for a line to match a regex, tested a byte at a time with a lazily built DFA: a
 * line the regex engine would match always passes; a line that passes is then given to the regex engine.
 * So only matching lines (and a few that only look like them) pay for {@code java.util.regex}.
 * <p>
 * The DFA is built from the {@link Nfa} of the same Java regex text as the
 * {@link java.util.regex.Pattern} (parsed by {@link RegexParser}, one char per byte) and accepts a
 * <em>superset</em> of what it matches in a line; where nothing was widened it is {@link #exact}.
 * Syntax the parser does not know gives no DFA at all ({@link #compile} returns null), and so does a
 * pattern with more than {@value Nfa#MAX_NODES} NFA nodes; past {@value #MAX_STATES} DFA states it
 * {@link #gaveUp gives up} and the caller tests the remaining lines with the regex engine alone. The
 * table is built as lines need it, so a DFA belongs to one thread; the NFA is shared.
 */
final class LineDfa {
    private static final int MAX_STATES = 2_000;

    /**
     * Transition table: 256 entries per state, each the next state's row (its number times 256); 0 = not
     * built yet, negative = an accepting state. A {@code \n} leads back to {@link #start}: the next line.
     */
    private int[] next;
    private final List<int[]> sets = new ArrayList<>();
    private final Map<Key, Integer> ids = new HashMap<>();
    private final Nfa nfa;
    /** The state at a line's start (not negative: a pattern that matches the empty string has no DFA). */
    final int start;
    /** Set once the automaton grew past its bound: the caller must test lines without it from then on. */
    boolean gaveUp;
    /**
     * Whether the DFA accepts exactly the lines the regex matches (nothing was widened, no case folding):
     * then its answer needs no confirmation by the regex engine.
     */
    final boolean exact;

    LineDfa(Nfa nfa) {
        this.nfa = nfa;
        this.exact = nfa.exact;
        this.next = new int[256 * 64];
        sets.add(null); // state 0 means "not built"
        int[] initial = nfa.closure(new int[] {nfa.start}, true);
        this.start = state(initial);
    }

    /**
     * The DFA for a Java regex (the text given to {@code Pattern.compile}, with {@code UNIX_LINES}), or
     * null when it has syntax the parser does not model, or when every line would pass anyway.
     */
    static LineDfa compile(String regex, boolean ignoreCase) {
        try {
            return of(new Nfa(RegexParser.parse(regex, ignoreCase)));
        } catch (RegexParser.Unsupported e) {
            return null;
        }
    }

    /** A new DFA over {@code nfa}, or null when every line would pass anyway. */
    static LineDfa of(Nfa nfa) {
        LineDfa dfa = new LineDfa(nfa);
        return dfa.start > 0 && !dfa.gaveUp ? dfa : null;
    }

    /**
     * Whether the line {@code a[from, to)} (no {@code \n} inside) may match: false only when the regex
     * certainly does not match it.
     */
    boolean mayMatch(byte[] a, int from, int to) {
        int s = start;
        for (int i = from; i < to; i++) {
            int b = a[i] & 0xff;
            int t = next[s | b];
            if (t == 0) {
                t = step(s, b);
                if (gaveUp) {
                    return true;
                }
            }
            if (t < 0) {
                return true;
            }
            s = t;
        }
        return false;
    }

    /** Lines of a block are scanned this many stretches at a time: the lookups of one stretch do not wait for another's. */
    static final int STREAMS = 4;
    /** Blocks shorter than this are scanned as one stretch. */
    static final int MIN_SPLIT = 16 * 1024;

    /**
     * Finds the lines of {@code a[from, to)} ({@code from} is a line start) that may match, into
     * {@code found}: for each, in order, the index of the byte that made it a candidate (its line starts at
     * or before it and ends at the next {@code \n}, or at {@code to}). Returns false when the automaton
     * {@link #gaveUp gave up} on the way: {@code found} then means nothing and the caller must test the
     * block's lines without it.
     * <p>
     * A table lookup per byte depends on the one before, so one pass waits on memory at every byte. The
     * block is therefore cut at line starts into {@value #STREAMS} stretches that are run side by side,
     * a byte of each per step: the automaton restarts at every line, so the stretches are independent.
     */
    boolean candidates(byte[] a, int from, int to, Candidates found) {
        found.clear();
        if (gaveUp) {
            return false;
        }
        int[] pos = found.pos;
        int[] end = found.end;
        int[] st = found.state;
        boolean split = to - from >= MIN_SPLIT;
        int b = from;
        for (int q = 0; q < STREAMS; q++) {
            pos[q] = b;
            st[q] = start;
            b = q == STREAMS - 1 || !split ? to
                    : Math.max(b, lineEnd(a, from + (int) ((long) (to - from) * (q + 1) / STREAMS), to));
            end[q] = b;
        }
        int p0 = pos[0], p1 = pos[1], p2 = pos[2], p3 = pos[3];
        int s0 = start, s1 = start, s2 = start, s3 = start;
        while (true) {
            int n = Math.min(Math.min(end[0] - p0, end[1] - p1), Math.min(end[2] - p2, end[3] - p3));
            if (n <= 0) {
                break;
            }
            int[] t = next;
            int k = 0;
            for (; k < n; k++) {
                int u0 = t[s0 | (a[p0 + k] & 0xff)];
                int u1 = t[s1 | (a[p1 + k] & 0xff)];
                int u2 = t[s2 | (a[p2 + k] & 0xff)];
                int u3 = t[s3 | (a[p3 + k] & 0xff)];
                if (u0 <= 0 || u1 <= 0 || u2 <= 0 || u3 <= 0) {
                    break;
                }
                s0 = u0;
                s1 = u1;
                s2 = u2;
                s3 = u3;
            }
            if (k == n) {
                p0 += k;
                p1 += k;
                p2 += k;
                p3 += k;
                continue;
            }
            pos[0] = p0 + k;
            pos[1] = p1 + k;
            pos[2] = p2 + k;
            pos[3] = p3 + k;
            st[0] = s0;
            st[1] = s1;
            st[2] = s2;
            st[3] = s3;
            for (int q = 0; q < STREAMS; q++) {
                if (!stepStream(a, q, found)) {
                    return false;
                }
            }
            p0 = pos[0];
            p1 = pos[1];
            p2 = pos[2];
            p3 = pos[3];
            s0 = st[0];
            s1 = st[1];
            s2 = st[2];
            s3 = st[3];
        }
        pos[0] = p0;
        pos[1] = p1;
        pos[2] = p2;
        pos[3] = p3;
        st[0] = s0;
        st[1] = s1;
        st[2] = s2;
        st[3] = s3;
        for (int q = 0; q < STREAMS; q++) {
            while (pos[q] < end[q]) {
                int i = pos[q];
                int e = end[q];
                int s = st[q];
                int[] t = next;
                while (i < e) {
                    int u = t[s | (a[i] & 0xff)];
                    if (u <= 0) {
                        break;
                    }
                    s = u;
                    i++;
                }
                pos[q] = i;
                st[q] = s;
                if (i < e && !stepStream(a, q, found)) {
                    return false;
                }
            }
        }
        found.seal();
        return true;
    }

    /**
     * Moves stretch {@code q} over its next byte (it has one), building the transition if needed; on an
     * accepting state, records the candidate and moves the stretch past its line. False if the automaton
     * gave up.
     */
    private boolean stepStream(byte[] a, int q, Candidates found) {
        int i = found.pos[q];
        int s = found.state[q];
        int b = a[i] & 0xff;
        int t = next[s | b];
        if (t == 0) {
            t = step(s, b);
            if (gaveUp) {
                return false;
            }
        }
        if (t > 0) {
            found.state[q] = t;
            found.pos[q] = i + 1;
        } else {
            found.add(q, i);
            found.state[q] = start;
            found.pos[q] = lineEnd(a, i, found.end[q]);
        }
        return true;
    }

    /** Just after the first {@code \n} at or after {@code i}, or {@code to}. */
    private static int lineEnd(byte[] a, int i, int to) {
        int nl = ByteScan.indexOf(a, i, to, (byte) '\n');
        return nl < 0 ? to : nl + 1;
    }

    /** Builds the transition of state {@code s} on byte {@code b}; a {@code \n} goes back to the start. */
    private int step(int s, int b) {
        if (b == '\n') {
            next[s | b] = start;
            return start;
        }
        int[] set = sets.get(s >>> 8);
        int[] moved = nfa.move(set, b);
        int[] withStart = nfa.unanchored ? union(moved, nfa.startClosure) : moved;
        int id = state(nfa.closure(withStart, false));
        if (gaveUp) {
            return 0;
        }
        next[s | b] = id;
        return id;
    }

    private static int[] union(int[] x, int[] y) {
        int[] u = Arrays.copyOf(x, x.length + y.length);
        System.arraycopy(y, 0, u, x.length, y.length);
        return u;
    }

    /**
     * The state for a closed NFA set, a new one if needed: its number times 256 (where its row of the
     * table starts), or -1 if it accepts.
     */
    private int state(int[] closed) {
        if (nfa.accepts(closed)) {
            return -1;
        }
        Arrays.sort(closed);
        Key key = new Key(closed);
        Integer id = ids.get(key);
        if (id != null) {
            return id << 8;
        }
        int n = sets.size();
        if (n >= MAX_STATES) {
            gaveUp = true;
            return 0;
        }
        sets.add(closed);
        ids.put(key, n);
        if ((n + 1) * 256 > next.length) {
            next = Arrays.copyOf(next, next.length * 2);
        }
        return n << 8;
    }

    /**
     * Where {@link #candidates} found lines that may match, in order, and its working state; one per
     * processor, reused from block to block.
     */
    static final class Candidates {
        final int[] pos = new int[STREAMS];
        final int[] end = new int[STREAMS];
        final int[] state = new int[STREAMS];
        private final int[][] byStream = new int[STREAMS][64];
        private final int[] counts = new int[STREAMS];
        private int[] all = new int[64];
        private int size;

        void clear() {
            Arrays.fill(counts, 0);
            size = 0;
        }

        void add(int q, int i) {
            if (counts[q] == byStream[q].length) {
                byStream[q] = Arrays.copyOf(byStream[q], counts[q] * 2);
            }
            byStream[q][counts[q]++] = i;
        }

        /** Puts the stretches' finds one after the other: they are in order, as the stretches are. */
        void seal() {
            int n = 0;
            for (int c : counts) {
                n += c;
            }
            if (n > all.length) {
                all = new int[Math.max(n, all.length * 2)];
            }
            size = 0;
            for (int q = 0; q < STREAMS; q++) {
                System.arraycopy(byStream[q], 0, all, size, counts[q]);
                size += counts[q];
            }
        }

        int size() {
            return size;
        }

        int get(int k) {
            return all[k];
        }
    }

    private record Key(int[] set) {
        @Override
        public boolean equals(Object o) {
            return o instanceof Key k && Arrays.equals(set, k.set);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(set);
        }
    }
}
