package io.ringbatch.operation;

import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.springframework.stereotype.Component;

/**
 * {@code wc}: lines, words and bytes of every file, as {@code counts.tsv}, one row per file in path
 * order and a total row, with the numbers of {@code LC_ALL=C wc -lwc} (GNU coreutils 9.1):
 * <pre>{@code <path>\t<lines>\t<words>\t<bytes>\n ... total\t<lines>\t<words>\t<bytes>\n}</pre>
 * No header row. A path is written as its raw bytes, except that a backslash, a tab and a newline are
 * written {@code \\}, {@code \t} and {@code \n} (the usual TSV escapes), so that every row has four
 * columns; wc itself leaves a tab raw, and a name with one would read as an extra column.
 * <p>
 * The counting is wc's in the C locale: lines are {@code \n} bytes (a last line without one is not
 * counted); a word is a maximal run of bytes that contains at least one printable non-space byte
 * ({@code 0x21}-{@code 0x7e}) and no white space ({@code ' '}, {@code \t}, {@code \n}, {@code \v},
 * {@code \f}, {@code \r}). Other bytes (controls, NUL, DEL, {@code 0x80}-{@code 0xff}) neither start nor
 * end a word: {@code "a\x80b"} is one word and {@code "\x80"} none. This is what coreutils 9.1 does and
 * was checked against it.
 * <p>
 * Split at lines: a word never spans a line, so pieces count on their own and the merge adds them up.
 * Records: one per piece at {@code finish}, {@code 'C'} and three 8-byte numbers. A checkpoint is the
 * counts so far ({@code long[]}). A file one of whose pieces left no record (skipped by the pipeline
 * with {@code skipUnreadable}) gets no row and does not count in the total.
 */
@Component
public class WcOperation implements Operation {
    static final String OUTPUT = "counts.tsv";
    private static final byte COUNTS = 'C';

    /** 0: neither starts nor ends a word; 1: a word byte; 2: white space, ends a word. */
    private static final byte[] CLASS = new byte[256];

    static {
        for (int b = 0x21; b <= 0x7e; b++) {
            CLASS[b] = 1;
        }
        for (char c : new char[] {' ', '\t', '\n', 0x0b, '\f', '\r'}) {
            CLASS[c] = 2;
        }
    }

    @Override
    public String name() {
        return "wc";
    }

    @Override
    public String description() {
        return "Lines, words and bytes of every file, as counts.tsv with a total row, counted as wc -lwc does";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of();
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        Params.of(params, List.of());
        return Map.of();
    }

    @Override
    public Split split() {
        return Split.LINES;
    }

    @Override
    public boolean resumableMidPiece() {
        return true;
    }

    @Override
    public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
        WcProcessor p = new WcProcessor();
        if (resume != null) {
            if (!(resume instanceof long[] c) || c.length != 4) {
                throw new IllegalArgumentException("not a wc checkpoint: " + resume);
            }
            p.lines = c[0];
            p.words = c[1];
            p.bytes = c[2];
            p.inWord = (int) c[3];
        }
        return p;
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        Map<Integer, Integer> piecesOfFile = new HashMap<>();
        for (Piece p : in.pieces()) {
            piecesOfFile.merge(p.fileIndex(), 1, Integer::sum);
        }
        try (MergeOutput out = in.files().output(OUTPUT)) {
            FileCounts file = new FileCounts();
            long[] total = new long[3];
            in.forEachRecord((piece, bytes) -> {
                if (bytes.get() != COUNTS || bytes.remaining() != 24) {
                    throw new IOException("wc: not a count record from piece " + piece.index());
                }
                if (file.piece != null && file.piece.fileIndex() != piece.fileIndex()) {
                    file.end(out, piecesOfFile, total);
                }
                file.add(piece, bytes);
            });
            file.end(out, piecesOfFile, total);
            row(out, "total", total);
        }
    }

    /**
     * The counts of the file being merged. A file gets its row (and counts in the total) only when every
     * piece of it has counted: a piece the pipeline skipped ({@code skipUnreadable}) leaves it out.
     */
    private static final class FileCounts {
        Piece piece;
        int pieces;
        final long[] counts = new long[3];

        void add(Piece p, ByteBuffer bytes) {
            piece = p;
            pieces++;
            for (int i = 0; i < 3; i++) {
                counts[i] += bytes.getLong();
            }
        }

        void end(MergeOutput out, Map<Integer, Integer> piecesOfFile, long[] total) throws IOException {
            if (piece != null && pieces == piecesOfFile.get(piece.fileIndex())) {
                row(out, piece.path(), counts);
                for (int i = 0; i < 3; i++) {
                    total[i] += counts[i];
                }
            }
            piece = null;
            pieces = 0;
            Arrays.fill(counts, 0);
        }
    }

    private static void row(MergeOutput out, String path, long[] counts) throws IOException {
        writeName(out, FileNames.raw(path));
        for (long n : counts) {
            out.write('\t');
            out.writeDecimal(n);
        }
        out.write('\n');
    }

    /**
     * A name's raw bytes with the three that would break the row escaped as TSV does ({@code \\},
     * {@code \t}, {@code \n}); every other byte (a carriage return, Latin-1, invalid UTF-8) as it is.
     */
    static void writeName(MergeOutput out, byte[] name) throws IOException {
        int from = 0;
        for (int i = 0; i < name.length; i++) {
            byte escaped = switch (name[i]) {
                case '\\' -> '\\';
                case '\t' -> 't';
                case '\n' -> 'n';
                default -> 0;
            };
            if (escaped != 0) {
                out.write(name, from, i - from);
                out.write('\\');
                out.write(escaped);
                from = i + 1;
            }
        }
        out.write(name, from, name.length - from);
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return List.of(OUTPUT);
    }

    private static final class WcProcessor implements PieceProcessor {
        private static final int CHUNK = 1 << 16;
        private final ByteScan.Window window = new ByteScan.Window();
        long lines;
        long words;
        long bytes;
        int inWord;

        @Override
        public void process(ByteBuffer data, FragmentSink out) {
            // a cache-sized window at a time: the bytes are read twice (newlines, then words)
            ByteBuffer view = data.duplicate();
            int limit = data.limit();
            try {
                for (int p = data.position(); p < limit; p += CHUNK) {
                    view.limit(Math.min(limit, p + CHUNK)).position(p);
                    ByteScan.Window w = window.load(view);
                    count(w.array, w.offset, w.end());
                }
            } finally {
                window.release();
            }
            data.position(limit);
        }

        private void count(byte[] a, int from, int to) {
            lines += ByteScan.count(a, from, to, (byte) '\n');
            bytes += to - from;
            int in = inWord;
            long w = 0;
            for (int i = from; i < to; i++) {
                int c = CLASS[a[i] & 0xff];
                int next = c == 0 ? in : c & 1;
                w += next & ~in;
                in = next;
            }
            words += w;
            inWord = in;
        }

        @Override
        public void finish(FragmentSink out) throws IOException {
            ByteBuffer record = ByteBuffer.allocate(25);
            record.put(COUNTS).putLong(lines).putLong(words).putLong(bytes).flip();
            out.record(record);
        }

        @Override
        public Serializable checkpoint() {
            return new long[] {lines, words, bytes, inWord};
        }
    }
}
