package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class GzipOperationTest {
    @TempDir
    static Path root;
    static List<String> paths;

    @TempDir
    Path work;

    @BeforeAll
    static void tree() throws IOException {
        List<String> all = new ArrayList<>(TestTrees.standard(root, 4));
        all.addAll(TestTrees.names(root));
        paths = OperationHarness.sortByBytes(all);
        RefTools.assumeTool("gzip");
        RefTools.assumeTool("zcat");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 6, 9})
    void gzipAcceptsEveryFileAndZcatGivesItBack(int level) throws IOException {
        OperationHarness harness = new OperationHarness(new GzipOperation(), level);
        Path staging = harness.run(Map.of("level", level), root, paths, work);

        // names of 253 bytes and more would pass 255 with .gz: those files are not processed
        List<String> tooLong = List.of(TestTrees.JSONL_FITS, TestTrees.LONGEST_CSV, TestTrees.LONGEST);
        assertThat(harness.refused).containsExactlyInAnyOrderElementsOf(tooLong);
        List<String> done = paths.stream().filter(p -> !tooLong.contains(p)).toList();
        List<String> outputs = done.stream().map(p -> p + ".gz").toList();
        assertThat(outputs).contains(TestTrees.GZ_FITS + ".gz", TestTrees.LATIN1 + ".gz");
        assertThat(OperationHarness.snapshot(staging).keySet()).containsExactlyInAnyOrderElementsOf(outputs);
        assertThat(new GzipOperation().outputNames(Map.of("level", "6"), paths)).isEqualTo(outputs);
        assertThat(new GzipOperation().refusal(Map.of(), TestTrees.LONGEST, paths))
                .contains("not processed", "258 bytes", "255");
        RefTools.run(staging, List.of("gzip", "-t"), outputs);
        for (String path : done) {
            byte[] unzipped = RefTools.run(staging, List.of("zcat"), List.of(path + ".gz"));
            assertThat(unzipped).as(path).isEqualTo(ByteFiles.read(root, path));
        }
        // the split files really were several members
        long bigPieces = harness.pieces.stream().filter(p -> p.path().equals(TestTrees.BIG)).count();
        assertThat(bigPieces).isGreaterThan(3);
        assertThat(members(Files.readAllBytes(staging.resolve(TestTrees.BIG + ".gz")))).isEqualTo(bigPieces);
    }

    @Test
    void levelChangesTheSizeAndMarksTheHeader() throws IOException {
        long[] sizes = new long[2];
        int i = 0;
        for (int level : new int[] {1, 9}) {
            OperationHarness harness = new OperationHarness(new GzipOperation(), 1);
            harness.restartChance = 0;
            Path staging = harness.run(Map.of("level", String.valueOf(level)), root, List.of(TestTrees.BIG),
                    work.resolve("l" + level));
            byte[] gz = Files.readAllBytes(staging.resolve(TestTrees.BIG + ".gz"));
            assertThat(gz[8]).as("XFL").isEqualTo((byte) (level == 1 ? 4 : 2));
            assertThat(gz[9]).as("OS").isEqualTo((byte) 3);
            sizes[i++] = gz.length;
        }
        assertThat(sizes[1]).isLessThan(sizes[0]);
    }

    @Test
    void anEmptyFileIsAValidEmptyMember() throws IOException {
        Path staging = new OperationHarness(new GzipOperation(), 1).run(Map.of(), root, List.of("empty.txt"), work);
        RefTools.run(staging, List.of("gzip", "-t", "empty.txt.gz"));
        assertThat(RefTools.run(staging, List.of("zcat", "empty.txt.gz"))).isEmpty();
        assertThat(Files.size(staging.resolve("empty.txt.gz"))).isEqualTo(20);
    }

    @Test
    void aFileWithAnUnprocessedPieceGetsNoOutput() throws IOException {
        GzipOperation gzip = new GzipOperation();
        Map<String, String> params = gzip.validate(Map.of());
        Path file = root.resolve(TestTrees.BIG);
        long size = Files.size(file);
        List<Operation.Piece> pieces = List.of(new Operation.Piece(0, 0, TestTrees.BIG, null, 0, 100, size),
                new Operation.Piece(1, 0, TestTrees.BIG, null, 100, size, size),
                new Operation.Piece(2, 1, "empty.txt", null, 0, 0, 0));
        List<byte[]> records = new ArrayList<>();
        Path out0 = Files.createDirectories(work.resolve("pieces")).resolve("0");
        Path out2 = work.resolve("pieces").resolve("2");
        for (int p : new int[] {0, 2}) {
            PieceProcessor processor = gzip.open(params, pieces.get(p), null);
            Path out = p == 0 ? out0 : out2;
            processor.finish(new FragmentSink() {
                @Override
                public void record(java.nio.ByteBuffer bytes) {
                    records.add(new byte[] {(byte) p});
                }

                @Override
                public void output(java.nio.ByteBuffer bytes) throws IOException {
                    byte[] b = new byte[bytes.remaining()];
                    bytes.get(b);
                    Files.write(out, b, java.nio.file.StandardOpenOption.CREATE,
                            java.nio.file.StandardOpenOption.APPEND);
                }
            });
        }
        Path staging = Files.createDirectories(work.resolve("staging"));
        gzip.merge(params, new MergeInput() {
            @Override
            public List<Operation.Piece> pieces() {
                return pieces;
            }

            @Override
            public void forEachRecord(RecordVisitor visitor) throws IOException {
                for (byte[] r : records) {
                    visitor.record(pieces.get(r[0]), java.nio.ByteBuffer.wrap(new byte[] {'Z'}));
                }
            }

            @Override
            public Path pieceOutput(int pieceIndex) {
                return work.resolve("pieces").resolve(String.valueOf(pieceIndex));
            }

            @Override
            public Path staging() {
                return staging;
            }
        });
        assertThat(OperationHarness.snapshot(staging)).containsOnlyKeys("empty.txt.gz");
    }

    /** Counts gzip members by walking the headers and deflate streams with the JDK's Inflater. */
    static long members(byte[] gz) throws IOException {
        long n = 0;
        int p = 0;
        while (p < gz.length) {
            assertThat(gz[p] & 0xff).isEqualTo(0x1f);
            assertThat(gz[p + 1] & 0xff).isEqualTo(0x8b);
            assertThat(gz[p + 3]).as("flags").isEqualTo((byte) 0);
            java.util.zip.Inflater inflater = new java.util.zip.Inflater(true);
            inflater.setInput(gz, p + 10, gz.length - p - 10);
            byte[] sink = new byte[1 << 16];
            try {
                while (!inflater.finished()) {
                    if (inflater.inflate(sink) == 0 && inflater.needsInput()) {
                        throw new IOException("truncated member");
                    }
                }
            } catch (java.util.zip.DataFormatException e) {
                throw new IOException(e);
            }
            p = gz.length - inflater.getRemaining() + 8;
            inflater.end();
            n++;
        }
        return n;
    }
}
