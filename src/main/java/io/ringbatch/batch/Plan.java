package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.InputFile;
import io.ringbatch.operation.Operation;
import java.util.ArrayList;
import java.util.List;

/**
 * What the plan step found and how it cut the work: the input files sorted by path bytes, their
 * pieces (whole files, or byte ranges of large files of operations that may split), and the
 * partitions, each a contiguous run of pieces. Written once as {@code plan.json} in the job's work
 * directory; every later step and every restart reads the same plan.
 *
 * @param inputRoot the input root as the job names it (opened again by descriptor at every start)
 * @param plannedBy the instance ({@code ringbatch.instance-id}) that planned: only it compares devices
 */
public record Plan(String inputRoot, String plannedBy, List<FileEntry> files, List<PieceEntry> pieces,
                   List<PartitionEntry> partitions) {

    /**
     * An input file as it was when planned: its path relative to the root (a byte string, see
     * {@code FileNames}) and its identity. An open that finds another inode, size or modification time
     * (or, on the planning instance, another device) fails the file as changed.
     */
    public record FileEntry(String path, long size, long mtimeNanos, long inode, long device) {
    }

    public record PieceEntry(int file, long start, long end) {
    }

    /** Pieces {@code [firstPiece, endPiece)}. */
    public record PartitionEntry(int firstPiece, int endPiece, long bytes) {
    }

    public long totalBytes() {
        return files.stream().mapToLong(FileEntry::size).sum();
    }

    /** The piece, without a root to read it from (for the merge, which reads only the work files). */
    public Operation.Piece piece(int index) {
        return piece(index, null);
    }

    /** The piece, read beneath {@code root}, the input root held by descriptor. */
    public Operation.Piece piece(int index, Dir root) {
        PieceEntry p = pieces.get(index);
        FileEntry f = files.get(p.file());
        return new Operation.Piece(index, p.file(), f.path(), root, p.start(), p.end(), f.size());
    }

    /**
     * What an open of the file must find. The device is compared only on the instance that planned: NFS
     * clients number the same export differently.
     */
    public InputFile.Expected expected(int file, String instance, boolean singleLink) {
        FileEntry f = files.get(file);
        long device = instance != null && instance.equals(plannedBy) ? f.device() : -1;
        return new InputFile.Expected(f.size(), f.mtimeNanos(), f.inode(), device, singleLink);
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
