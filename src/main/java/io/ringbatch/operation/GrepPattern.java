package io.ringbatch.operation;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A grep pattern compiled for matching lines of bytes, with the semantics of {@code LC_ALL=C grep}:
 * <ul>
 * <li>A line is matched as bytes: the pattern (a Java string) is taken as its UTF-8 bytes and both it
 * and each line are seen as ISO-8859-1 text, one char per byte. So {@code .} matches one byte,
 * non-UTF-8 bytes in a line are just characters, and {@code \xE9} in a regex matches the byte 0xE9.</li>
 * <li>A newline in the pattern separates several patterns, as with {@code grep -e}: a line matches if
 * any of them does (so a trailing newline adds the empty pattern, which matches every line).</li>
 * <li>Regular expressions use {@link Pattern java.util.regex} syntax (close to {@code grep -E}), with
 * {@link Pattern#UNIX_LINES} ({@code .} matches {@code \r}, {@code $} only at the end of the line) and,
 * so that grep users' patterns keep their meaning, these translations: POSIX bracket classes
 * ({@code [[:alpha:]]}, {@code [[:digit:]]}, ...) become {@code \p{Alpha}}, {@code \p{Digit}}, ...;
 * {@code \<}, {@code \>}, {@code \b} and {@code \B} are word anchors over the C locale's word characters
 * {@code [A-Za-z0-9_]}. Case-insensitive matching folds ASCII letters only, as the C locale does.</li>
 * <li>A pattern without any regex metacharacter, and every {@code fixed} pattern, is searched as a
 * literal byte string (eight bytes at a time), not through the regex engine. A regex that begins with
 * literal text and has no top-level alternation ({@code err(or)? [0-9]+}, {@code ^needle$}) has that
 * text searched for first: only the lines that contain it are given to the regex engine. And a regex
 * is first run as a byte automaton ({@link LineDfa}) that rules out most lines that cannot match: the
 * regex engine sees only the lines it lets through.</li>
 * </ul>
 */
final class GrepPattern {
    private static final String W = "[A-Za-z0-9_]";
    private static final String WORD_START = "(?<!" + W + ")(?=" + W + ")";
    private static final String WORD_END = "(?<=" + W + ")(?!" + W + ")";
    private static final String WORD_BOUNDARY = "(?:" + WORD_START + "|" + WORD_END + ")";
    private static final String NOT_WORD_BOUNDARY = "(?:(?<=" + W + ")(?=" + W + ")|(?<!" + W + ")(?!" + W + "))";
    private static final Map<String, String> POSIX_CLASSES = Map.ofEntries(
            Map.entry("alpha", "\\p{Alpha}"), Map.entry("digit", "\\p{Digit}"), Map.entry("alnum", "\\p{Alnum}"),
            Map.entry("upper", "\\p{Upper}"), Map.entry("lower", "\\p{Lower}"), Map.entry("space", "\\p{Space}"),
            Map.entry("blank", "\\p{Blank}"), Map.entry("punct", "\\p{Punct}"), Map.entry("print", "\\p{Print}"),
            Map.entry("graph", "\\p{Graph}"), Map.entry("cntrl", "\\p{Cntrl}"), Map.entry("xdigit", "\\p{XDigit}"));
    private static final String METACHARACTERS = "\\^$.|?*+()[]{}";

    /** Non-null when the whole pattern is one literal byte string. */
    final Literal literal;
    /** Non-null otherwise. */
    final Pattern regex;
    /** With {@link #regex}: text every matching line contains, or null. */
    final Literal required;

    private GrepPattern(Literal literal, Pattern regex, Literal required) {
        this.literal = literal;
        this.regex = regex;
        this.required = required;
    }

    /**
     * Compiles the pattern.
     *
     * @throws InvalidParameterException for field {@code pattern}, when a regular expression is invalid
     */
    static GrepPattern compile(String pattern, boolean fixed, boolean ignoreCase) {
        String[] parts = pattern.split("\n", -1);
        int flags = Pattern.UNIX_LINES | (ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
        if (parts.length == 1 && (fixed || isLiteral(parts[0]))) {
            return new GrepPattern(new Literal(parts[0].getBytes(StandardCharsets.UTF_8), ignoreCase), null, null);
        }
        List<String> alternatives = new ArrayList<>();
        for (String part : parts) {
            String bytes = asLatin1(part);
            if (fixed) {
                alternatives.add(Pattern.quote(bytes));
                continue;
            }
            try {
                Pattern.compile(bytes, flags);
            } catch (PatternSyntaxException e) {
                throw invalid(e, part);
            }
            alternatives.add(translate(bytes));
        }
        String joined = alternatives.size() == 1 ? alternatives.get(0)
                : "(?:" + String.join(")|(?:", alternatives) + ")";
        String prefix = parts.length == 1 && !fixed ? requiredPrefix(asLatin1(parts[0])) : null;
        Literal required = prefix == null ? null
                : new Literal(prefix.getBytes(StandardCharsets.ISO_8859_1), ignoreCase);
        try {
            return new GrepPattern(null, Pattern.compile(joined, flags), required);
        } catch (PatternSyntaxException e) {
            throw invalid(e, pattern);
        }
    }

    private static InvalidParameterException invalid(PatternSyntaxException e, String pattern) {
        String where = e.getIndex() >= 0 ? " near index " + e.getIndex() : "";
        return new InvalidParameterException("pattern",
                "invalid regular expression (Java syntax): " + e.getDescription() + where + " in " + pattern);
    }

    static boolean isLiteral(String pattern) {
        for (int i = 0; i < pattern.length(); i++) {
            if (METACHARACTERS.indexOf(pattern.charAt(i)) >= 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * The literal text a regex starts with (after an optional {@code ^}), which every match contains; null
     * when there is none, or when a top-level {@code |} makes it optional. A quantifier after the text
     * ({@code ?}, {@code *}, {@code {n,m}}) takes its last character off.
     */
    static String requiredPrefix(String p) {
        int i = p.startsWith("^") ? 1 : 0;
        int start = i;
        while (i < p.length() && METACHARACTERS.indexOf(p.charAt(i)) < 0) {
            i++;
        }
        int end = i;
        if (i < p.length() && "?*{".indexOf(p.charAt(i)) >= 0) {
            end--;
        }
        if (end <= start || hasTopLevelAlternation(p)) {
            return null;
        }
        return p.substring(start, end);
    }

    static boolean hasTopLevelAlternation(String p) {
        int groups = 0;
        int classes = 0;
        for (int i = 0; i < p.length(); i++) {
            char c = p.charAt(i);
            if (c == '\\') {
                if (i + 1 < p.length() && p.charAt(i + 1) == 'Q') {
                    int e = p.indexOf("\\E", i + 2);
                    i = e < 0 ? p.length() : e + 1;
                } else {
                    i++;
                }
            } else if (c == '[') {
                classes++;
            } else if (c == ']' && classes > 0) {
                classes--;
            } else if (classes == 0 && c == '(') {
                groups++;
            } else if (classes == 0 && c == ')' && groups > 0) {
                groups--;
            } else if (classes == 0 && groups == 0 && c == '|') {
                return true;
            }
        }
        return false;
    }

    /** The pattern's UTF-8 bytes as one char each, the way lines are seen. */
    static String asLatin1(String pattern) {
        return new String(pattern.getBytes(StandardCharsets.UTF_8), StandardCharsets.ISO_8859_1);
    }

    /** Rewrites POSIX bracket classes and GNU word anchors into Java regex syntax; the rest is kept. */
    static String translate(String p) {
        StringBuilder out = new StringBuilder(p.length() + 16);
        int depth = 0;
        int n = p.length();
        for (int i = 0; i < n; i++) {
            char c = p.charAt(i);
            if (c == '\\' && i + 1 < n) {
                char d = p.charAt(i + 1);
                if (d == 'Q') {
                    int e = p.indexOf("\\E", i + 2);
                    int stop = e < 0 ? n : e + 2;
                    out.append(p, i, stop);
                    i = stop - 1;
                    continue;
                }
                String replacement = depth > 0 ? null : switch (d) {
                    case '<' -> WORD_START;
                    case '>' -> WORD_END;
                    case 'b' -> WORD_BOUNDARY;
                    case 'B' -> NOT_WORD_BOUNDARY;
                    default -> null;
                };
                if (replacement != null) {
                    out.append(replacement);
                } else {
                    out.append(c).append(d);
                }
                i++;
                continue;
            }
            if (c == '[') {
                if (depth > 0 && i + 1 < n && p.charAt(i + 1) == ':') {
                    int close = p.indexOf(":]", i + 2);
                    String cls = close < 0 ? null : POSIX_CLASSES.get(p.substring(i + 2, close));
                    if (cls != null) {
                        out.append(cls);
                        i = close + 1;
                        continue;
                    }
                }
                depth++;
                out.append(c);
                continue;
            }
            if (c == ']' && depth > 0) {
                depth--;
            }
            out.append(c);
        }
        return out.toString();
    }

    /** A byte string searched for in lines, ASCII letters folded when case is ignored. */
    static final class Literal {
        private final byte[] lower;
        private final byte[] upper;
        final int length;

        Literal(byte[] bytes, boolean ignoreCase) {
            length = bytes.length;
            lower = bytes.clone();
            upper = bytes.clone();
            if (ignoreCase) {
                for (int i = 0; i < length; i++) {
                    byte b = bytes[i];
                    if (b >= 'A' && b <= 'Z') {
                        lower[i] = (byte) (b + 32);
                    } else if (b >= 'a' && b <= 'z') {
                        upper[i] = (byte) (b - 32);
                    }
                }
            }
        }

        /** The first index in {@code [from, to)} where the literal starts and lies wholly inside, or -1. */
        int find(byte[] a, int from, int to) {
            if (length == 0) {
                return from;
            }
            int last = to - length;
            int i = from;
            if (length > 1) {
                // eight starts at a time: those where both the first and the last byte fit
                int d = length - 1;
                long f1 = ByteScan.broadcast(lower[0]);
                long f2 = ByteScan.broadcast(upper[0]);
                long l1 = ByteScan.broadcast(lower[d]);
                long l2 = ByteScan.broadcast(upper[d]);
                for (; i <= last - 7; i += 8) {
                    long v = ByteScan.longAt(a, i);
                    long w = ByteScan.longAt(a, i + d);
                    long z = (ByteScan.zeroBytes(v ^ f1) | ByteScan.zeroBytes(v ^ f2))
                            & (ByteScan.zeroBytes(w ^ l1) | ByteScan.zeroBytes(w ^ l2));
                    while (z != 0) {
                        int k = i + (Long.numberOfTrailingZeros(z) >>> 3);
                        if (matchesAt(a, k)) {
                            return k;
                        }
                        z &= z - 1;
                    }
                }
            }
            byte f1 = lower[0];
            byte f2 = upper[0];
            while (i <= last) {
                i = ByteScan.indexOfEither(a, i, last + 1, f1, f2);
                if (i < 0) {
                    return -1;
                }
                if (matchesAt(a, i)) {
                    return i;
                }
                i++;
            }
            return -1;
        }

        private boolean matchesAt(byte[] a, int i) {
            for (int j = 1; j < length; j++) {
                byte b = a[i + j];
                if (b != lower[j] && b != upper[j]) {
                    return false;
                }
            }
            return true;
        }
    }
}
