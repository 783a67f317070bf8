package io.ringbatch.operation;

import io.ringbatch.operation.RegexNode.Alt;
import io.ringbatch.operation.RegexNode.AnyText;
import io.ringbatch.operation.RegexNode.Chars;
import io.ringbatch.operation.RegexNode.Concat;
import io.ringbatch.operation.RegexNode.LineStart;
import io.ringbatch.operation.RegexNode.Repeat;
import java.util.Arrays;

/**
 * Thompson NFA over bytes, built from a {@link RegexNode} tree: node kinds, char sets (4 longs each) and
 * up to two successors. Read-only once built, so one NFA serves every thread's {@link LineDfa}.
 */
final class Nfa {
    static final int MAX_NODES = 20_000;

    static final int CHARS = 0;
    static final int SPLIT = 1;
    static final int EPSILON = 2;
    static final int BOL = 3;
    static final int MATCH = 4;

    int[] kind = new int[64];
    long[][] chars = new long[64][];
    int[] out1 = new int[64];
    int[] out2 = new int[64];
    int size;
    int start;
    int match;
    /** Whether the NFA accepts exactly what the regex matches (nothing was widened). */
    final boolean exact;
    /** Whether a match may start anywhere (not only at a line's start). */
    final boolean unanchored;
    int[] startClosure;

    /** A fragment under construction: its entry node and the nodes whose out is still to be patched. */
    private record Frag(int in, int[] holes) {
    }

    /**
     * The NFA of a parsed regex.
     *
     * @throws RegexParser.Unsupported past {@value #MAX_NODES} nodes
     */
    Nfa(RegexParser.Result parsed) throws RegexParser.Unsupported {
        match = add(MATCH, null, -1, -1);
        Frag f = build(parsed.root());
        patch(f, match);
        start = f.in;
        exact = !parsed.widened();
        unanchored = !parsed.anchored();
        startClosure = closure(new int[] {start}, false);
    }

    private int add(int k, long[] set, int o1, int o2) throws RegexParser.Unsupported {
        if (size >= MAX_NODES) {
            throw new RegexParser.Unsupported();
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

    private Frag build(RegexNode n) throws RegexParser.Unsupported {
        if (n instanceof Chars c) {
            int x = add(CHARS, c.set(), -1, -1);
            return new Frag(x, new int[] {x});
        }
        if (n instanceof LineStart) {
            int x = add(BOL, null, -1, -1);
            return new Frag(x, new int[] {x});
        }
        if (n instanceof AnyText) {
            int c = add(CHARS, RegexParser.all(), -1, -1);
            int split = add(SPLIT, null, c, -1);
            out1[c] = split;
            return new Frag(split, new int[] {-(split + 1)});
        }
        if (n instanceof Concat c) {
            Frag seq = null;
            for (RegexNode item : c.items()) {
                seq = append(seq, build(item));
            }
            return seq;
        }
        if (n instanceof Alt a) {
            Frag left = build(a.items().get(0));
            for (int k = 1; k < a.items().size(); k++) {
                Frag right = build(a.items().get(k));
                int split = add(SPLIT, null, left.in, right.in);
                left = new Frag(split, concat(left.holes, right.holes));
            }
            return left;
        }
        if (n instanceof Repeat r) {
            return repeat(r.node(), r.min(), r.max());
        }
        int x = add(EPSILON, null, -1, -1); // Empty
        return new Frag(x, new int[] {x});
    }

    /** {@code node{min,max}} (max -1: unbounded, max > 0): copies of the node. */
    private Frag repeat(RegexNode node, int min, int max) throws RegexParser.Unsupported {
        if (max < 0 && min == 0) {
            Frag body = build(node);
            int split = add(SPLIT, null, body.in, -1);
            patch(body, split);
            return new Frag(split, new int[] {-(split + 1)});
        }
        Frag seq = null;
        Frag last = null;
        for (int k = 0; k < min; k++) {
            last = build(node);
            seq = append(seq, last);
        }
        if (max < 0) {
            // x{n,}: the n copies, then back into the last one or on
            int split = add(SPLIT, null, last.in, -1);
            patch(seq, split);
            return new Frag(seq.in, new int[] {-(split + 1)});
        }
        // x{n,m}: the n copies, then m - n nested optional ones: x x (x (x)?)?
        Frag tail = null;
        for (int k = max - 1; k >= min; k--) {
            Frag c = build(node);
            int[] holes = c.holes;
            if (tail != null) {
                patch(c, tail.in);
                holes = tail.holes;
            }
            int split = add(SPLIT, null, c.in, -1);
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

    /**
     * Points every hole of {@code f} at {@code target}. A hole is a node whose out1 is open, or
     * {@code -(n + 1)} for a SPLIT node whose out2 is open.
     */
    private void patch(Frag f, int target) {
        for (int h : f.holes) {
            if (h >= 0) {
                out1[h] = target;
            } else {
                out2[-(h + 1)] = target;
            }
        }
    }

    private static int[] concat(int[] a, int[] b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
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
