package io.ringbatch.batch;

import io.ringbatch.io.Dir;
import io.ringbatch.io.InputFile;
import io.ringbatch.operation.Operation;
import java.nio.charset.StandardCharsets;
import java.util.AbstractList;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.RandomAccess;

/**
 * What the plan step found and how it cut the work: the input files sorted by path bytes, their
 * pieces (whole files, or byte ranges of large files of operations that may split), and the
 * partitions, each a contiguous run of pieces. Written once as {@code plan.json} in the job's work
 * directory ({@link PlanFile}, as a stream); every later step and every restart reads the same plan.
 * <p>
 * A plan of a million files is held compactly, not as a million objects: the paths' bytes in large
 * byte arrays ({@link Files}), the numbers in primitive arrays. {@link #files()} and {@link #pieces()}
 * are views that make an entry when one is asked for.
 *
 * @see PlanFile
 */
@tools.jackson.databind.annotation.JsonSerialize(using = PlanFile.Serializer.class)
@tools.jackson.databind.annotation.JsonDeserialize(using = PlanFile.Deserializer.class)
public final class Plan {
    private final String inputRoot;
    private final String plannedBy;
    private final Files files;
    private final Pieces pieces;
    private final List<PartitionEntry> partitions;
    private final long totalBytes;

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

    /**
     * @param inputRoot the input root as the job names it (opened again by descriptor at every start)
     * @param plannedBy the instance ({@code ringbatch.instance-id}) that planned: only it compares devices
     */
    Plan(String inputRoot, String plannedBy, Files files, Pieces pieces, List<PartitionEntry> partitions) {
        this.inputRoot = inputRoot;
        this.plannedBy = plannedBy;
        this.files = files;
        this.pieces = pieces;
        this.partitions = List.copyOf(partitions);
        long sum = 0;
        for (int i = 0; i < files.size(); i++) {
            sum += files.size(i);
        }
        this.totalBytes = sum;
    }

    /** A plan of entries (tests, tools): stored compactly like a planned one. */
    public Plan(String inputRoot, String plannedBy, List<FileEntry> files, List<PieceEntry> pieces,
                List<PartitionEntry> partitions) {
        this(inputRoot, plannedBy, Files.of(files), Pieces.of(pieces), partitions);
    }

    public String inputRoot() {
        return inputRoot;
    }

    public String plannedBy() {
        return plannedBy;
    }

    /** The files in path order, a view: each {@code get} makes its entry. */
    public List<FileEntry> files() {
        return files.view();
    }

    /** The pieces in order, a view: each {@code get} makes its entry. */
    public List<PieceEntry> pieces() {
        return pieces.view();
    }

    public List<PartitionEntry> partitions() {
        return partitions;
    }

    public long totalBytes() {
        return totalBytes;
    }

    /** The file's path (a byte string) without making its entry. */
    public String path(int file) {
        return files.path(file);
    }

    /** The piece, without a root to read it from (for the merge, which reads only the work files). */
    public Operation.Piece piece(int index) {
        return piece(index, null);
    }

    /** The piece, read beneath {@code root}, the input root held by descriptor. */
    public Operation.Piece piece(int index, Dir root) {
        int file = pieces.file(index);
        return new Operation.Piece(index, file, files.path(file), root, pieces.start(index), pieces.end(index),
                files.size(file));
    }

    /**
     * What an open of the file must find. The device is compared only on the instance that planned: NFS
     * clients number the same export differently.
     */
    public InputFile.Expected expected(int file, String instance, boolean singleLink) {
        long device = instance != null && instance.equals(plannedBy) ? files.device(file) : -1;
        return new InputFile.Expected(files.size(file), files.mtime(file), files.inode(file), device, singleLink);
    }

    /**
     * The files of pieces {@code [from, end)} in the order a partition opens them, one per piece, checked as
     * {@link #expected} says: what the partition hands {@link io.ringbatch.io.IoEngine#openAhead} so that its
     * engine opens them a window ahead of the reader. Made one at a time as the engine asks.
     */
    public java.util.Iterator<InputFile> inputs(int from, int end, Dir root, String instance, boolean singleLink) {
        return new java.util.Iterator<>() {
            private int next = Math.max(0, from);

            @Override
            public boolean hasNext() {
                return next < Math.min(end, pieces.size());
            }

            @Override
            public InputFile next() {
                if (!hasNext()) {
                    throw new java.util.NoSuchElementException();
                }
                int file = pieces.file(next++);
                return InputFile.beneath(root, files.path(file), expected(file, instance, singleLink));
            }
        };
    }

    /** Every piece as the operations see them; a list of views, each made when asked for. */
    public List<Operation.Piece> operationPieces() {
        return new View<>(pieces.size(), this::piece);
    }

    /** Whether {@code piece} is the last piece of its file. */
    public boolean lastOfFile(int piece) {
        return piece + 1 == pieces.size() || pieces.file(piece + 1) != pieces.file(piece);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Plan p && Objects.equals(inputRoot, p.inputRoot) && Objects.equals(plannedBy, p.plannedBy)
                && files().equals(p.files()) && pieces().equals(p.pieces()) && partitions.equals(p.partitions);
    }

    @Override
    public int hashCode() {
        return Objects.hash(inputRoot, plannedBy, files.size(), pieces.size(), partitions);
    }

    @Override
    public String toString() {
        return "Plan[" + inputRoot + ", " + files.size() + " files, " + pieces.size() + " pieces, "
                + partitions.size() + " partitions]";
    }

    /** A read-only list whose elements are made on demand. */
    private static final class View<T> extends AbstractList<T> implements RandomAccess {
        private final int size;
        private final java.util.function.IntFunction<T> get;

        View(int size, java.util.function.IntFunction<T> get) {
            this.size = size;
            this.get = get;
        }

        @Override
        public T get(int index) {
            Objects.checkIndex(index, size);
            return get.apply(index);
        }

        @Override
        public int size() {
            return size;
        }
    }

    /**
     * Files, compactly: each path's bytes in pages of up to {@link #PAGE} bytes (a longer path gets a page of its
     * own), its page and offset packed in one long; size, modification time, inode and device in arrays.
     * About 36 bytes a file beside its path's bytes, against some 150 for an entry object and its string.
     * Filled with {@link #add}, then optionally put in path order with {@link #sorted}.
     */
    static final class Files {
        static final int PAGE = 1 << 20;
        /**
         * The first page's size; each next page doubles it up to {@link #PAGE}. A plan of a few hundred
         * files then holds a few KiB of pages, not a MiB per walk thread (with G1's 1 MiB regions, heaps below
         * 2 GiB, a MiB array is a humongous allocation, zeroed whole), while a plan of a million files still
         * goes in pages of a MiB after the first few.
         */
        static final int FIRST_PAGE = 16 << 10;
        private final List<byte[]> pages = new ArrayList<>();
        /** The current (last) page's size; 0 when a later add must start a page of its own. */
        private int pageCapacity;
        private int pageUsed;
        private long[] where = new long[16];
        private int[] length = new int[16];
        private long[] size = new long[16];
        private long[] mtime = new long[16];
        private long[] inode = new long[16];
        private long[] device = new long[16];
        private int count;

        static Files of(List<FileEntry> entries) {
            Files f = new Files();
            for (FileEntry e : entries) {
                f.add(e.path(), e.size(), e.mtimeNanos(), e.inode(), e.device());
            }
            return f;
        }

        int size() {
            return count;
        }

        /** Adds a file whose path is the byte string {@code path}; returns its index. */
        int add(String path, long size, long mtime, long inode, long device) {
            return add(path.getBytes(StandardCharsets.ISO_8859_1), size, mtime, inode, device);
        }

        int add(byte[] path, long size, long mtime, long inode, long device) {
            if (count == where.length) {
                int n = count + (count >> 1) + 16;
                where = Arrays.copyOf(where, n);
                length = Arrays.copyOf(length, n);
                this.size = Arrays.copyOf(this.size, n);
                this.mtime = Arrays.copyOf(this.mtime, n);
                this.inode = Arrays.copyOf(this.inode, n);
                this.device = Arrays.copyOf(this.device, n);
            }
            if (path.length > pageCapacity - pageUsed || pageCapacity == 0) {
                int next = pages.isEmpty() ? FIRST_PAGE : Math.min(PAGE, Math.max(FIRST_PAGE, 2 * pageCapacity));
                pages.add(new byte[Math.max(next, path.length)]);
                pageCapacity = pages.get(pages.size() - 1).length;
                pageUsed = 0;
            }
            int page = pages.size() - 1;
            System.arraycopy(path, 0, pages.get(page), pageUsed, path.length);
            where[count] = ((long) page << 32) | pageUsed;
            length[count] = path.length;
            pageUsed += path.length;
            this.size[count] = size;
            this.mtime[count] = mtime;
            this.inode[count] = inode;
            this.device[count] = device;
            return count++;
        }

        String path(int i) {
            Objects.checkIndex(i, count);
            return new String(pages.get((int) (where[i] >>> 32)), (int) where[i], length[i],
                    StandardCharsets.ISO_8859_1);
        }

        long size(int i) {
            Objects.checkIndex(i, count);
            return size[i];
        }

        long mtime(int i) {
            Objects.checkIndex(i, count);
            return mtime[i];
        }

        long inode(int i) {
            Objects.checkIndex(i, count);
            return inode[i];
        }

        long device(int i) {
            Objects.checkIndex(i, count);
            return device[i];
        }

        /** Compares the paths of files i and j as unsigned bytes ({@code LC_ALL=C sort}). */
        int compare(int i, int j) {
            byte[] a = pages.get((int) (where[i] >>> 32));
            byte[] b = pages.get((int) (where[j] >>> 32));
            int ai = (int) where[i];
            int bj = (int) where[j];
            return Arrays.compareUnsigned(a, ai, ai + length[i], b, bj, bj + length[j]);
        }

        /**
         * The files in path order. Only the small per-file arrays are permuted (the path bytes stay where
         * they are); the order is found on an {@code int[]} of indexes, never on entry objects.
         */
        Files sorted() {
            int[] order = new int[count];
            for (int i = 0; i < count; i++) {
                order[i] = i;
            }
            IntSort.sort(order, this::compare);
            Files out = new Files();
            out.pages.addAll(pages);
            out.pageCapacity = pageCapacity;
            out.pageUsed = pageUsed;
            out.count = count;
            out.where = new long[count];
            out.length = new int[count];
            out.size = new long[count];
            out.mtime = new long[count];
            out.inode = new long[count];
            out.device = new long[count];
            for (int k = 0; k < count; k++) {
                int i = order[k];
                out.where[k] = where[i];
                out.length[k] = length[i];
                out.size[k] = size[i];
                out.mtime[k] = mtime[i];
                out.inode[k] = inode[i];
                out.device[k] = device[i];
            }
            return out;
        }

        List<FileEntry> view() {
            return new View<>(count, i -> new FileEntry(path(i), size[i], mtime[i], inode[i], device[i]));
        }

        /**
         * The files of every part, in the parts' order, as one store: the parts' path pages are shared, not
         * copied (each part's page numbers shift past the pages of the parts before it).
         */
        static Files concat(List<Files> parts) {
            if (parts.size() == 1) {
                return parts.get(0);
            }
            Files out = new Files();
            int n = 0;
            for (Files f : parts) {
                n += f.count;
            }
            out.where = new long[Math.max(16, n)];
            out.length = new int[out.where.length];
            out.size = new long[out.where.length];
            out.mtime = new long[out.where.length];
            out.inode = new long[out.where.length];
            out.device = new long[out.where.length];
            for (Files f : parts) {
                long shift = (long) out.pages.size() << 32;
                out.pages.addAll(f.pages);
                for (int i = 0; i < f.count; i++) {
                    int k = out.count++;
                    out.where[k] = f.where[i] + shift;
                    out.length[k] = f.length[i];
                    out.size[k] = f.size[i];
                    out.mtime[k] = f.mtime[i];
                    out.inode[k] = f.inode[i];
                    out.device[k] = f.device[i];
                }
            }
            // the last page may be another part's: a later add starts a page of its own
            out.pageCapacity = 0;
            out.pageUsed = 0;
            return out;
        }
    }

    /** Pieces, compactly: three primitive arrays. */
    static final class Pieces {
        private int[] file = new int[16];
        private long[] start = new long[16];
        private long[] end = new long[16];
        private int count;

        static Pieces of(List<PieceEntry> entries) {
            Pieces p = new Pieces();
            for (PieceEntry e : entries) {
                p.add(e.file(), e.start(), e.end());
            }
            return p;
        }

        void add(int file, long start, long end) {
            if (count == this.file.length) {
                int n = count + (count >> 1) + 16;
                this.file = Arrays.copyOf(this.file, n);
                this.start = Arrays.copyOf(this.start, n);
                this.end = Arrays.copyOf(this.end, n);
            }
            this.file[count] = file;
            this.start[count] = start;
            this.end[count] = end;
            count++;
        }

        int size() {
            return count;
        }

        int file(int i) {
            Objects.checkIndex(i, count);
            return file[i];
        }

        long start(int i) {
            Objects.checkIndex(i, count);
            return start[i];
        }

        long end(int i) {
            Objects.checkIndex(i, count);
            return end[i];
        }

        List<PieceEntry> view() {
            return new View<>(count, i -> new PieceEntry(file[i], start[i], end[i]));
        }
    }

    /** A stable merge sort of an {@code int[]} by a comparator of ints (no boxing). */
    static final class IntSort {
        interface IntComparator {
            int compare(int a, int b);
        }

        private IntSort() {
        }

        static void sort(int[] a, IntComparator c) {
            int[] tmp = new int[a.length];
            int[] src = a;
            int[] dst = tmp;
            // runs of 16 by insertion sort, then bottom-up merges
            for (int lo = 0; lo < a.length; lo += 16) {
                int hi = Math.min(a.length, lo + 16);
                for (int i = lo + 1; i < hi; i++) {
                    int v = a[i];
                    int j = i - 1;
                    while (j >= lo && c.compare(a[j], v) > 0) {
                        a[j + 1] = a[j];
                        j--;
                    }
                    a[j + 1] = v;
                }
            }
            for (int width = 16; width < a.length; width *= 2) {
                for (int lo = 0; lo < a.length; lo += 2 * width) {
                    int mid = Math.min(a.length, lo + width);
                    int hi = Math.min(a.length, lo + 2 * width);
                    int i = lo;
                    int j = mid;
                    int k = lo;
                    if (mid >= hi || c.compare(src[mid - 1], src[mid]) <= 0) {
                        System.arraycopy(src, lo, dst, lo, hi - lo); // already in order
                        continue;
                    }
                    while (i < mid && j < hi) {
                        dst[k++] = c.compare(src[j], src[i]) < 0 ? src[j++] : src[i++];
                    }
                    while (i < mid) {
                        dst[k++] = src[i++];
                    }
                    while (j < hi) {
                        dst[k++] = src[j++];
                    }
                }
                int[] t = src;
                src = dst;
                dst = t;
            }
            if (src != a) {
                System.arraycopy(src, 0, a, 0, a.length);
            }
        }
    }
}
