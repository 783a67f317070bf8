package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The pieces the operations are built from, and the test harness's own line cutting. */
class BuildingBlocksTest {

    @Test
    void byteScanAgreesWithPlainLoops() {
        Random r = new Random(1);
        for (int round = 0; round < 2000; round++) {
            byte[] a = new byte[r.nextInt(100)];
            for (int i = 0; i < a.length; i++) {
                a[i] = (byte) (r.nextInt(4) == 0 ? '\n' : r.nextInt(6) == 0 ? 0x8a : r.nextInt(256));
            }
            int from = a.length == 0 ? 0 : r.nextInt(a.length + 1);
            int to = from + r.nextInt(a.length - from + 1);
            byte b = r.nextBoolean() ? (byte) '\n' : (byte) r.nextInt(256);
            byte c = (byte) r.nextInt(256);
            int first = -1;
            int firstEither = -1;
            int last = -1;
            int count = 0;
            for (int i = from; i < to; i++) {
                if (a[i] == b) {
                    count++;
                    last = i;
                    if (first < 0) {
                        first = i;
                    }
                }
                if ((a[i] == b || a[i] == c) && firstEither < 0) {
                    firstEither = i;
                }
            }
            assertThat(ByteScan.indexOf(a, from, to, b)).isEqualTo(first);
            assertThat(ByteScan.indexOfEither(a, from, to, b, c)).isEqualTo(firstEither);
            assertThat(ByteScan.lastIndexOf(a, from, to, b)).isEqualTo(last);
            assertThat(ByteScan.count(a, from, to, b)).isEqualTo(count);
        }
    }

    @Test
    void windowViewsHeapBuffersAndCopiesOthers() {
        ByteScan.Window w = new ByteScan.Window();
        byte[] backing = "xxhello".getBytes(StandardCharsets.US_ASCII);
        ByteBuffer heap = ByteBuffer.wrap(backing, 2, 5);
        assertThat(w.load(heap).array).isSameAs(backing);
        assertThat(w.offset).isEqualTo(2);
        assertThat(w.length).isEqualTo(5);
        ByteBuffer direct = ByteBuffer.allocateDirect(7).put(backing).position(2);
        w.load(direct);
        assertThat(new String(w.array, w.offset, w.length, StandardCharsets.US_ASCII)).isEqualTo("hello");
        assertThat(direct.position()).isEqualTo(2);
        w.load(heap.asReadOnlyBuffer());
        assertThat(new String(w.array, w.offset, w.length, StandardCharsets.US_ASCII)).isEqualTo("hello");
    }

    @Test
    void grepTranslatesPosixClassesAndWordAnchorsOnly() {
        assertThat(GrepPattern.translate("[[:digit:]]+[^[:space:]x]")).isEqualTo("[\\p{Digit}]+[^\\p{Space}x]");
        assertThat(GrepPattern.translate("\\<w\\>")).isEqualTo(
                "(?<![A-Za-z0-9_])(?=[A-Za-z0-9_])w(?<=[A-Za-z0-9_])(?![A-Za-z0-9_])");
        assertThat(GrepPattern.translate("\\\\<[:alpha:]\\Q\\<\\E[\\b]")).isEqualTo("\\\\<[:alpha:]\\Q\\<\\E[\\b]");
        assertThat(GrepPattern.translate("a[[:bogus:]]")).isEqualTo("a[[:bogus:]]");
        // grep's C locale: é (two bytes in UTF-8) is not a word character, so there is a boundary after "caf"
        Pattern p = GrepPattern.compile("caf\\b", false, false).regex;
        assertThat(p.matcher(GrepPattern.asLatin1("café")).find()).isTrue();
        assertThat(GrepPattern.compile("plain words", false, true).literals.exact()).isTrue();
        assertThat(GrepPattern.compile("a.b", true, false).literals.exact()).isTrue();
        assertThat(GrepPattern.compile("a.b", false, false).regex).isNotNull();
        assertThat(GrepPattern.compile("a\nb", true, false).regex).isNotNull();
    }

    @Test
    void recordNumbersRoundTrip() throws IOException {
        RecordBuffer rb = new RecordBuffer(1);
        long[] values = {0, 1, 127, 128, 300, 1L << 35, Long.MAX_VALUE};
        for (long v : values) {
            rb.putVarLong(v);
        }
        List<ByteBuffer> records = new ArrayList<>();
        rb.emit(new FragmentSink() {
            @Override
            public void record(ByteBuffer bytes) {
                records.add(ByteBuffer.wrap(java.util.Arrays.copyOfRange(bytes.array(), bytes.position(), bytes.limit())));
            }

            @Override
            public void output(ByteBuffer bytes) {
            }
        });
        assertThat(rb.size()).isZero();
        for (long v : values) {
            assertThat(RecordBuffer.readVarLong(records.get(0))).isEqualTo(v);
        }
        assertThat(records.get(0).hasRemaining()).isFalse();
    }

    @Test
    void harnessLinePiecesCoverEveryByteOnce(@TempDir Path dir) throws IOException {
        Random r = new Random(5);
        for (int round = 0; round < 300; round++) {
            byte[] file = new byte[r.nextInt(200)];
            for (int i = 0; i < file.length; i++) {
                file[i] = (byte) (r.nextInt(5) == 0 ? '\n' : 'a');
            }
            long[] cuts = r.longs(r.nextInt(6), 0, file.length + 1L).distinct().sorted().toArray();
            java.io.ByteArrayOutputStream joined = new java.io.ByteArrayOutputStream();
            long start = 0;
            for (int k = 0; k <= cuts.length; k++) {
                long end = k < cuts.length ? cuts[k] : file.length;
                long[] span = OperationHarness.ownedSpan(Operation.Split.LINES, file, start, end);
                if (span[1] > span[0]) {
                    // every owned line starts inside [start, end)
                    assertThat(span[0]).isBetween(start, end - 1);
                    assertThat(span[0] == 0 || file[(int) span[0] - 1] == '\n').isTrue();
                }
                joined.write(file, (int) span[0], (int) (span[1] - span[0]));
                start = end;
            }
            assertThat(joined.toByteArray()).isEqualTo(file);
        }
        Files.writeString(dir.resolve("x"), "unused");
    }

    @Test
    void stagingRefusesPathsThatLeaveIt(@TempDir Path dir) {
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StagingFiles.atPath(dir, i -> dir.resolve("p" + i)).empty("../escape"))
                .isInstanceOf(IOException.class).hasMessageContaining("leaves the output directory");
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> StagingFiles.atPath(dir, i -> dir.resolve("p" + i)).empty("/etc/passwd"))
                .isInstanceOf(IOException.class);
    }
}
