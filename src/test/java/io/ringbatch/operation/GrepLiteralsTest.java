package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import org.junit.jupiter.api.Test;

/**
 * The literals taken from the parsed pattern, the prefilter that searches for them in a buffer in place,
 * and grep's scan over direct buffers against a line-by-line reference.
 */
class GrepLiteralsTest {

    private static RequiredLiterals.Literals literals(String pattern, boolean ignoreCase) {
        return GrepPattern.compile(pattern, false, ignoreCase).literals;
    }

    @Test
    void literalSetsFromTheParsedPattern() {
        assertThat(literals("needle", false)).isEqualTo(new RequiredLiterals.Literals(List.of("needle"), true));
        assertThat(literals("ERROR|FATAL", false).strings()).containsExactly("ERROR", "FATAL");
        assertThat(literals("ERROR|FATAL", false).exact()).isTrue();
        assertThat(literals("Err(or|OR)", true)).isEqualTo(new RequiredLiterals.Literals(List.of("error"), true));
        assertThat(literals("err(or)? [0-9]+", false).strings()).containsExactly("err ", "error ");
        assertThat(literals("err(or)? [0-9]+", false).exact()).isFalse();
        assertThat(literals("user=[0-9]+ (GET|PUT) ", false).strings()).containsExactly("user=");
        assertThat(literals("[0-9]{3}x[a-c]", false).strings()).containsExactly("x");
        assertThat(literals("^needle$", false).strings()).containsExactly("needle");
        assertThat(literals("^needle", false).exact()).as("anchored").isFalse();
        assertThat(literals("\\<needle\\>", false).exact()).as("widened").isFalse();
        assertThat(literals("a*b", false).strings()).containsExactly("b");
        assertThat(literals("gam?ma", false).strings()).containsExactly("gama", "gamma");
        assertThat(literals("abc|x*", false).any()).isFalse();
        assertThat(literals("[a-z]+[0-9a-f]", false).any()).as("no literal").isFalse();
        assertThat(LiteralFilter.of(literals("[a-z]+[0-9]", false).strings(), false)).as("ten rare bytes: no prefilter").isNull();
        assertThat(literals("(?i)abc", false).any()).as("syntax the parser does not model").isFalse();
        assertThat(literals("a\\sb", false).strings()).as("no newline inside a literal").doesNotContain("a\nb");
        assertThat(GrepPattern.compile("x\n42", true, false).literals)
                .isEqualTo(new RequiredLiterals.Literals(List.of("42", "x"), true));
        assertThat(GrepPattern.compile("", true, false).everyLine).isTrue();
        assertThat(GrepPattern.compile("\\b", false, false).everyLine).isFalse();
    }

    @Test
    void bufferScansMatchAPlainLoopAtEveryOffset() {
        Random r = new Random(11);
        byte[] a = new byte[100];
        for (int i = 0; i < a.length; i++) {
            a[i] = (byte) "ab\n".charAt(r.nextInt(3));
        }
        ByteBuffer direct = ByteBuffer.allocateDirect(a.length).put(a).flip();
        for (int from = 0; from < 20; from++) {
            for (int to = from; to <= a.length; to += 1 + to % 7) {
                int first = -1;
                int last = -1;
                int count = 0;
                for (int i = from; i < to; i++) {
                    if (a[i] == '\n') {
                        first = first < 0 ? i : first;
                        last = i;
                        count++;
                    }
                }
                assertThat(BufferScan.indexOf(direct, from, to, (byte) '\n')).isEqualTo(first);
                assertThat(BufferScan.lastIndexOf(direct, from, to, (byte) '\n')).isEqualTo(last);
                assertThat(BufferScan.count(direct, from, to, (byte) '\n', new byte[BufferScan.COUNT_STRETCH]))
                        .isEqualTo(count);
            }
        }
    }

    @Test
    void countsAreExactOverLongRunsOfTheByteAndAcrossCopiedStretches() {
        // every byte a newline: each lane of the per-run sum reaches 255 (an overflow would show here)
        byte[] scratch = new byte[BufferScan.COUNT_STRETCH];
        Random r = new Random(3);
        for (int density : new int[] {1, 2, 50}) {
            byte[] a = new byte[3 * BufferScan.COUNT_STRETCH + 4099];
            for (int i = 0; i < a.length; i++) {
                a[i] = r.nextInt(density) == 0 ? (byte) '\n' : (byte) 'x';
            }
            ByteBuffer direct = ByteBuffer.allocateDirect(a.length + 5).position(5).put(a).flip().position(5);
            ByteBuffer heap = ByteBuffer.wrap(new byte[a.length + 3], 3, a.length).slice();
            heap.put(0, a);
            for (int[] range : new int[][] {{0, a.length}, {1, a.length - 3}, {7, 2041 * 8 + 9},
                    {BufferScan.COUNT_STRETCH - 3, 2 * BufferScan.COUNT_STRETCH + 11}}) {
                int n = 0;
                for (int i = range[0]; i < range[1]; i++) {
                    n += a[i] == '\n' ? 1 : 0;
                }
                assertThat(ByteScan.count(a, range[0], range[1], (byte) '\n')).isEqualTo(n);
                assertThat(BufferScan.count(direct, 5 + range[0], 5 + range[1], (byte) '\n', scratch)).isEqualTo(n);
                assertThat(BufferScan.count(heap, range[0], range[1], (byte) '\n', scratch)).isEqualTo(n);
            }
        }
    }

    @Test
    void prefilterFindsHitsAtEveryOffsetModEightAndNothingPastTheRegion() {
        for (List<String> set : List.of(List.of("q"), List.of("zq"), List.of("needle"), List.of("longer-needle%"),
                List.of("error", "fatal"), List.of("x", "42", "Qz"))) {
            for (boolean fold : new boolean[] {false, true}) {
                List<String> lits = fold ? set.stream().map(LineDfaTest::asciiLower).toList() : set;
                LiteralFilter filter = LiteralFilter.of(lits, fold);
                assertThat(filter).isNotNull();
                for (String lit : lits) {
                    String written = fold ? lit.toUpperCase(java.util.Locale.ROOT) : lit;
                    for (int at = 0; at < 24; at++) {
                        int from = 3 + at % 8;
                        byte[] text = (".".repeat(from + at) + written + ".".repeat(9)).getBytes(StandardCharsets.ISO_8859_1);
                        ByteBuffer b = ByteBuffer.allocateDirect(text.length + 5).position(2).slice();
                        b.put(text).clear();
                        int start = from + at;
                        int end = start + lit.length();
                        assertThat(filter.find(b, from, text.length)).as("%s at %d", written, start).isEqualTo(start);
                        assertThat(filter.find(b, from, end)).as("ending at the region's end").isEqualTo(start);
                        assertThat(filter.find(b, from, end - 1)).as("past the region's end").isEqualTo(-1);
                        assertThat(filter.find(b, start + 1, text.length)).as("before the region's start").isEqualTo(-1);
                        assertThat(filter.find(b, start, start)).isEqualTo(-1);
                    }
                }
            }
        }
        LiteralFilter caseSensitive = LiteralFilter.of(List.of("needle"), false);
        ByteBuffer upper = ByteBuffer.wrap("a NEEDLE and a Needle".getBytes(StandardCharsets.US_ASCII));
        assertThat(caseSensitive.find(upper, 0, upper.limit())).isEqualTo(-1);
        // the 0x20 bit folds '@' into '`' too: the full comparison rules it out
        LiteralFilter folded = LiteralFilter.of(List.of("`b"), true);
        ByteBuffer at = ByteBuffer.wrap("@b @B `B".getBytes(StandardCharsets.US_ASCII));
        assertThat(folded.find(at, 0, at.limit())).isEqualTo(6);
    }

    @Test
    void scanOfDirectBuffersEqualsALineByLineReference() throws IOException {
        Random r = new Random(5);
        StringBuilder text = new StringBuilder();
        for (int line = 0; line < 4000; line++) {
            int n = line % 97 == 0 ? 3000 : r.nextInt(60);
            for (int k = 0; k < n; k++) {
                text.append("abxyz019 ERRORerror\t.é".charAt(r.nextInt(22)));
            }
            text.append('\n');
        }
        text.append("last ERROR x1y without newline");
        byte[] bytes = text.toString().getBytes(StandardCharsets.ISO_8859_1);
        // dense and sparse hits, exact literals, a regex with a literal, case folded, none at all, every line
        for (String pattern : List.of("ERROR", "x[0-9]+y", "[0-9]x[ab]", "a", "ERROR|zz9", "error.*x", "[0-9]y", "^z", "b{3}|é",
                "x|")) {
            for (boolean ignoreCase : new boolean[] {false, true}) {
                for (boolean invert : new boolean[] {false, true}) {
                    assertThat(run(bytes, pattern, ignoreCase, invert))
                            .as("%s -i %s -v %s", pattern, ignoreCase, invert)
                            .isEqualTo(reference(bytes, pattern, ignoreCase, invert));
                }
            }
        }
    }

    /** The operation over blocks of whole lines of about 64 KiB, each in a direct buffer that starts mid-way. */
    private static List<String> run(byte[] bytes, String pattern, boolean ignoreCase, boolean invert) throws IOException {
        GrepOperation grep = new GrepOperation();
        Map<String, String> params = grep.validate(Map.of("pattern", pattern, "ignoreCase", ignoreCase,
                "invert", invert));
        PieceProcessor p = grep.open(params, new Operation.Piece(0, 0, "f", null, 0, bytes.length, bytes.length), null);
        List<byte[]> records = new ArrayList<>();
        FragmentSink sink = GrepOperationTest.recordsInto(records);
        int from = 0;
        while (from < bytes.length) {
            int to = Math.min(bytes.length, from + 65536);
            while (to < bytes.length && bytes[to - 1] != '\n') {
                to++;
            }
            ByteBuffer b = ByteBuffer.allocateDirect(to - from + 16).position(7);
            b.put(bytes, from, to - from).flip().position(7);
            p.process(b, sink);
            from = to;
        }
        p.finish(sink);
        List<String> lines = new ArrayList<>();
        for (byte[] rec : records) {
            ByteBuffer in = ByteBuffer.wrap(rec);
            if (in.get() != 'M') {
                continue;
            }
            while (in.hasRemaining()) {
                long number = RecordBuffer.readVarLong(in);
                byte[] line = new byte[(int) RecordBuffer.readVarLong(in)];
                in.get(line);
                lines.add(number + ":" + new String(line, StandardCharsets.ISO_8859_1));
            }
        }
        return lines;
    }

    private static List<String> reference(byte[] bytes, String pattern, boolean ignoreCase, boolean invert) {
        Matcher m = GrepPattern.compile(pattern, false, ignoreCase).regex.matcher("");
        List<String> lines = new ArrayList<>();
        String[] all = new String(bytes, StandardCharsets.ISO_8859_1).split("\n", -1);
        for (int i = 0; i < all.length; i++) {
            if (i == all.length - 1 && all[i].isEmpty()) {
                break;
            }
            if (m.reset(all[i]).find() != invert) {
                lines.add((i + 1) + ":" + all[i]);
            }
        }
        return lines;
    }
}
