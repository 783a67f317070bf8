package io.ringbatch.operation;

import io.ringbatch.operation.RegexNode.Alt;
import io.ringbatch.operation.RegexNode.AnyText;
import io.ringbatch.operation.RegexNode.Chars;
import io.ringbatch.operation.RegexNode.Concat;
import io.ringbatch.operation.RegexNode.Empty;
import io.ringbatch.operation.RegexNode.LineStart;
import io.ringbatch.operation.RegexNode.Repeat;
import java.util.ArrayList;
import java.util.List;

/**
 * Recursive descent over Java regex syntax (the text given to {@code Pattern.compile}, one char per
 * byte), into a {@link RegexNode} tree that accepts a <em>superset</em> of what the regex matches in a
 * line: everything it cannot follow exactly is widened, never narrowed, and {@link Result#widened} says
 * so. {@code ^} holds at a line's start only; lookarounds and the other zero-width assertions
 * ({@code $}, {@code \b}, {@code \A}, {@code \z}, ...) hold anywhere; a backreference matches any text;
 * possessive and lazy quantifiers count as greedy ones; with case folding every char set is closed under
 * ASCII case (exact for single chars, ranges and the class escapes; widened for negated bracket classes
 * and {@code \p{..}}, which Java folds item by item). Syntax it does not know (inline flags, nested or
 * intersected classes, Unicode properties, unknown escapes, a repeat count above 1000) is
 * {@link Unsupported}.
 */
final class RegexParser {
    private final String p;
    private final boolean fold;
    private int i;
    private boolean widened;

    /** The tree, whether it was widened, and whether every top-level alternative starts with {@code ^}. */
    record Result(RegexNode root, boolean widened, boolean anchored) {
    }

    /** Syntax the parser does not model. */
    static final class Unsupported extends Exception {
        Unsupported() {
            super(null, null, false, false);
        }
    }

    private RegexParser(String p, boolean fold) {
        this.p = p;
        this.fold = fold;
    }

    static Result parse(String regex, boolean ignoreCase) throws Unsupported {
        RegexParser parser = new RegexParser(regex, ignoreCase);
        RegexNode root = parser.alternation();
        if (parser.i != regex.length()) {
            throw new Unsupported();
        }
        return new Result(root, parser.widened, anchored(root));
    }

    /** Whether no match can start mid-line: every alternative begins with {@code ^}. */
    private static boolean anchored(RegexNode n) {
        if (n instanceof LineStart) {
            return true;
        }
        if (n instanceof Concat c) {
            return anchored(c.items().get(0));
        }
        if (n instanceof Alt a) {
            return a.items().stream().allMatch(RegexParser::anchored);
        }
        return false;
    }

    private RegexNode alternation() throws Unsupported {
        List<RegexNode> items = new ArrayList<>();
        items.add(sequence());
        while (i < p.length() && p.charAt(i) == '|') {
            i++;
            items.add(sequence());
        }
        return items.size() == 1 ? items.get(0) : new Alt(items);
    }

    private RegexNode sequence() throws Unsupported {
        List<RegexNode> items = new ArrayList<>();
        while (i < p.length() && p.charAt(i) != '|' && p.charAt(i) != ')') {
            int atomStart = i;
            RegexNode atom = atom();
            if (atom == null) {
                continue; // nothing (an empty \Q\E)
            }
            items.add(quantified(atom, atomStart));
        }
        return items.isEmpty() ? new Empty() : items.size() == 1 ? items.get(0) : new Concat(items);
    }

    private static boolean isQuantifier(char c) {
        return c == '*' || c == '+' || c == '?' || c == '{';
    }

    /** The atom that began at {@code atomStart}, with its quantifier if any. */
    private RegexNode quantified(RegexNode atom, int atomStart) throws Unsupported {
        if (i >= p.length() || !isQuantifier(p.charAt(i))) {
            return atom;
        }
        if (p.startsWith("\\Q", atomStart)) {
            throw new Unsupported(); // the quantifier takes the quoted text's last char only
        }
        char c = p.charAt(i);
        int min;
        int max;
        if (c == '*' || c == '+' || c == '?') {
            min = c == '+' ? 1 : 0;
            max = c == '?' ? 1 : -1;
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
        // lazy or possessive: the same strings, or fewer; the tree takes the greedy ones
        if (i < p.length() && (p.charAt(i) == '?' || p.charAt(i) == '+')) {
            widened |= p.charAt(i) == '+';
            i++;
        }
        if (i < p.length() && isQuantifier(p.charAt(i))) {
            throw new Unsupported();
        }
        if (RegexNode.nullable(atom)) {
            // an atom that may match nothing: Java's loops give up on empty iterations (so (^a*){2}b
            // does not match "ab"), fewer matches than the regular language the tree describes
            widened = true;
        }
        return max == 0 ? new Empty() : new Repeat(atom, min, max);
    }

    /** One atom, or null for nothing; zero-width assertions come back as {@link Empty} (widened). */
    private RegexNode atom() throws Unsupported {
        char c = p.charAt(i);
        switch (c) {
            case '(' -> {
                return group();
            }
            case '[' -> {
                return new Chars(charClass());
            }
            case '.' -> {
                i++;
                return new Chars(all());
            }
            case '^' -> {
                i++;
                return new LineStart();
            }
            case '$' -> {
                i++;
                widened = true;
                return new Empty();
            }
            case '\\' -> {
                return escape();
            }
            case '*', '+', '?', '{' -> throw new Unsupported();
            default -> {
                i++;
                return new Chars(single(c));
            }
        }
    }

    private RegexNode group() throws Unsupported {
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
        RegexNode inner = alternation();
        if (i >= p.length() || p.charAt(i) != ')') {
            throw new Unsupported();
        }
        i++;
        if (lookaround) {
            widened = true;
            return new Empty();
        }
        return inner;
    }

    private RegexNode escape() throws Unsupported {
        if (i + 1 >= p.length()) {
            throw new Unsupported();
        }
        char d = p.charAt(i + 1);
        if (d == 'Q') {
            int e = p.indexOf("\\E", i + 2);
            int stop = e < 0 ? p.length() : e;
            List<RegexNode> items = new ArrayList<>();
            for (int k = i + 2; k < stop; k++) {
                items.add(new Chars(single(p.charAt(k))));
            }
            i = e < 0 ? p.length() : e + 2;
            return items.isEmpty() ? null : items.size() == 1 ? items.get(0) : new Concat(items);
        }
        switch (d) {
            case 'b', 'B', 'A', 'z', 'Z', 'G' -> {
                i += 2;
                widened = true;
                return new Empty();
            }
            case 'k' -> {
                int close = p.indexOf('>', i);
                if (!p.startsWith("\\k<", i) || close < 0) {
                    throw new Unsupported();
                }
                i = close + 1;
                widened = true;
                return new AnyText();
            }
            default -> {
                if (d >= '1' && d <= '9') {
                    i += 2;
                    while (i < p.length() && Character.isDigit(p.charAt(i))) {
                        i++; // widened: however many digits Java takes, any text
                    }
                    widened = true;
                    return new AnyText();
                }
                int c = escapedChar();
                return new Chars(foldIf(c >= 0 ? one(c) : escapedClass()));
            }
        }
    }

    /**
     * At a backslash: the char the escape stands for, with {@code i} moved past it, or -1 when it stands
     * for a class ({@code i} unchanged).
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

    /**
     * At a backslash: the set of a class escape ({@code \d}, {@code \p{Alpha}}, ...), not folded. The
     * {@code \p} and {@code \P} sets are not all closed under case, and Java folds them its own way:
     * with case folding they widen.
     */
    private long[] escapedClass() throws Unsupported {
        char d = p.charAt(i + 1);
        i += 2;
        if (fold && (d == 'p' || d == 'P')) {
            widened = true;
        }
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
     * A bracket class without nesting or intersection. Its items are taken as written, then negated, and
     * only then folded: a superset of what Java matches, whichever way it folds each item (widened when
     * a negated class is folded).
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
        if (negate && fold) {
            widened = true;
        }
        return foldIf(negate ? not(set) : set);
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

    static long[] one(int c) {
        long[] s = new long[4];
        s[c >>> 6] |= 1L << c;
        return s;
    }

    static long[] all() {
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

    private static long[] or(long[] s, long[] t) {
        for (int k = 0; k < 4; k++) {
            s[k] |= t[k];
        }
        return s;
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
