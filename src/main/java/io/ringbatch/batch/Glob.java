package io.ringbatch.batch;

import io.ringbatch.io.FileNames;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.regex.PatternSyntaxException;

/**
 * A glob of {@code input.include} and {@code input.exclude}, compiled to an automaton (Thompson's NFA)
 * and matched by following all its states at once, so a match costs at most (path length × glob length)
 * steps whatever the glob. Java's {@code PathMatcher} turns a glob into a backtracking regex instead:
 * {@code **a} five times and {@code b} against a name of 200 {@code a} took 18.5 s there, and every
 * further {@code **a} multiplies that; here it takes well under a millisecond.
 * <p>
 * The syntax and meaning are those of {@code FileSystems.getDefault().getPathMatcher("glob:...")} on
 * Linux: {@code *} any characters but {@code /}, {@code **} any characters, {@code ?} one character but
 * {@code /}, {@code [abc]}, {@code [a-z]} and {@code [!a-z]} one character of (or not of) a set, never
 * {@code /}, {@code {a,b}} one of the alternatives (not nested), {@code \} takes the next character as it
 * is; the glob must match the whole relative path ({@code a/b/c.log}). The same syntax errors are
 * refused, with the same descriptions. Two differences: {@code **} also crosses line breaks in names,
 * which the regex's {@code .} did not, and an empty set ({@code []}, {@code [!]}) is refused, where Java
 * read its {@code ]} as the start of a set of its regex syntax.
 * <p>
 * Glob and path are byte strings ({@link FileNames}); a glob given as text comes through
 * {@link FileNames#ofText}. Both are read as UTF-8, so that {@code ?} and a set take one character as
 * Java's matcher did, and a byte that is not part of valid UTF-8 is a character of its own that only
 * {@code ?}, {@code *}, {@code **} and negated sets match.
 */
public final class Glob {
    /** Units at or above this are bytes that are not part of valid UTF-8 (the byte is added). */
    private static final int INVALID = 0x110000;

    private static final int LITERAL = 0;
    private static final int ANY = 1;     // any unit but '/'
    private static final int EVERY = 2;   // any unit
    private static final int SET = 3;
    private static final int SPLIT = 4;   // no unit: goes on to all of its outs
    private static final int MATCH = 5;

    private final String glob;
    private int[] type = new int[16];
    private int[] arg = new int[16];      // LITERAL: the unit; SET: index into sets
    private int[] out = new int[16];
    private final List<int[]> splits = new ArrayList<>();
    private final List<int[]> sets = new ArrayList<>(); // ranges as pairs; element 0: 1 if negated
    private int states;
    private int edges; // of all splits: bounds the stack of follow()
    private final int start;

    private Glob(String glob) {
        this.glob = glob;
        int match = add(MATCH, 0, -1);
        this.start = new Parser(units(glob), glob).compile(match);
    }

    /**
     * Compiles a glob (a byte string).
     *
     * @throws PatternSyntaxException as Java's {@code PathMatcher} would, index in characters of the glob
     */
    public static Glob compile(String glob) {
        return new Glob(glob);
    }

    /** Whether the relative path (a byte string, '/'-separated) matches the whole glob. */
    public boolean matches(String path) {
        int[] units = units(path);
        int[] mark = new int[states];
        int[] current = new int[states];
        int[] next = new int[states];
        int[] stack = new int[edges + 1];
        int generation = 1;
        int n = follow(start, current, 0, mark, generation, stack);
        for (int u : units) {
            generation++;
            int m = 0;
            for (int k = 0; k < n; k++) {
                int s = current[k];
                if (accepts(s, u)) {
                    m = follow(out[s], next, m, mark, generation, stack);
                }
            }
            if (m == 0) {
                return false;
            }
            int[] t = current;
            current = next;
            next = t;
            n = m;
        }
        for (int k = 0; k < n; k++) {
            if (type[current[k]] == MATCH) {
                return true;
            }
        }
        return false;
    }

    @Override
    public String toString() {
        return FileNames.display(glob);
    }

    /** Adds to the list the states that take a unit (and MATCH) reachable from s without one. */
    private int follow(int s, int[] list, int n, int[] mark, int generation, int[] stack) {
        int top = 0;
        stack[top++] = s;
        while (top > 0) {
            int t = stack[--top];
            if (mark[t] == generation) {
                continue;
            }
            mark[t] = generation;
            if (type[t] == SPLIT) {
                int[] outs = splits.get(arg[t]);
                for (int i = outs.length - 1; i >= 0; i--) {
                    if (mark[outs[i]] != generation) {
                        stack[top++] = outs[i];
                    }
                }
            } else {
                list[n++] = t;
            }
        }
        return n;
    }

    private boolean accepts(int s, int u) {
        switch (type[s]) {
            case LITERAL:
                return arg[s] == u;
            case ANY:
                return u != '/';
            case EVERY:
                return true;
            case SET:
                if (u == '/') {
                    return false;
                }
                int[] set = sets.get(arg[s]);
                boolean negated = set[0] == 1;
                if (u >= INVALID) {
                    return negated;
                }
                for (int i = 1; i < set.length; i += 2) {
                    if (u >= set[i] && u <= set[i + 1]) {
                        return !negated;
                    }
                }
                return negated;
            default:
                return false;
        }
    }

    private int add(int kind, int argument, int next) {
        if (states == type.length) {
            type = Arrays.copyOf(type, states * 2);
            arg = Arrays.copyOf(arg, states * 2);
            out = Arrays.copyOf(out, states * 2);
        }
        type[states] = kind;
        arg[states] = argument;
        out[states] = next;
        return states++;
    }

    private int split(int... outs) {
        splits.add(outs);
        edges += outs.length;
        return add(SPLIT, splits.size() - 1, -1);
    }

    /** A star: a split that either takes a unit of the kind and comes back, or goes on. */
    private int loop(int kind, int next) {
        int split = split(-1, next);
        int take = add(kind, 0, split);
        splits.get(arg[split])[0] = take;
        return split;
    }

    /**
     * The characters of a byte string read as UTF-8: a code point per valid sequence (no overlong forms,
     * no surrogates), {@code INVALID + byte} for each other byte.
     */
    static int[] units(String bytes) {
        int[] units = new int[bytes.length()];
        int n = 0;
        int i = 0;
        while (i < bytes.length()) {
            int b = bytes.charAt(i) & 0xff;
            int length = b < 0x80 ? 1 : b >= 0xc2 && b <= 0xdf ? 2 : b >= 0xe0 && b <= 0xef ? 3
                    : b >= 0xf0 && b <= 0xf4 ? 4 : 0;
            int cp = length == 1 ? b : length == 2 ? b & 0x1f : length == 3 ? b & 0x0f : b & 0x07;
            boolean valid = length > 0 && i + length <= bytes.length();
            for (int k = 1; valid && k < length; k++) {
                int c = bytes.charAt(i + k) & 0xff;
                int low = 0x80;
                int high = 0xbf;
                if (k == 1) { // the second byte rules out overlong forms, surrogates and > U+10FFFF
                    low = b == 0xe0 ? 0xa0 : b == 0xf0 ? 0x90 : 0x80;
                    high = b == 0xed ? 0x9f : b == 0xf4 ? 0x8f : 0xbf;
                }
                valid = c >= low && c <= high;
                cp = cp << 6 | (c & 0x3f);
            }
            if (valid) {
                units[n++] = cp;
                i += length;
            } else {
                units[n++] = INVALID + b;
                i++;
            }
        }
        return Arrays.copyOf(units, n);
    }

    /** The glob's grammar, as sun.nio.fs.Globs reads it; builds the automaton from the end backwards. */
    private final class Parser {
        private final int[] g;
        private final String text;
        private int i;

        Parser(int[] g, String bytes) {
            this.g = g;
            this.text = FileNames.display(bytes);
        }

        int compile(int match) {
            // elements first (a group: its alternatives' element lists), then states from the last one back
            List<Object> elements = new ArrayList<>();
            List<List<Object>> group = null;
            while (i < g.length) {
                int c = g[i++];
                switch (c) {
                    case '\\' -> {
                        if (i == g.length) {
                            throw error("No character to escape", i - 1);
                        }
                        target(elements, group).add(new int[] {LITERAL, g[i++]});
                    }
                    case '[' -> target(elements, group).add(set());
                    case '{' -> {
                        if (group != null) {
                            throw error("Cannot nest groups", i - 1);
                        }
                        group = new ArrayList<>();
                        group.add(new ArrayList<>());
                    }
                    case '}' -> {
                        if (group != null) {
                            elements.add(group);
                            group = null;
                        } else {
                            elements.add(new int[] {LITERAL, c});
                        }
                    }
                    case ',' -> {
                        if (group != null) {
                            group.add(new ArrayList<>());
                        } else {
                            elements.add(new int[] {LITERAL, c});
                        }
                    }
                    case '*' -> {
                        if (i < g.length && g[i] == '*') {
                            i++;
                            target(elements, group).add(new int[] {EVERY});
                        } else {
                            target(elements, group).add(new int[] {ANY});
                        }
                    }
                    case '?' -> target(elements, group).add(new int[] {ANY, 1});
                    default -> target(elements, group).add(new int[] {LITERAL, c});
                }
            }
            if (group != null) {
                throw error("Missing '}", i - 1);
            }
            return sequence(elements, match);
        }

        private List<Object> target(List<Object> elements, List<List<Object>> group) {
            return group == null ? elements : group.get(group.size() - 1);
        }

        @SuppressWarnings("unchecked")
        private int sequence(List<Object> elements, int next) {
            int s = next;
            for (int k = elements.size() - 1; k >= 0; k--) {
                Object e = elements.get(k);
                if (e instanceof List<?> alternatives) {
                    int[] starts = new int[alternatives.size()];
                    for (int a = 0; a < starts.length; a++) {
                        starts[a] = sequence((List<Object>) alternatives.get(a), s);
                    }
                    s = split(starts);
                } else {
                    int[] el = (int[]) e;
                    s = switch (el[0]) {
                        case LITERAL -> add(LITERAL, el[1], s);
                        case ANY -> el.length > 1 ? add(ANY, 0, s) : loop(ANY, s); // '?' or '*'
                        case EVERY -> loop(EVERY, s);
                        default -> add(SET, el[1], s);
                    };
                }
            }
            return s;
        }

        /** After '[': the set up to ']', as Globs reads it ('/' refused, '\' literal, ranges ordered). */
        private int[] set() {
            List<Integer> ranges = new ArrayList<>();
            boolean negated = false;
            if (i < g.length && g[i] == '^') {
                ranges.add((int) '^');
                ranges.add((int) '^');
                i++;
            } else {
                if (i < g.length && g[i] == '!') {
                    negated = true;
                    i++;
                }
                if (i < g.length && g[i] == '-') {
                    ranges.add((int) '-');
                    ranges.add((int) '-');
                    i++;
                }
            }
            boolean rangeStart = false;
            int last = 0;
            int c = -1;
            while (i < g.length) {
                c = g[i++];
                if (c == ']') {
                    break;
                }
                if (c == '/') {
                    throw error("Explicit 'name separator' in class", i - 1);
                }
                if (c == '-') {
                    if (!rangeStart) {
                        throw error("Invalid range", i - 1);
                    }
                    c = i < g.length ? g[i++] : -1;
                    if (c == -1 || c == ']') {
                        ranges.add((int) '-');
                        ranges.add((int) '-');
                        break;
                    }
                    if (c < last) {
                        throw error("Invalid range", i - 3);
                    }
                    ranges.set(ranges.size() - 1, c); // widen the last single character to the range
                    rangeStart = false;
                } else {
                    ranges.add(c);
                    ranges.add(c);
                    rangeStart = true;
                    last = c;
                }
            }
            if (c != ']') {
                throw error("Missing ']", i - 1);
            }
            if (ranges.isEmpty()) {
                // Java's regex took "[]" and "[!]" as the start of a set holding ']' and mostly failed
                throw error("Empty character class", i - 1);
            }
            int[] set = new int[ranges.size() + 1];
            set[0] = negated ? 1 : 0;
            for (int k = 0; k < ranges.size(); k++) {
                set[k + 1] = ranges.get(k);
            }
            sets.add(set);
            return new int[] {SET, sets.size() - 1};
        }

        private PatternSyntaxException error(String description, int index) {
            return new PatternSyntaxException(description, text, index);
        }
    }
}
