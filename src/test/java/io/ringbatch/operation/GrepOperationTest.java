package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class GrepOperationTest {
    @TempDir
    static Path root;
    static List<String> paths;

    @TempDir
    Path work;

    @BeforeAll
    static void tree() throws IOException {
        List<String> all = new ArrayList<>(TestTrees.standard(root, 3));
        all.addAll(TestTrees.names(root));
        paths = OperationHarness.sortByBytes(all);
        RefTools.assumeTool("grep");
    }

    static Stream<Arguments> patterns() {
        return Stream.of(
                // pattern, fixed, ignoreCase, invert
                Arguments.of("err(or)? [0-9]+", false, false, false),
                Arguments.of("ERROR|needle", false, true, false),
                Arguments.of("^[[:digit:]]{2,}|x$", false, false, false),
                Arguments.of("\\<gamma\\>", false, false, false),
                Arguments.of("caf\\b", false, false, false),
                Arguments.of("e.r", false, false, false),
                Arguments.of("needle", true, false, false),
                Arguments.of("NEEDLE", true, true, false),
                Arguments.of("a.b", true, false, false),
                Arguments.of("beta", false, false, false),
                Arguments.of("Needle", false, true, false),
                Arguments.of("ünï", false, false, false),
                Arguments.of("a", false, false, true),
                Arguments.of("needle", true, true, true),
                Arguments.of("needle\nbeta", false, false, false),
                Arguments.of("x\n42", true, false, false),
                Arguments.of("^$", false, false, false),
                Arguments.of("needle$", false, false, false),
                Arguments.of("^neEdle", false, true, false),
                Arguments.of("gam?ma", false, false, false),
                Arguments.of("Err+or:? [[:digit:]]", false, true, false),
                Arguments.of("a(l|b)pha|be", false, false, false),
                Arguments.of("x(a|\\.)b", false, false, false),
                Arguments.of("[0-9]{2}[a-e ]", false, false, false),
                Arguments.of("(a|b)\\.?[c-e]+ ", false, true, false),
                Arguments.of("[[:digit:]]+x|^z", false, false, true),
                Arguments.of("\\w{3}\\s[0-9]", false, false, false),
                Arguments.of("", true, false, true));
    }

    @ParameterizedTest
    @MethodSource("patterns")
    void sameLinesAsGrep(String pattern, boolean fixed, boolean ignoreCase, boolean invert) throws IOException {
        OperationHarness harness = new OperationHarness(new GrepOperation(), pattern.hashCode());
        harness.cuts.put(TestTrees.LONG_LINE, new long[] {5, 300_000, 600_000, 1_700_000});
        Path staging = harness.run(params(pattern, fixed, ignoreCase, invert), root, paths, work);

        assertThat(OperationHarness.snapshot(staging)).containsOnlyKeys("matches.txt");
        byte[] actual = Files.readAllBytes(staging.resolve("matches.txt"));
        byte[] expected = reference(root, paths, pattern, fixed, ignoreCase, invert);
        assertSameLines(actual, expected);
        assertThat(harness.pieces.stream().filter(p -> p.path().equals(TestTrees.BIG))).hasSizeGreaterThan(3);
    }

    static Map<String, Object> params(String pattern, boolean fixed, boolean ignoreCase, boolean invert) {
        Map<String, Object> params = new HashMap<>();
        params.put("pattern", pattern);
        params.put("fixed", fixed);
        params.put("ignoreCase", ignoreCase);
        params.put("invert", invert);
        return params;
    }

    /** {@code LC_ALL=C grep -a -Hn} with -E or -F, -i, -v over the files, from the input root. */
    static byte[] reference(Path root, List<String> paths, String pattern, boolean fixed, boolean ignoreCase,
                            boolean invert) throws IOException {
        List<String> command = new ArrayList<>(List.of("grep", "-a", "-H", "-n", fixed ? "-F" : "-E"));
        if (ignoreCase) {
            command.add("-i");
        }
        if (invert) {
            command.add("-v");
        }
        command.add("-e");
        command.add(pattern);
        return RefTools.run(root, command, paths, Set.of(0, 1));
    }

    /** Byte equality, reported as the first line that differs (the outputs are megabytes). */
    static void assertSameLines(byte[] actual, byte[] expected) {
        if (java.util.Arrays.equals(actual, expected)) {
            return;
        }
        List<String> a = new String(actual, StandardCharsets.ISO_8859_1).lines().toList();
        List<String> e = new String(expected, StandardCharsets.ISO_8859_1).lines().toList();
        for (int i = 0; i < Math.min(a.size(), e.size()); i++) {
            if (!a.get(i).equals(e.get(i))) {
                assertThat(abbreviate(a.get(i))).as("line " + (i + 1) + " of " + e.size())
                        .isEqualTo(abbreviate(e.get(i)));
            }
        }
        assertThat(a.size()).as("lines").isEqualTo(e.size());
        assertThat(actual).as("bytes (line ends)").isEqualTo(expected);
    }

    private static String abbreviate(String s) {
        return s.length() <= 300 ? s : s.substring(0, 300) + "... (" + s.length() + " chars)";
    }

    @Test
    void restartsFromCheckpointsGiveTheSameOutput() throws IOException {
        Map<String, Object> params = params("needle|ERROR", false, false, false);
        OperationHarness straight = new OperationHarness(new GrepOperation(), 5);
        straight.restartChance = 0;
        byte[] once = Files.readAllBytes(straight.run(params, root, paths, work.resolve("once")).resolve("matches.txt"));

        OperationHarness crashing = new OperationHarness(new GrepOperation(), 6);
        crashing.restartChance = 1.0;
        crashing.smallSplitChance = 1.0;
        byte[] restarted = Files.readAllBytes(
                crashing.run(params, root, paths, work.resolve("restarted")).resolve("matches.txt"));

        assertThat(crashing.restarts).isGreaterThan(10);
        assertThat(restarted).isEqualTo(once);
        assertSameLines(once, reference(root, paths, "needle|ERROR", false, false, false));
    }

    @Test
    void checkpointContinuesTheLineNumbers() throws IOException {
        GrepOperation grep = new GrepOperation();
        Map<String, String> params = grep.validate(Map.of("pattern", "b"));
        Operation.Piece piece = new Operation.Piece(0, 0, "f", null, 0, 12, 12);
        List<byte[]> records = new ArrayList<>();
        FragmentSink sink = recordsInto(records);

        PieceProcessor first = grep.open(params, piece, null);
        first.process(java.nio.ByteBuffer.wrap("a\nb\n".getBytes()), sink);
        java.io.Serializable checkpoint = OperationHarness.roundTrip(first.checkpoint());
        PieceProcessor second = grep.open(params, piece, checkpoint);
        second.process(java.nio.ByteBuffer.wrap("c\nbb\nb".getBytes()), sink);
        second.finish(sink);

        // lines 2, 4 and 5 match; 5 lines in all
        assertThat(records).hasSize(3);
        assertThat(records.get(0)).containsExactly('M', 2, 1, 'b');
        assertThat(records.get(1)).containsExactly('M', 4, 2, 'b', 'b', 5, 1, 'b');
        assertThat(records.get(2)).containsExactly('S', 5);
    }

    @Test
    void filesWithASkippedPieceAreLeftOut() throws IOException {
        OperationHarness harness = new OperationHarness(new GrepOperation(), 8);
        harness.cuts.put(TestTrees.LONG_LINE, new long[] {5, 300_000, 600_000, 1_700_000});
        harness.cuts.put("sizes/mib-1048576.log", new long[] {100_000, 500_000});
        harness.cuts.put("sizes/mib-1048577.log", new long[] {100_000, 500_000});
        // a middle piece, a first piece, a last piece and a whole file
        harness.skip = p -> p.path().equals(TestTrees.BIG) && p.start() > 0 && p.end() < p.fileSize()
                || p.path().equals("sizes/mib-1048576.log") && p.start() == 0
                || p.path().equals("sizes/mib-1048577.log") && p.end() == p.fileSize()
                || p.path().equals("crlf.txt");
        Path staging = harness.run(params("needle|x$", false, false, false), root, paths, work);

        List<String> complete = paths.stream().filter(p -> !p.equals(TestTrees.BIG) && !p.equals("crlf.txt")
                && !p.equals("sizes/mib-1048576.log") && !p.equals("sizes/mib-1048577.log")).toList();
        assertSameLines(Files.readAllBytes(staging.resolve("matches.txt")),
                reference(root, complete, "needle|x$", false, false, false));
    }

    static FragmentSink recordsInto(List<byte[]> records) {
        return new FragmentSink() {
            @Override
            public void record(java.nio.ByteBuffer bytes) {
                byte[] copy = new byte[bytes.remaining()];
                bytes.get(copy);
                records.add(copy);
            }

            @Override
            public void output(java.nio.ByteBuffer bytes) {
                throw new AssertionError("grep writes no output files");
            }
        };
    }
}
