package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;

/** The automaton in front of the regex engine may let through lines that do not match, never drop one that does. */
class LineDfaTest {
    private static final String[] ATOMS = {"a", "b", "x", "0", "9", ".", "[a-c]", "[^ab]", "[0-9]", "\\d", "\\w", "\\s",
        "\\W", "[[:digit:]]", "[[:alpha:]]", "\\.", " ", "A", "[A-C]", "\\x41", "[\\x41-\\x43]", "\\<", "\\>", "\\b", "$",
        "^", "\\Qa.\\E", "[-a]", "[a-]", "[^[:space:]x]", "é", "\\t", "[\\d_]", "(?=a)", "(?!b)", "(?<=x)", "\\1", "[]a]",
        "(?:ab)", "[^\\x41]", "\\S", "\\D", "[[:upper:]]", "[[:punct:]]"};
    private static final String[] QUANTIFIERS = {"", "", "", "*", "+", "?", "{2}", "{1,3}", "{2,}", "{0}", "*?", "++",
        "{0,2}"};

    @Test
    void neverRulesOutALineTheRegexMatches() {
        Random r = new Random(7);
        byte[] alphabet = "abcx09AB. _-\tqé".getBytes(StandardCharsets.UTF_8);
        int built = 0;
        int exact = 0;
        int exactDfas = 0;
        int literalSets = 0;
        int exactLiteralSets = 0;
        for (int t = 0; t < 6000; t++) {
            String pattern = (r.nextInt(5) == 0 ? "^" : "") + random(r, 0)
                    + (r.nextInt(8) == 0 ? "\n" + random(r, 0) : "");
            boolean ignoreCase = r.nextInt(4) == 0;
            GrepPattern g = GrepPattern.compile(pattern, false, ignoreCase);
            LineDfa dfa = LineDfa.compile(g.regex.pattern(), ignoreCase);
            if (dfa == null) {
                continue;
            }
            built++;
            // only where the automaton is built: Java's engine backtracks for minutes on some of the others
            literalSets += checkLiterals(g, pattern, new Random(t), alphabet) ? 1 : 0;
            exactLiteralSets += g.literals.exact() ? 1 : 0;
            exactDfas += dfa.exact ? 1 : 0;
            Matcher m = g.regex.matcher("");
            boolean allExact = true;
            List<byte[]> lines = new ArrayList<>();
            for (int l = 0; l < 40; l++) {
                byte[] line = new byte[r.nextInt(12)];
                for (int k = 0; k < line.length; k++) {
                    line[k] = alphabet[r.nextInt(alphabet.length)];
                }
                lines.add(line);
                boolean matches = m.reset(new String(line, StandardCharsets.ISO_8859_1)).find();
                boolean may = dfa.mayMatch(line, 0, line.length);
                if (matches || dfa.exact) {
                    assertThat(may).as("pattern %s (ignore case %s), line [%s]", pattern, ignoreCase,
                            new String(line, StandardCharsets.ISO_8859_1)).isEqualTo(matches);
                }
                allExact &= matches == may;
            }
            exact += allExact ? 1 : 0;
            checkScan(dfa, lines, t);
        }
        assertThat(built).isGreaterThan(2000);
        assertThat(exact).isGreaterThan(built / 2);
        assertThat(exactDfas).isGreaterThan(built / 5);
        assertThat(literalSets).isGreaterThan(built / 4);
        assertThat(exactLiteralSets).isGreaterThan(100);
    }

    /**
     * Every line the regex matches contains one of the pattern's required literals (ASCII case folded with
     * ignoreCase); where they are exact, a line matches exactly when it contains one. False when the
     * pattern has no literals.
     */
    private static boolean checkLiterals(GrepPattern g, String pattern, Random r, byte[] alphabet) {
        List<String> literals = g.literals.strings();
        Matcher m = g.regex.matcher("");
        for (int l = 0; l < 40; l++) {
            StringBuilder line = new StringBuilder();
            int n = r.nextInt(12); // longer lines make some random patterns backtrack for minutes
            for (int k = 0; k < n; k++) {
                line.append((char) (alphabet[r.nextInt(alphabet.length)] & 0xff));
            }
            String text = line.toString();
            boolean matches = m.reset(text).find();
            String folded = g.ignoreCase ? asciiLower(text) : text;
            boolean contains = literals.stream().anyMatch(folded::contains);
            if (matches && !literals.isEmpty()) {
                assertThat(contains).as("pattern %s (ignore case %s), literals %s, line [%s]", pattern, g.ignoreCase,
                        literals, text).isTrue();
            }
            if (g.literals.exact()) {
                assertThat(contains).as("exact literals %s of %s (ignore case %s), line [%s]", literals, pattern,
                        g.ignoreCase, text).isEqualTo(matches);
            }
        }
        return !literals.isEmpty();
    }

    static String asciiLower(String s) {
        StringBuilder b = new StringBuilder(s.length());
        for (char c : s.toCharArray()) {
            b.append(c >= 'A' && c <= 'Z' ? (char) (c + 32) : c);
        }
        return b.toString();
    }

    /**
     * candidates over the lines joined by newlines finds exactly the lines mayMatch lets through: over a
     * short text (one stretch) and, every tenth pattern, over the lines repeated past
     * {@link LineDfa#MIN_SPLIT} (four stretches side by side); with and without a last newline.
     */
    private static void checkScan(LineDfa dfa, List<byte[]> lines, int t) {
        int repeat = t % 10 == 0 ? LineDfa.MIN_SPLIT / 100 + 1 : 1;
        StringBuilder text = new StringBuilder();
        List<Integer> expected = new ArrayList<>();
        int n = 0;
        for (int copy = 0; copy < repeat; copy++) {
            for (byte[] line : lines) {
                text.append(new String(line, StandardCharsets.ISO_8859_1)).append('\n');
                if (dfa.mayMatch(line, 0, line.length)) {
                    expected.add(n);
                }
                n++;
            }
        }
        if (t % 2 == 0) {
            text.setLength(text.length() - 1);
        }
        byte[] a = text.toString().getBytes(StandardCharsets.ISO_8859_1);
        if (repeat > 1) {
            assertThat(a.length).isGreaterThanOrEqualTo(LineDfa.MIN_SPLIT);
        }
        LineDfa.Candidates found = new LineDfa.Candidates();
        assertThat(dfa.candidates(a, 0, a.length, found)).isTrue();
        List<Integer> stopped = new ArrayList<>();
        for (int k = 0; k < found.size(); k++) {
            int hit = found.get(k);
            stopped.add(ByteScan.count(a, 0, hit, (byte) '\n'));
            if (k > 0) {
                assertThat(hit).isGreaterThan(found.get(k - 1));
            }
        }
        assertThat(stopped).as("candidate lines").isEqualTo(expected);
    }

    @Test
    void anAutomatonThatGrowsTooBigGivesUpAndSaysSo() {
        // a match's 14th byte from the end decides: 2^14 states, past the bound
        LineDfa dfa = LineDfa.compile("a[ab]{13}c", false);
        assertThat(dfa).isNotNull();
        Random r = new Random(3);
        byte[] a = new byte[1 << 20];
        for (int i = 0; i < a.length; i++) {
            a[i] = i % 200 == 199 ? (byte) '\n' : (byte) (r.nextBoolean() ? 'a' : 'b');
        }
        LineDfa.Candidates found = new LineDfa.Candidates();
        assertThat(dfa.candidates(a, 0, a.length, found)).isFalse();
        assertThat(dfa.gaveUp).isTrue();
        assertThat(dfa.candidates(new byte[] {'a'}, 0, 1, found)).isFalse();
    }

    @Test
    void unknownSyntaxGivesNoAutomaton() {
        assertThat(LineDfa.compile("(?i)abc", false)).isNull();
        assertThat(LineDfa.compile("[a&&[b]]", false)).isNull();
        assertThat(LineDfa.compile("\\p{L}", false)).isNull();
        assertThat(LineDfa.compile("\\Qab\\E{2}", false)).isNull();
        assertThat(LineDfa.compile("a*", false)).as("every line matches").isNull();
        assertThat(LineDfa.compile("[0-9]{3}x[a-c]", false).exact).isTrue();
        assertThat(LineDfa.compile("xq[0-9]+", true).exact).as("single chars and ranges fold as Java folds them")
                .isTrue();
        assertThat(LineDfa.compile("[^a]b", true).exact).as("a negated class folded").isFalse();
        assertThat(LineDfa.compile("x\\p{Lower}", true).exact).as("a property folded").isFalse();
        assertThat(LineDfa.compile("(?<![A-Za-z0-9_])ab", false).exact).as("lookbehind").isFalse();
        assertThat(LineDfa.compile("ab$", false).exact).isFalse();
        assertThat(LineDfa.compile("(a)\\1", false).exact).isFalse();
        assertThat(LineDfa.compile("a*+b", false).exact).isFalse();
    }

    private static String random(Random r, int depth) {
        StringBuilder sb = new StringBuilder();
        int n = 1 + r.nextInt(4);
        for (int k = 0; k < n; k++) {
            String atom = depth < 2 && r.nextInt(5) == 0
                    ? "(" + random(r, depth + 1) + (r.nextBoolean() ? "|" + random(r, depth + 1) : "") + ")"
                    : ATOMS[r.nextInt(ATOMS.length)];
            sb.append(atom).append(QUANTIFIERS[r.nextInt(QUANTIFIERS.length)]);
        }
        if (r.nextInt(6) == 0) {
            sb.append('|').append(random(r, depth + 1));
        }
        return sb.toString();
    }
}
