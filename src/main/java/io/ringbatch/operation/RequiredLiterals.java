package io.ringbatch.operation;

import io.ringbatch.operation.RegexNode.Alt;
import io.ringbatch.operation.RegexNode.Chars;
import io.ringbatch.operation.RegexNode.Concat;
import io.ringbatch.operation.RegexNode.Empty;
import io.ringbatch.operation.RegexNode.LineStart;
import io.ringbatch.operation.RegexNode.Repeat;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

/**
 * The literal strings one of which every matching line contains, derived from the parsed regex (the same
 * {@link RegexNode} tree the automaton is built from), in the manner of GNU grep's {@code dfamust} and
 * ripgrep's inner literals: for each sub-expression the set of strings it matches exactly (when small),
 * and otherwise sets its matches start with, end with and contain; a concatenation crosses the suffixes of
 * one part with the prefixes of the next, an alternation unites its branches' sets. Strings are bytes, one
 * char per byte; with case folding they are lower case and searched without regard to ASCII case.
 * <p>
 * Since the tree accepts a superset of the regex's matches, a line the regex matches contains one of the
 * literals. When the tree is the regex exactly, has no {@code ^} and matches exactly a small set of
 * strings ({@code ERROR|FATAL}, a fixed string), containing one of them is the same as matching:
 * {@link Literals#exact}.
 */
final class RequiredLiterals {
    /** Most strings in a set; larger sets are dropped (a prefilter over many strings is no filter). */
    private static final int MAX_SET = 64;
    /** A char class of at most this many bytes (after folding) is taken as alternatives. */
    private static final int MAX_CLASS = 10;
    private static final int MAX_LENGTH = 256;
    /** Says nothing: every line contains the empty string. */
    private static final Set<String> NONE = Set.of("");

    private RequiredLiterals() {
    }

    /** The chosen strings (none when no set helps), and whether containing one is matching. */
    record Literals(List<String> strings, boolean exact) {
        static final Literals NONE = new Literals(List.of(), false);

        boolean any() {
            return !strings.isEmpty();
        }
    }

    /** For a node: the strings it matches (null: too many), and sets its matches start with, end with, contain. */
    private record Info(Set<String> exact, Set<String> prefix, Set<String> suffix, Set<String> inner) {
        static Info of(Set<String> exact) {
            return new Info(exact, exact, exact, exact);
        }

        static Info unknown() {
            return new Info(null, NONE, NONE, NONE);
        }

        Set<String> best() {
            return RequiredLiterals.best(inner, prefix, suffix);
        }
    }

    static Literals of(RegexParser.Result parsed, boolean fold) {
        Info info = info(parsed.root(), fold);
        Set<String> chosen = info.best();
        if (useless(chosen)) {
            return Literals.NONE;
        }
        boolean exact = info.exact() != null && !parsed.widened() && !hasLineStart(parsed.root());
        return new Literals(minimal(chosen), exact);
    }

    private static Info info(RegexNode n, boolean fold) {
        if (n instanceof Chars c) {
            Set<String> s = new TreeSet<>();
            for (int b = 0; b < 256; b++) {
                // a line holds no newline: a string with one could only be found across two lines
                if (b != '\n' && (c.set()[b >>> 6] & (1L << b)) != 0) {
                    s.add(String.valueOf((char) (fold && b >= 'A' && b <= 'Z' ? b + 32 : b)));
                    if (s.size() > MAX_CLASS) {
                        return Info.unknown();
                    }
                }
            }
            return Info.of(s);
        }
        if (n instanceof Empty || n instanceof LineStart) {
            return Info.of(NONE);
        }
        if (n instanceof Concat c) {
            Info acc = null;
            for (RegexNode item : c.items()) {
                Info next = info(item, fold);
                acc = acc == null ? next : concat(acc, next);
            }
            return acc;
        }
        if (n instanceof Alt a) {
            List<Info> items = new ArrayList<>();
            for (RegexNode item : a.items()) {
                items.add(info(item, fold));
            }
            return alt(items);
        }
        if (n instanceof Repeat r) {
            return repeat(info(r.node(), fold), r.min(), r.max());
        }
        return Info.unknown(); // AnyText
    }

    private static Info concat(Info a, Info b) {
        Set<String> exact = a.exact() != null && b.exact() != null ? cross(a.exact(), b.exact()) : null;
        if (exact != null) {
            return Info.of(exact);
        }
        Set<String> prefix = a.exact() != null ? orElse(cross(a.exact(), b.prefix()), a.exact()) : a.prefix();
        Set<String> suffix = b.exact() != null ? orElse(cross(a.suffix(), b.exact()), b.exact()) : b.suffix();
        Set<String> inner = best(a.best(), b.best(), cross(a.suffix(), b.prefix()), prefix, suffix);
        return new Info(null, prefix, suffix, inner);
    }

    private static Info alt(List<Info> items) {
        Set<String> exact = new TreeSet<>();
        Set<String> prefix = new TreeSet<>();
        Set<String> suffix = new TreeSet<>();
        Set<String> inner = new TreeSet<>();
        for (Info i : items) {
            exact = exact == null || i.exact() == null ? null : union(exact, i.exact());
            prefix = union(prefix, i.prefix());
            suffix = union(suffix, i.suffix());
            inner = union(inner, i.best());
        }
        if (exact != null) {
            return Info.of(exact);
        }
        return new Info(null, orElse(prefix, NONE), orElse(suffix, NONE), orElse(inner, NONE));
    }

    private static Info repeat(Info x, int min, int max) {
        if (min == 0) {
            return max == 1 && x.exact() != null ? Info.of(orElse(union(x.exact(), NONE), NONE)) : Info.unknown();
        }
        if (x.exact() == null) {
            return new Info(null, x.prefix(), x.suffix(), x.best());
        }
        Set<String> head = x.exact();
        for (int k = 1; k < min && head != null; k++) {
            head = cross(head, x.exact());
        }
        if (head != null && min == max) {
            return Info.of(head);
        }
        Set<String> known = orElse(head, x.exact());
        return new Info(null, known, known, known);
    }

    /** Every string of {@code a} followed by every one of {@code b}, or null past the bounds. */
    private static Set<String> cross(Set<String> a, Set<String> b) {
        if ((long) a.size() * b.size() > MAX_SET) {
            return null;
        }
        Set<String> r = new TreeSet<>();
        for (String x : a) {
            for (String y : b) {
                if (x.length() + y.length() > MAX_LENGTH) {
                    return null;
                }
                r.add(x + y);
            }
        }
        return r;
    }

    private static Set<String> union(Set<String> a, Set<String> b) {
        if (a == null || b == null || a.size() + b.size() > MAX_SET) {
            return null;
        }
        Set<String> r = new TreeSet<>(a);
        r.addAll(b);
        return r.size() > MAX_SET ? null : r;
    }

    private static Set<String> orElse(Set<String> s, Set<String> otherwise) {
        return s != null ? s : otherwise;
    }

    private static boolean useless(Set<String> s) {
        return s == null || s.isEmpty() || s.contains("");
    }

    /**
     * The most selective set: a few strings first (each costs the prefilter a comparison per word), then
     * the longest shortest string.
     */
    @SafeVarargs
    static Set<String> best(Set<String>... sets) {
        Set<String> best = null;
        int bestScore = Integer.MIN_VALUE;
        for (Set<String> s : sets) {
            if (useless(s)) {
                continue;
            }
            int shortest = s.stream().mapToInt(String::length).min().orElse(0);
            int score = (s.size() <= 8 ? 100 : 0) + Math.min(shortest, 8) * 8 - s.size();
            if (score > bestScore) {
                best = s;
                bestScore = score;
            }
        }
        return best != null ? best : NONE;
    }

    /** Drops each string that contains another of the set: a line containing it contains the other too. */
    private static List<String> minimal(Set<String> s) {
        List<String> r = new ArrayList<>();
        for (String x : s) {
            boolean redundant = false;
            for (String y : s) {
                if (!x.equals(y) && x.contains(y)) {
                    redundant = true;
                    break;
                }
            }
            if (!redundant) {
                r.add(x);
            }
        }
        return r;
    }

    private static boolean hasLineStart(RegexNode n) {
        if (n instanceof LineStart) {
            return true;
        }
        if (n instanceof Concat c) {
            return c.items().stream().anyMatch(RequiredLiterals::hasLineStart);
        }
        if (n instanceof Alt a) {
            return a.items().stream().anyMatch(RequiredLiterals::hasLineStart);
        }
        return n instanceof Repeat r && hasLineStart(r.node());
    }
}
