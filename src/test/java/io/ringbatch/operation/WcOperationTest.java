package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WcOperationTest {
    @TempDir
    static Path root;
    static List<String> paths;
    static String expected;

    @TempDir
    Path work;

    @BeforeAll
    static void tree() throws IOException {
        List<String> all = new java.util.ArrayList<>(TestTrees.standard(root, 2));
        all.addAll(TestTrees.names(root));
        paths = OperationHarness.sortByBytes(all);
        RefTools.assumeTool("wc");
        expected = reference(root, paths);
    }

    /**
     * {@code wc -lwc} over the files, turned into counts.tsv rows (wc prints one line per file, then total,
     * and quotes a name with a newline, so one line per file it is), each path with its backslashes, tabs
     * and newlines escaped.
     */
    static String reference(Path root, List<String> paths) throws IOException {
        String out = new String(RefTools.run(root, List.of("wc", "-lwc"), paths),
                StandardCharsets.ISO_8859_1);
        List<String> lines = out.lines().toList();
        assertThat(lines).hasSize(paths.size() + (paths.size() > 1 ? 1 : 0));
        Pattern numbers = Pattern.compile("^ *([0-9]+) +([0-9]+) +([0-9]+) (.*)$");
        StringBuilder tsv = new StringBuilder();
        long[] total = new long[3];
        for (int i = 0; i < paths.size(); i++) {
            Matcher m = numbers.matcher(lines.get(i));
            assertThat(m.matches()).as(lines.get(i)).isTrue();
            tsv.append(paths.get(i).replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n"));
            for (int k = 0; k < 3; k++) {
                tsv.append('\t').append(m.group(k + 1));
                total[k] += Long.parseLong(m.group(k + 1));
            }
            tsv.append('\n');
        }
        tsv.append("total\t").append(total[0]).append('\t').append(total[1]).append('\t').append(total[2]).append('\n');
        return tsv.toString();
    }

    @Test
    void sameCountsAsWc() throws IOException {
        OperationHarness harness = new OperationHarness(new WcOperation(), 11);
        Path staging = harness.run(Map.of(), root, paths, work);

        assertThat(OperationHarness.snapshot(staging)).containsOnlyKeys("counts.tsv");
        String tsv = Files.readString(staging.resolve("counts.tsv"), StandardCharsets.ISO_8859_1);
        assertThat(tsv).isEqualTo(expected);
        // names with a tab or a newline keep to one row of four columns
        assertThat(tsv.split("\n")).hasSize(paths.size() + 1).allMatch(row -> row.split("\t", -1).length == 4);
        assertThat(tsv).contains("tab\\there.log\t", "new\\nline.log\t", "back\\\\slash.log\t");
        assertThat(harness.pieces).hasSizeGreaterThan(paths.size() + 4);
    }

    @Test
    void everyPieceRestartedFromItsCheckpointGivesTheSameCounts() throws IOException {
        OperationHarness harness = new OperationHarness(new WcOperation(), 12);
        harness.restartChance = 1.0;
        harness.smallSplitChance = 1.0;
        Path staging = harness.run(Map.of(), root, paths, work);

        assertThat(harness.restarts).isGreaterThan(10);
        assertThat(Files.readString(staging.resolve("counts.tsv"), StandardCharsets.ISO_8859_1)).isEqualTo(expected);
    }

    @Test
    void wordsAroundBytesThatAreNeitherPrintableNorSpace(@TempDir Path small) throws IOException {
        // coreutils 9.1 in the C locale: such bytes neither start nor end a word
        byte[][] cases = {
                {'a', 1, 'b'}, {'a', ' ', 1, ' ', 'b'}, {1}, {(byte) 0x80}, {'a', (byte) 0x80, 'b'},
                {' ', (byte) 0x80, ' '}, {'a', 0, 'b'}, {0}, {'a', 0x0b, 'b'}, {'a', '\f', 'b'}, {'a', '\r', 'b'},
                {0x7f}, {'a', (byte) 0xa0, 'b'}, {1, 'a'}, {'a', '\t', 'b'}, {'\n', '\n'}, {'x', '\n', 'y'}};
        List<String> names = new java.util.ArrayList<>();
        for (int i = 0; i < cases.length; i++) {
            TestTrees.write(small, "case-" + (char) ('a' + i), cases[i], names);
        }
        String ref = reference(small, names);
        Path staging = new OperationHarness(new WcOperation(), 3).run(Map.of(), small, names, work);
        assertThat(Files.readString(staging.resolve("counts.tsv"))).isEqualTo(ref);
    }

    @Test
    void filesWithASkippedPieceAreLeftOut() throws IOException {
        OperationHarness harness = new OperationHarness(new WcOperation(), 13);
        harness.skip = p -> p.path().equals(TestTrees.BIG) && p.start() > 0 || p.path().equals("crlf.txt");
        Path staging = harness.run(Map.of(), root, paths, work);
        List<String> complete = paths.stream().filter(p -> !p.equals(TestTrees.BIG) && !p.equals("crlf.txt")).toList();
        assertThat(Files.readString(staging.resolve("counts.tsv"), StandardCharsets.ISO_8859_1))
                .isEqualTo(reference(root, complete));
    }

    @Test
    void noFilesGiveTheTotalRowOnly() throws IOException {
        Path staging = new OperationHarness(new WcOperation(), 3).run(Map.of(), root, List.of(), work);
        assertThat(Files.readString(staging.resolve("counts.tsv"))).isEqualTo("total\t0\t0\t0\n");
    }
}
