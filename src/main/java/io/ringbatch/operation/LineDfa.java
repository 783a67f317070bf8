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
 * The DFA is built from the same Java regex text as the {@link java.util.regex.Pattern} (translated, one
 * char per byte) and accepts a <em>superset</em> of what it matches in a line: everything it cannot
 * follow exactly is widened, never narrowed. {@code ^} holds at a line's start only; lookarounds and the
 * other zero-width assertions ({@code $}, {@code \b}, {@code \A}, {@code \z}, ...) hold anywhere; a backreference matches
 * any text; possessive and lazy quantifiers count as greedy ones; with case folding every char set is
 * closed under ASCII case. Syntax it does not know (inline flags, nested or intersected classes,
 * Unicode properties, unknown escapes) gives no DFA at all ({@link #compile} returns null), and so does a
 * pattern with more than {@value #MAX_NODES} NFA nodes; past {@value #MAX_STATES} DFA states it
 * {@link #gaveUp gives up} and the caller tests the remaining lines with the regex engine alone.
 */
final class LineDfa {
    private static final int MAX_NODES = 20_000;
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

    private LineDfa(Nfa nfa) {
        this.nfa = nfa;
        this.exact = nfa.exact;
        this.next = new int[256 * 64];
        sets.add(null); // state 0 means "not built"
        int[] initial = nfa.closure(new int[] {nfa.start}, true);
        this.start = state(initial);
    }

    /**
     * The DFA for a Java regex (the text given to {@code Pattern.compile}, with {@code UNIX_LINES}), or
     * null when it has syntax this class does not model, or when every line would pass anyway.
     */
    static LineDfa compile(String regex, boolean ignoreCase) {
        Nfa nfa;
        try {
            nfa = new Parser(regex, ignoreCase).parseAll();
        } catch (Unsupported e) {
            return null;
        }
        if (nfa == null) {
            return null;
        }
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

    /** Syntax the DFA does not model. */
    private static final class Unsupported extends Exception {
        Unsupported() {
            super(null, null, false, false);
        }
    }

    // ---- NFA ----------------------------------------------------------------------------------------

    private static final int CHARS = 0;
    private static final int SPLIT = 1;
    private static final int EPSILON = 2;
    private static final int BOL = 3;
    private static final int MATCH = 4;

    /** Thompson NFA: node kinds, char sets (4 longs each) and up to two successors. */
    private static final class Nfa {
        int[] kind = new int[64];
        long[][] chars = new long[64][];
        int[] out1 = new int[64];
        int[] out2 = new int[64];
        int size;
        int start;
        int match;
        /** Whether nothing was widened and no case folded. */
        boolean exact;
        /** Whether a match may start anywhere (not only at a line's start). */
        boolean unanchored = true;
        int[] startClosure;

        int add(int k, long[] set, int o1, int o2) throws Unsupported {
            if (size >= MAX_NODES) {
                throw new Unsupported();
            }
            if (size == kind.length) {
                int n = size * 2;
                kind = Arrays.copyOf(kind, n);
                chars = Arrays.copyOf(chars, n);
                out1 = Arrays.copyOf(out1, n);
                out2 = Arrays.copyOf(out2, n);
            }
            kind[size] = k;
            chars[size] = set;
            out1[size] = o1;
            out2[size] = o2;
            return size++;
        }

        boolean accepts(int[] set) {
            for (int n : set) {
                if (n == match) {
                    return true;
                }
            }
            return false;
        }

        /** The nodes reachable without consuming a byte; BOL is passed only at a line's start. */
        int[] closure(int[] from, boolean atLineStart) {
            boolean[] seen = new boolean[size];
            int[] stack = new int[size];
            int sp = 0;
            int[] result = new int[size];
            int n = 0;
            for (int f : from) {
                if (!seen[f]) {
                    seen[f] = true;
                    stack[sp++] = f;
                }
            }
            while (sp > 0) {
                int x = stack[--sp];
                switch (kind[x]) {
                    case CHARS, MATCH -> result[n++] = x;
                    case SPLIT -> {
                        sp = push(seen, stack, sp, out1[x]);
                        sp = push(seen, stack, sp, out2[x]);
                    }
                    case EPSILON -> sp = push(seen, stack, sp, out1[x]);
                    case BOL -> {
                        if (atLineStart) {
                            sp = push(seen, stack, sp, out1[x]);
                        }
                    }
                    default -> throw new IllegalStateException();
                }
            }
            return Arrays.copyOf(result, n);
        }

        private static int push(boolean[] seen, int[] stack, int sp, int x) {
            if (!seen[x]) {
                seen[x] = true;
                stack[sp++] = x;
            }
            return sp;
        }

        /** The successors of the CHARS nodes of {@code set} that take byte {@code b} (not yet closed). */
        int[] move(int[] set, int b) {
            int[] r = new int[set.length];
            int n = 0;
            for (int x : set) {
                if (kind[x] == CHARS && (chars[x][b >>> 6] & (1L << b)) != 0) {
                    r[n++] = out1[x];
                }
            }
            return Arrays.copyOf(r, n);
        }
    }

    /** A fragment under construction: its entry node and the nodes whose out1 is still to be patched. */
    private record Frag(int in, int[] holes) {
    }

    // ---- parser -------------------------------------------------------------------------------------

    /**
     * Recursive descent over Java regex syntax, building the NFA directly. Each sub-expression is kept as
     * its source range, so that a repetition {@code {n,m}} can build its copies afresh.
     */
    private static final class Parser {
        private final String p;
        private final boolean fold;
        private final Nfa nfa = new Nfa();
        private int i;
        /** Set where the NFA accepts more than the regex. */
        private boolean widened;

        Parser(String p, boolean fold) {
            this.p = p;
            this.fold = fold;
        }

        Nfa parseAll() throws Unsupported {
            nfa.match = nfa.add(MATCH, null, -1, -1);
            // a leading ^ on the whole pattern (every alternative) anchors it; elsewhere BOL nodes do it
            boolean anchored = allAlternativesAnchored();
            Frag f = alternation();
            if (i != p.length()) {
                throw new Unsupported();
            }
            patch(f, nfa.match);
            nfa.start = f.in;
            nfa.unanchored = !anchored;
            nfa.startClosure = nfa.closure(new int[] {nfa.start}, false);
            nfa.exact = !widened && !fold;
            return nfa;
        }

        /** Whether each top-level alternative starts with {@code ^} (then no match starts mid-line). */
        private boolean allAlternativesAnchored() {
            // conservative: only a literal ^ at the start of each top-level alternative
            List<Integer> starts = new ArrayList<>();
            starts.add(0);
            int depth = 0;
            boolean inClass = false;
            for (int k = 0; k < p.length(); k++) {
                char c = p.charAt(k);
                if (c == '\\') {
                    if (k + 1 < p.length() && p.charAt(k + 1) == 'Q') {
                        int e = p.indexOf("\\E", k + 2);
                        k = e < 0 ? p.length() : e + 1;
                    } else {
                        k++;
                    }
                } else if (inClass) {
                    if (c == ']') {
                        inClass = false;
                    } else if (c == '[') {
                        return false;
                    }
                } else if (c == '[') {
                    inClass = true;
                    if (k + 1 < p.length() && p.charAt(k + 1) == '^') {
                        k++;
                    }
                } else if (c == '(') {
                    depth++;
                } else if (c == ')') {
                    depth--;
                } else if (c == '|' && depth == 0) {
                    starts.add(k + 1);
                }
            }
            for (int s : starts) {
                if (!p.startsWith("^", s) || (s + 1 < p.length() && isQuantifier(p.charAt(s + 1)))) {
                    return false;
                }
            }
            return true;
        }

        private Frag alternation() throws Unsupported {
            Frag left = sequence();
            while (i < p.length() && p.charAt(i) == '|') {
                i++;
                Frag right = sequence();
                int split = nfa.add(SPLIT, null, left.in, right.in);
                left = new Frag(split, concat(left.holes, right.holes));
            }
            return left;
        }

        private Frag sequence() throws Unsupported {
            Frag seq = null;
            while (i < p.length() && p.charAt(i) != '|' && p.charAt(i) != ')') {
                int atomStart = i;
                Frag atom = atom();
                if (atom == null) {
                    continue; // nothing (an empty \Q\E)
                }
                atom = quantified(atom, atomStart, i);
                seq = append(seq, atom);
            }
            return seq != null ? seq : epsilon();
        }

        private static boolean isQuantifier(char c) {
            return c == '*' || c == '+' || c == '?' || c == '{';
        }

        /** The atom {@code p[atomStart, atomEnd)}, already built as {@code atom}, with its quantifier if any. */
        private Frag quantified(Frag atom, int atomStart, int atomEnd) throws Unsupported {
            if (i >= p.length() || !isQuantifier(p.charAt(i))) {
                return atom;
            }
            if (p.startsWith("\\Q", atomStart)) {
                throw new Unsupported(); // the quantifier takes the quoted text's last char only
            }
            char c = p.charAt(i);
            int min;
            int max;
            if (c == '*') {
                min = 0;
                max = -1;
                i++;
            } else if (c == '+') {
                min = 1;
                max = -1;
                i++;
            } else if (c == '?') {
                min = 0;
                max = 1;
                i++;
            } else {
                int close = p.indexOf('}', i);
                if (close < 0) {
                    throw new Unsupported();
                }
                String body = p.substring(i + 1, close);
                try {
                    int comma = body.indexOf(',');
                    if (comma < 0) {
                        min = Integer.parseInt(body);
                        max = min;
                    } else {
                        min = Integer.parseInt(body.substring(0, comma));
                        String m = body.substring(comma + 1);
                        max = m.isEmpty() ? -1 : Integer.parseInt(m);
                    }
                } catch (NumberFormatException e) {
                    throw new Unsupported();
                }
                if (min < 0 || (max >= 0 && max < min) || min > 1000 || max > 1000) {
                    throw new Unsupported();
                }
                i = close + 1;
            }
            // lazy or possessive: the same strings, or fewer; the DFA takes the greedy ones
            if (i < p.length() && (p.charAt(i) == '?' || p.charAt(i) == '+')) {
                widened |= p.charAt(i) == '+';
                i++;
            }
            if (i < p.length() && isQuantifier(p.charAt(i))) {
                throw new Unsupported();
            }
            if (nfa.kind[atom.in] != CHARS) {
                // an atom that may match nothing: Java's loops give up on empty iterations (so (^a*){2}b
                // does not match "ab"), fewer matches than the regular language the DFA follows
                widened = true;
            }
            return repeat(atom, atomStart, atomEnd, min, max);
        }

        /** {@code atom{min,max}} (max -1: unbounded): copies of the atom, built again from its text. */
        private Frag repeat(Frag first, int atomStart, int atomEnd, int min, int max) throws Unsupported {
            if (max == 0) {
                return epsilon();
            }
            int count = max < 0 ? Math.max(min, 1) : max;
            List<Frag> copies = new ArrayList<>();
            copies.add(first);
            int save = i;
            for (int k = 1; k < count; k++) {
                i = atomStart;
                Frag c = atom();
                if (i != atomEnd || c == null) {
                    throw new Unsupported();
                }
                copies.add(c);
            }
            i = save;
            Frag seq = null;
            for (int k = 0; k < min; k++) {
                seq = append(seq, copies.get(k));
            }
            if (max < 0) {
                if (min == 0) {
                    Frag body = copies.get(0);
                    int split = nfa.add(SPLIT, null, body.in, -1);
                    patch(body, split);
                    return new Frag(split, new int[] {-(split + 1)});
                }
                // x{n,}: the n copies, then back into the last one or on
                int split = nfa.add(SPLIT, null, copies.get(min - 1).in, -1);
                patch(seq, split);
                return new Frag(seq.in, new int[] {-(split + 1)});
            }
            // x{n,m}: the n copies, then m - n nested optional ones: x x (x (x)?)?
            Frag tail = null;
            for (int k = max - 1; k >= min; k--) {
                Frag c = copies.get(k);
                int[] holes = c.holes;
                if (tail != null) {
                    patch(c, tail.in);
                    holes = tail.holes;
                }
                int split = nfa.add(SPLIT, null, c.in, -1);
                tail = new Frag(split, concat(holes, new int[] {-(split + 1)}));
            }
            return tail == null ? seq : append(seq, tail);
        }

        private Frag append(Frag a, Frag b) {
            if (a == null) {
                return b;
            }
            patch(a, b.in);
            return new Frag(a.in, b.holes);
        }

        /** One atom, or null for nothing; zero-width assertions come back as epsilon (they are widened). */
        private Frag atom() throws Unsupported {
            char c = p.charAt(i);
            switch (c) {
                case '(' -> {
                    return group();
                }
                case '[' -> {
                    return chars(charClass());
                }
                case '.' -> {
                    i++;
                    return chars(all());
                }
                case '^' -> {
                    i++;
                    int n = nfa.add(BOL, null, -1, -1);
                    return new Frag(n, new int[] {n});
                }
                case '$' -> {
                    i++;
                    widened = true;
                    return epsilon();
                }
                case '\\' -> {
                    return escape();
                }
                case '*', '+', '?', '{' -> throw new Unsupported();
                default -> {
                    i++;
                    return chars(single(c));
                }
            }
        }

        private Frag group() throws Unsupported {
            i++; // (
            boolean lookaround = false;
            if (p.startsWith("?", i)) {
                if (p.startsWith("?:", i)) {
                    i += 2;
                } else if (p.startsWith("?=", i) || p.startsWith("?!", i)) {
                    i += 2;
                    lookaround = true;
                } else if (p.startsWith("?<=", i) || p.startsWith("?<!", i)) {
                    i += 3;
                    lookaround = true;
                } else if (p.startsWith("?>", i)) {
                    i += 2; // atomic group: its matches are among the plain group's
                    widened = true;
                } else if (p.startsWith("?<", i)) {
                    int close = p.indexOf('>', i);
                    if (close < 0) {
                        throw new Unsupported();
                    }
                    for (int k = i + 2; k < close; k++) {
                        if (!Character.isLetterOrDigit(p.charAt(k))) {
                            throw new Unsupported();
                        }
                    }
                    i = close + 1;
                } else {
                    throw new Unsupported(); // inline flags and the rest
                }
            }
            Frag inner = alternation();
            if (i >= p.length() || p.charAt(i) != ')') {
                throw new Unsupported();
            }
            i++;
            if (lookaround) {
                widened = true;
                return epsilon();
            }
            return inner;
        }

        private Frag escape() throws Unsupported {
            if (i + 1 >= p.length()) {
                throw new Unsupported();
            }
            char d = p.charAt(i + 1);
            if (d == 'Q') {
                int e = p.indexOf("\\E", i + 2);
                int stop = e < 0 ? p.length() : e;
                Frag seq = null;
                for (int k = i + 2; k < stop; k++) {
                    seq = append(seq, chars(single(p.charAt(k))));
                }
                i = e < 0 ? p.length() : e + 2;
                return seq;
            }
            switch (d) {
                case 'b', 'B', 'A', 'z', 'Z', 'G' -> {
                    i += 2;
                    widened = true;
                    return epsilon();
                }
                case 'k' -> {
                    int close = p.indexOf('>', i);
                    if (!p.startsWith("\\k<", i) || close < 0) {
                        throw new Unsupported();
                    }
                    i = close + 1;
                    widened = true;
                    return anyText();
                }
                default -> {
                    if (d >= '1' && d <= '9') {
                        i += 2;
                        while (i < p.length() && Character.isDigit(p.charAt(i))) {
                            i++; // widened: however many digits Java takes, any text
                        }
                        widened = true;
                        return anyText();
                    }
                    int c = escapedChar();
                    return chars(foldIf(c >= 0 ? one(c) : escapedClass()));
                }
            }
        }

        /**
         * At a backslash: the char the escape stands for, with {@code i} moved past it, or -1 when it
         * stands for a class ({@code i} unchanged).
         */
        private int escapedChar() throws Unsupported {
            char d = p.charAt(i + 1);
            int c;
            switch (d) {
                case 't' -> c = '\t';
                case 'n' -> c = '\n';
                case 'r' -> c = '\r';
                case 'f' -> c = '\f';
                case 'a' -> c = 7;
                case 'e' -> c = 27;
                case 'x' -> {
                    if (i + 4 > p.length()) {
                        throw new Unsupported();
                    }
                    try {
                        c = Integer.parseInt(p.substring(i + 2, i + 4), 16);
                    } catch (NumberFormatException e) {
                        throw new Unsupported();
                    }
                    i += 4;
                    return c;
                }
                case 'd', 'D', 'w', 'W', 's', 'S', 'p', 'P' -> {
                    return -1;
                }
                default -> {
                    if ((d >= 'a' && d <= 'z') || (d >= 'A' && d <= 'Z') || (d >= '0' && d <= '9') || d > 0xff) {
                        throw new Unsupported();
                    }
                    c = d;
                }
            }
            i += 2;
            return c;
        }

        /** At a backslash: the set of a class escape ({@code \d}, {@code \p{Alpha}}, ...), not folded. */
        private long[] escapedClass() throws Unsupported {
            char d = p.charAt(i + 1);
            i += 2;
            return switch (d) {
                case 'd' -> range(new long[4], '0', '9');
                case 'D' -> not(range(new long[4], '0', '9'));
                case 'w' -> word();
                case 'W' -> not(word());
                case 's' -> space();
                case 'S' -> not(space());
                case 'p' -> posix();
                case 'P' -> not(posix());
                default -> throw new Unsupported();
            };
        }

        /** {@code \p{Name}} for the ASCII POSIX names that Java knows (without UNICODE_CHARACTER_CLASS). */
        private long[] posix() throws Unsupported {
            if (i >= p.length() || p.charAt(i) != '{') {
                throw new Unsupported();
            }
            int close = p.indexOf('}', i);
            if (close < 0) {
                throw new Unsupported();
            }
            String name = p.substring(i + 1, close);
            i = close + 1;
            long[] s = new long[4];
            switch (name) {
                case "Lower" -> range(s, 'a', 'z');
                case "Upper" -> range(s, 'A', 'Z');
                case "ASCII" -> range(s, 0, 0x7f);
                case "Alpha" -> range(range(s, 'a', 'z'), 'A', 'Z');
                case "Digit" -> range(s, '0', '9');
                case "Alnum" -> range(range(range(s, 'a', 'z'), 'A', 'Z'), '0', '9');
                case "Punct" -> punct(s);
                case "Graph" -> punct(range(range(range(s, 'a', 'z'), 'A', 'Z'), '0', '9'));
                case "Print" -> range(punct(range(range(range(s, 'a', 'z'), 'A', 'Z'), '0', '9')), ' ', ' ');
                case "Blank" -> range(range(s, ' ', ' '), '\t', '\t');
                case "Cntrl" -> range(range(s, 0, 0x1f), 0x7f, 0x7f);
                case "XDigit" -> range(range(range(s, '0', '9'), 'a', 'f'), 'A', 'F');
                case "Space" -> or(s, space());
                default -> throw new Unsupported();
            }
            return s;
        }

        /**
         * A bracket class without nesting or intersection. Its items are taken as written, then negated,
         * and only then folded: a superset of what Java matches, whichever way it folds each item.
         */
        private long[] charClass() throws Unsupported {
            i++; // [
            boolean negate = false;
            if (i < p.length() && p.charAt(i) == '^') {
                negate = true;
                i++;
            }
            long[] set = new long[4];
            boolean firstItem = true;
            while (true) {
                if (i >= p.length()) {
                    throw new Unsupported();
                }
                char c = p.charAt(i);
                if (c == ']' && !firstItem) {
                    i++;
                    break;
                }
                if (c == '[' || c == ']' || p.startsWith("&&", i) || p.startsWith("\\Q", i)) {
                    throw new Unsupported();
                }
                firstItem = false;
                int lo;
                if (c == '\\') {
                    if (i + 1 >= p.length()) {
                        throw new Unsupported();
                    }
                    lo = escapedChar();
                    if (lo < 0) {
                        or(set, escapedClass());
                        if (i < p.length() && p.charAt(i) == '-' && i + 1 < p.length() && p.charAt(i + 1) != ']') {
                            throw new Unsupported();
                        }
                        continue;
                    }
                } else {
                    lo = c;
                    i++;
                }
                if (i + 1 < p.length() && p.charAt(i) == '-' && p.charAt(i + 1) != ']') {
                    i++;
                    char h = p.charAt(i);
                    int hi;
                    if (h == '[') {
                        throw new Unsupported();
                    } else if (h == '\\') {
                        if (i + 1 >= p.length()) {
                            throw new Unsupported();
                        }
                        hi = escapedChar();
                        if (hi < 0) {
                            throw new Unsupported();
                        }
                    } else {
                        hi = h;
                        i++;
                    }
                    if (hi < lo) {
                        throw new Unsupported();
                    }
                    if (lo <= 255) {
                        range(set, lo, Math.min(hi, 255));
                    }
                } else if (lo <= 255) {
                    set[lo >>> 6] |= 1L << lo;
                }
            }
            return foldIf(negate ? not(set) : set);
        }

        private Frag chars(long[] set) throws Unsupported {
            int n = nfa.add(CHARS, set, -1, -1);
            return new Frag(n, new int[] {n});
        }

        private Frag epsilon() throws Unsupported {
            int n = nfa.add(EPSILON, null, -1, -1);
            return new Frag(n, new int[] {n});
        }

        /** Any text, empty or not: what a backreference is widened to. */
        private Frag anyText() throws Unsupported {
            int c = nfa.add(CHARS, all(), -1, -1);
            int split = nfa.add(SPLIT, null, c, -1);
            nfa.out1[c] = split;
            return new Frag(split, new int[] {-(split + 1)});
        }

        private long[] single(char c) {
            if (c > 255) {
                return new long[4]; // never a byte of the input
            }
            return foldIf(one(c));
        }

        private long[] foldIf(long[] s) {
            if (!fold) {
                return s;
            }
            for (int c = 'a'; c <= 'z'; c++) {
                int u = c - 32;
                boolean any = (s[c >>> 6] & (1L << c)) != 0 || (s[u >>> 6] & (1L << u)) != 0;
                if (any) {
                    s[c >>> 6] |= 1L << c;
                    s[u >>> 6] |= 1L << u;
                }
            }
            return s;
        }

        /**
         * Points every hole of {@code f} at {@code target}. A hole is a node whose out1 is open, or
         * {@code -(n + 1)} for a SPLIT node whose out2 is open.
         */
        private void patch(Frag f, int target) {
            for (int h : f.holes) {
                if (h >= 0) {
                    nfa.out1[h] = target;
                } else {
                    nfa.out2[-(h + 1)] = target;
                }
            }
        }

        private static int[] concat(int[] a, int[] b) {
            int[] r = Arrays.copyOf(a, a.length + b.length);
            System.arraycopy(b, 0, r, a.length, b.length);
            return r;
        }
    }

    private static long[] one(int c) {
        long[] s = new long[4];
        s[c >>> 6] |= 1L << c;
        return s;
    }

    private static long[] all() {
        return new long[] {-1L, -1L, -1L, -1L};
    }

    private static long[] range(long[] s, int lo, int hi) {
        for (int c = lo; c <= hi; c++) {
            s[c >>> 6] |= 1L << c;
        }
        return s;
    }

    private static long[] not(long[] s) {
        return new long[] {~s[0], ~s[1], ~s[2], ~s[3]};
    }

    private static void or(long[] s, long[] t) {
        for (int k = 0; k < 4; k++) {
            s[k] |= t[k];
        }
    }

    private static long[] word() {
        return range(range(range(range(new long[4], 'a', 'z'), 'A', 'Z'), '0', '9'), '_', '_');
    }

    private static long[] space() {
        long[] s = one(' ');
        range(s, '\t', '\r'); // \t \n \x0B \f \r
        return s;
    }

    private static long[] punct(long[] s) {
        for (char c : "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~".toCharArray()) {
            s[c >>> 6] |= 1L << c;
        }
        return s;
    }
}
