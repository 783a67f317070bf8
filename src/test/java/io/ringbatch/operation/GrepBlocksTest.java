package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * grep's processor over the blocks a reader hands it (direct buffers cut at line ends, copied once into
 * the thread's array and searched there; the prefilter's rare bytes chosen again from the first block; the
 * lines between hits counted a stretch at a time) against real GNU grep ({@code LC_ALL=C grep -a -n}) on
 * generated log lines with the edges: a hit as the first and the last line of a block, CRLF line ends,
 * empty lines, lines longer than a block (a block of their own), and a last line without a newline.
 */
class GrepBlocksTest {
    @TempDir
    static Path dir;
    static Path file;
    static byte[] bytes;
    /** Where the blocks end: after each line end, about every 64 KiB, and right around the planted hits. */
    static List<Integer> cuts = new ArrayList<>();

    @BeforeAll
    static void input() throws IOException {
        RefTools.assumeTool("grep");
        Random r = new Random(17);
        String[] levels = {"INFO ", "INFO ", "INFO ", "DEBUG", "WARN ", "ERROR", "FATAL"};
        String[] words = {"token", "rollback", "request", "cache", "TIMEOUT", "commit", "query", "deadlock",
                "DeadLock", "OutOfMemoryError", "OutOfMemory", "Error", "lock", "dead"};
        StringBuilder text = new StringBuilder();
        int nextCut = 65536;
        for (int line = 0; line < 30_000; line++) {
            int before = text.length();
            int kind = r.nextInt(400);
            if (kind == 0) {
                text.append("");
            } else if (kind == 1) {
                // longer than a block: a block of its own, a hit near its end
                int n = 70_000 + r.nextInt(30_000);
                for (int k = 0; k < n; k++) {
                    text.append((char) ('0' + r.nextInt(10)));
                }
                text.append(" deadlock OutOfMemoryError 1234567x");
            } else {
                text.append("2026-12-03T10:").append(r.nextInt(60)).append(' ').append(levels[r.nextInt(levels.length)])
                        .append(" user=u").append(r.nextInt(100_000)).append(" latency=").append(r.nextInt(20_000))
                        .append("ms");
                int n = 1 + r.nextInt(10);
                for (int k = 0; k < n; k++) {
                    text.append(' ').append(r.nextInt(50) == 0 ? words[7 + r.nextInt(7)] : words[r.nextInt(7)]);
                }
            }
            text.append(r.nextInt(20) == 0 ? "\r\n" : "\n");
            if (text.length() >= nextCut) {
                // the block ends after this line, or before it; every tenth block begins or ends on a planted hit
                cuts.add(r.nextBoolean() || before == 0 ? text.length() : before);
                if (cuts.size() % 10 == 0) {
                    text.append("deadlock OutOfMemoryError FATAL at a block's start 123456x\n");
                    cuts.add(text.length());
                }
                nextCut = text.length() + 1024 + r.nextInt(90_000);
            }
        }
        text.append("last line ERROR OutOfMemoryError DEADLOCK user=u1234 latency=5678ms 9876543y, no newline");
        bytes = text.toString().getBytes(StandardCharsets.ISO_8859_1);
        file = dir.resolve("log.txt");
        Files.write(file, bytes);
        cuts.add(bytes.length);
        cuts = cuts.stream().distinct().sorted().toList();
    }

    static Stream<Arguments> classes() {
        return Stream.of(
                // pattern, fixed, ignoreCase, invert: the log benchmark's classes and their -F, -i, -v variants
                Arguments.of("OutOfMemoryError", true, false, false),
                Arguments.of("OutOfMemoryError", false, false, true),
                Arguments.of("ERROR|FATAL|deadlock", false, false, false),
                Arguments.of("user=u1[0-9]{3} .*latency=[0-9]{4}ms", false, false, false),
                Arguments.of("DEADLOCK", false, true, false),
                Arguments.of("deadlock", true, true, false),
                Arguments.of("DeadLock", true, true, true),
                Arguments.of("INFO|DEBUG|WARN", false, false, true),
                Arguments.of("[0-9]{6}[^0-9]", false, false, false),
                Arguments.of("ck", true, false, false),
                Arguments.of("lock\ntoken", true, true, false));
    }

    @ParameterizedTest
    @MethodSource("classes")
    void sameLinesAsGnuGrep(String pattern, boolean fixed, boolean ignoreCase, boolean invert) throws IOException {
        List<String> command = new ArrayList<>(List.of("grep", "-a", "-n", fixed ? "-F" : "-E"));
        if (ignoreCase) {
            command.add("-i");
        }
        if (invert) {
            command.add("-v");
        }
        command.addAll(List.of("-e", pattern, file.getFileName().toString()));
        String expected = new String(RefTools.run(dir, command, java.util.Set.of(0, 1)), StandardCharsets.ISO_8859_1);
        // twice: the second processor of the thread reuses the compiled pattern, its tuned prefilter and arrays
        for (int round = 0; round < 2; round++) {
            assertThat(run(pattern, fixed, ignoreCase, invert)).as("round %d", round).isEqualTo(expected);
        }
    }

    /** The processor over direct blocks ending at {@link #cuts}, each starting a few bytes into its buffer. */
    private static String run(String pattern, boolean fixed, boolean ignoreCase, boolean invert) throws IOException {
        GrepOperation grep = new GrepOperation();
        Map<String, String> params = grep.validate(Map.of("pattern", pattern, "fixed", fixed, "ignoreCase", ignoreCase,
                "invert", invert));
        PieceProcessor p = grep.open(params, new Operation.Piece(0, 0, "log.txt", null, 0, bytes.length, bytes.length),
                null);
        List<byte[]> records = new ArrayList<>();
        FragmentSink sink = GrepOperationTest.recordsInto(records);
        int from = 0;
        for (int to : cuts) {
            ByteBuffer b = ByteBuffer.allocateDirect(to - from + 16).position(3);
            b.put(bytes, from, to - from).flip().position(3);
            p.process(b, sink);
            assertThat(b.position()).isEqualTo(b.limit());
            from = to;
        }
        p.finish(sink);
        StringBuilder out = new StringBuilder();
        for (byte[] rec : records) {
            ByteBuffer in = ByteBuffer.wrap(rec);
            if (in.get() != 'M') {
                continue;
            }
            while (in.hasRemaining()) {
                long number = RecordBuffer.readVarLong(in);
                byte[] line = new byte[(int) RecordBuffer.readVarLong(in)];
                in.get(line);
                out.append(number).append(':').append(new String(line, StandardCharsets.ISO_8859_1)).append('\n');
            }
        }
        return out.toString();
    }
}
