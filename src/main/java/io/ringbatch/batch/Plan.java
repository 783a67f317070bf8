package io.ringbatch.batch;

import io.ringbatch.operation.Operation;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * What the plan step found and how it cut the work: the input files sorted by path bytes, their
 * pieces (whole files, or byte ranges of large files of operations that may split), and the
 * partitions, each a contiguous run of pieces. Written once as {@code plan.json} in the job's work
 * directory; every later step and every restart reads the same plan.
 */
public record Plan(String inputRoot, List<FileEntry> files, List<PieceEntry> pieces, List<PartitionEntry> partitions) {

    /** An input file as it was when planned; a change of size or mtime later fails the job. */
    public record FileEntry(String path, long size, long mtimeMillis) {
    }

    public record PieceEntry(int file, long start, long end) {
    }

    /** Pieces {@code [firstPiece, endPiece)}. */
    public record PartitionEntry(int firstPiece, int endPiece, long bytes) {
    }

    public long totalBytes() {
        return files.stream().mapToLong(FileEntry::size).sum();
    }

    public Operation.Piece piece(int index) {
        PieceEntry p = pieces.get(index);
        FileEntry f = files.get(p.file());
        return new Operation.Piece(index, p.file(), f.path(), Path.of(inputRoot).resolve(f.path()), p.start(), p.end(),
                f.size());
    }

    public List<Operation.Piece> operationPieces() {
        List<Operation.Piece> out = new ArrayList<>(pieces.size());
        for (int i = 0; i < pieces.size(); i++) {
            out.add(piece(i));
        }
        return out;
    }

    /** Whether {@code piece} is the last piece of its file. */
    public boolean lastOfFile(int piece) {
        return piece + 1 == pieces.size() || pieces.get(piece + 1).file() != pieces.get(piece).file();
    }
}
