package io.ringbatch.batch;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.ringbatch.io.Dir;
import io.ringbatch.operation.Operation;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The finish step's reading of the partitions' committed records ({@link CommittedWork}), streamed through
 * one buffer on real files: every frame of each partition in order and exactly the committed bytes, across
 * the buffer's boundaries, with bodies larger than the buffer and piece-output frames among them; bytes past
 * the committed length are never read, and a committed length that ends inside a frame fails.
 */
class CommittedWorkTest {

    @Test
    void everyCommittedRecordInOrderAcrossTheBuffersBoundariesAndNothingPastTheCommit(@TempDir Path root)
            throws Exception {
        JobFiles files = new JobFiles(root, "job-cw");
        List<String> want = new ArrayList<>();
        long[] lengths = new long[2];
        String[] names = {JobFiles.recordsName(0, 3), JobFiles.recordsName(1, 4)};
        for (int p = 0; p < 2; p++) {
            Path f = files.dir().resolve(names[p]);
            Files.createDirectories(f.getParent());
            try (OutputStream out = Files.newOutputStream(f)) {
                long length = 0;
                // 150,000 small frames (a file each) cross the 1 MiB buffer many times, at every alignment
                for (int i = 0; i < 150_000; i++) {
                    int piece = p * 1_000_000 + i;
                    String body = "r" + i + (i % 7 == 0 ? "-longer-body" : "");
                    length += write(out, piece, body.getBytes(StandardCharsets.US_ASCII));
                    want.add(piece + ":" + body);
                    if (i % 1000 == 0) {
                        // a piece-output frame: not a record
                        length += write(out, -1 - piece, ByteBuffer.allocate(16).putLong(3).putLong(i).array());
                    }
                }
                byte[] big = new byte[CommittedWork.READ_BUFFER * 2 + 3];
                java.util.Arrays.fill(big, (byte) ('a' + p));
                int bigPiece = p * 1_000_000 + 500_000;
                length += write(out, bigPiece, big);
                want.add(bigPiece + ":" + new String(big, StandardCharsets.US_ASCII));
                length += write(out, bigPiece + 1, "last".getBytes(StandardCharsets.US_ASCII));
                want.add((bigPiece + 1) + ":last");
                lengths[p] = length;
                // past the commit: a frame a given-up attempt wrote, never to be read
                write(out, 7, "garbage".getBytes(StandardCharsets.US_ASCII));
            }
        }
        List<String> got = new ArrayList<>();
        List<Operation.Piece> pieces = pieces();
        try (Dir work = files.open()) {
            new CommittedWork(work, 2, names, lengths).forEachRecord(pieces, (piece, bytes) -> {
                byte[] b = new byte[bytes.remaining()];
                bytes.get(b);
                got.add(piece.index() + ":" + new String(b, StandardCharsets.US_ASCII));
            });
        }
        assertThat(got).hasSize(want.size());
        assertThat(got).isEqualTo(want);
    }

    @Test
    void aCommittedLengthInsideAFrameFails(@TempDir Path root) throws Exception {
        JobFiles files = new JobFiles(root, "job-cw2");
        String name = JobFiles.recordsName(0, 1);
        Path f = files.dir().resolve(name);
        Files.createDirectories(f.getParent());
        long length;
        try (OutputStream out = Files.newOutputStream(f)) {
            length = write(out, 0, "one".getBytes(StandardCharsets.US_ASCII));
            length += write(out, 1, "two".getBytes(StandardCharsets.US_ASCII));
        }
        try (Dir work = files.open()) {
            CommittedWork committed = new CommittedWork(work, 1, new String[] {name}, new long[] {length - 1});
            assertThatThrownBy(() -> committed.forEachRecord(pieces(), (p, b) -> { }))
                    .isInstanceOf(IOException.class).hasMessageContaining("end inside a record");
            CommittedWork longer = new CommittedWork(work, 1, new String[] {name}, new long[] {length + 8 + 10});
            assertThatThrownBy(() -> longer.forEachRecord(pieces(), (p, b) -> { }))
                    .isInstanceOf(IOException.class);
        }
    }

    /** Pieces made when asked for, as the plan's view makes them. */
    private static List<Operation.Piece> pieces() {
        return new java.util.AbstractList<>() {
            @Override
            public Operation.Piece get(int index) {
                return new Operation.Piece(index, index, "f" + index, null, 0, 1, 1);
            }

            @Override
            public int size() {
                return Integer.MAX_VALUE;
            }
        };
    }

    private static long write(OutputStream out, int piece, byte[] body) throws IOException {
        out.write(ByteBuffer.allocate(8).putInt(piece).putInt(body.length).array());
        out.write(body);
        return 8 + body.length;
    }
}
