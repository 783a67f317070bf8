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
 * <li>The pattern is parsed once ({@link RegexParser}, a fixed pattern as quoted text) into the tree that
 * gives both the byte automaton ({@link Nfa}, {@link LineDfa}) and the literals one of which every
 * matching line contains ({@link RequiredLiterals}): the buffer is searched for those first, and only
 * the lines that hold one are tested further. Where the literals are the whole pattern (a fixed string,
 * {@code ERROR|FATAL}), holding one is matching; where the automaton models the pattern exactly, its
 * answer is final; the regex engine sees only the rest. Syntax the parser does not model leaves every
 * line to the regex engine.</li>
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

    /** The Java regex: the last word on every line the faster tests leave open. */
    final Pattern regex;
    final boolean ignoreCase;
    /** The automaton's NFA, or null when the parser does not model the pattern (or it is too large). */
    final Nfa nfa;
    /** Literals one of which every matching line contains (none when the pattern has no useful ones). */
    final RequiredLiterals.Literals literals;
    /** Whether every line matches (the pattern matches the empty string and nothing was widened). */
    final boolean everyLine;

    private GrepPattern(Pattern regex, boolean ignoreCase, Nfa nfa, RequiredLiterals.Literals literals,
                        boolean everyLine) {
        this.regex = regex;
        this.ignoreCase = ignoreCase;
        this.nfa = nfa;
        this.literals = literals;
        this.everyLine = everyLine;
    }

    /**
     * Compiles the pattern.
     *
     * @throws InvalidParameterException for field {@code pattern}, when a regular expression is invalid
     */
    static GrepPattern compile(String pattern, boolean fixed, boolean ignoreCase) {
        String[] parts = pattern.split("\n", -1);
        int flags = Pattern.UNIX_LINES | (ignoreCase ? Pattern.CASE_INSENSITIVE : 0);
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
        Pattern regex;
        try {
            regex = Pattern.compile(joined, flags);
        } catch (PatternSyntaxException e) {
            throw invalid(e, pattern);
        }
        RegexParser.Result parsed;
        try {
            parsed = RegexParser.parse(joined, ignoreCase);
        } catch (RegexParser.Unsupported e) {
            return new GrepPattern(regex, ignoreCase, null, RequiredLiterals.Literals.NONE, false);
        }
        Nfa nfa;
        try {
            nfa = new Nfa(parsed);
        } catch (RegexParser.Unsupported e) {
            nfa = null; // too many nodes: the literals still help
        }
        return new GrepPattern(regex, ignoreCase, nfa, RequiredLiterals.of(parsed, ignoreCase),
                !parsed.widened() && RegexNode.nullable(parsed.root()));
    }

    private static InvalidParameterException invalid(PatternSyntaxException e, String pattern) {
        String where = e.getIndex() >= 0 ? " near index " + e.getIndex() : "";
        return new InvalidParameterException("pattern",
                "invalid regular expression (Java syntax): " + e.getDescription() + where + " in " + pattern);
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
}
