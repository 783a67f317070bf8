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
        for (int t = 0; t < 6000; t++) {
            String pattern = (r.nextInt(5) == 0 ? "^" : "") + random(r, 0)
                    + (r.nextInt(8) == 0 ? "\n" + random(r, 0) : "");
            boolean ignoreCase = r.nextInt(4) == 0;
            GrepPattern g = GrepPattern.compile(pattern, false, ignoreCase);
            if (g.regex == null) {
                continue;
            }
            LineDfa dfa = LineDfa.compile(g.regex.pattern(), ignoreCase);
            if (dfa == null) {
                continue;
            }
            built++;
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
            checkScan(dfa, lines);
        }
        assertThat(built).isGreaterThan(2000);
        assertThat(exact).isGreaterThan(built / 2);
        assertThat(exactDfas).isGreaterThan(built / 5);
    }

    /** scan over the lines joined by newlines stops in exactly the lines mayMatch lets through. */
    private static void checkScan(LineDfa dfa, List<byte[]> lines) {
        StringBuilder text = new StringBuilder();
        List<Integer> expected = new ArrayList<>();
        for (int l = 0; l < lines.size(); l++) {
            text.append(new String(lines.get(l), StandardCharsets.ISO_8859_1)).append('\n');
            if (dfa.mayMatch(lines.get(l), 0, lines.get(l).length)) {
                expected.add(l);
            }
        }
        byte[] a = text.toString().getBytes(StandardCharsets.ISO_8859_1);
        List<Integer> stopped = new ArrayList<>();
        int[] newlines = new int[1];
        int p = 0;
        while (p < a.length) {
            int hit = dfa.scan(a, p, a.length, newlines);
            if (hit < 0) {
                break;
            }
            stopped.add(newlines[0]);
            int nl = ByteScan.indexOf(a, hit, a.length, (byte) '\n');
            newlines[0]++;
            p = nl + 1;
        }
        assertThat(stopped).isEqualTo(expected);
    }

    @Test
    void unknownSyntaxGivesNoAutomaton() {
        assertThat(LineDfa.compile("(?i)abc", false)).isNull();
        assertThat(LineDfa.compile("[a&&[b]]", false)).isNull();
        assertThat(LineDfa.compile("\\p{L}", false)).isNull();
        assertThat(LineDfa.compile("\\Qab\\E{2}", false)).isNull();
        assertThat(LineDfa.compile("a*", false)).as("every line matches").isNull();
        assertThat(LineDfa.compile("[0-9]{3}x[a-c]", false).exact).isTrue();
        assertThat(LineDfa.compile("xq[0-9]+", true).exact).as("case folded").isFalse();
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
