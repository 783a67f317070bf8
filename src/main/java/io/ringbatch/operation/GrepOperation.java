package io.ringbatch.operation;

import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.stereotype.Component;

/**
 * {@code grep}: the lines of every file that match a pattern, as {@code matches.txt}, byte-identical to
 * {@code LC_ALL=C grep -a -Hn} (with {@code -E} for a regex, {@code -F} for {@code fixed}, {@code -i} for
 * {@code ignoreCase}, {@code -v} for {@code invert}) run on each file from the input root:
 * <pre>{@code <path>:<line number>:<line>\n}</pre>
 * ordered by path, then line. The path is the name's raw bytes, as grep prints it (a newline or a
 * colon in a name stays as it is, as with grep: such names make the line ambiguous). A line is its bytes up to, not including, {@code \n}: a {@code \r} before it
 * stays, bytes that are not UTF-8 stay as they are, and a last line without {@code \n} is written with
 * one. Every file is treated as text (grep's {@code -a}): a file with NUL bytes gives its lines, not
 * "Binary file matches". Pattern syntax: see {@link GrepPattern} (Java regex, close to {@code grep -E}).
 * <p>
 * Split at lines; line numbers count from 1 in each piece, and the merge adds the lines of the file's
 * earlier pieces. Records of a piece: zero or more match batches, {@code 'M'} followed by
 * (line number, length, bytes) entries with LEB128 numbers; then one summary {@code 'S'} with the
 * piece's line count, written by {@code finish}. A checkpoint is the line count so far (a {@link Long}).
 * A file one of whose pieces left no summary (the pipeline skipped it: {@code skipUnreadable}) is left
 * out of {@code matches.txt} entirely, rather than written with wrong line numbers.
 */
@Component
public class GrepOperation implements Operation {
    static final String PATTERN = "pattern";
    static final String FIXED = "fixed";
    static final String IGNORE_CASE = "ignoreCase";
    static final String INVERT = "invert";
    static final String OUTPUT = "matches.txt";

    private static final byte MATCHES = 'M';
    private static final byte SUMMARY = 'S';
    private static final int RECORD_FLUSH = 1 << 20;

    private static final List<ParameterSpec> PARAMETERS = List.of(
            new ParameterSpec(PATTERN, "string", true, null, List.of(),
                    "a Java regular expression (close to grep -E; POSIX classes such as [[:digit:]] and \\< \\> "
                            + "work), or a literal string with fixed; newlines separate alternative patterns"),
            new ParameterSpec(FIXED, "boolean", false, "false", List.of(), "the pattern is a literal string (grep -F)"),
            new ParameterSpec(IGNORE_CASE, "boolean", false, "false", List.of(),
                    "ASCII letters match either case (grep -i)"),
            new ParameterSpec(INVERT, "boolean", false, "false", List.of(),
                    "select the lines that do not match (grep -v)"));

    @Override
    public String name() {
        return "grep";
    }

    @Override
    public String description() {
        return "The lines that match a pattern, as matches.txt in the format of grep -Hn";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        Params p = Params.of(params, PARAMETERS);
        String pattern = p.string(PATTERN, null, true);
        boolean fixed = p.bool(FIXED, false);
        boolean ignoreCase = p.bool(IGNORE_CASE, false);
        boolean invert = p.bool(INVERT, false);
        GrepPattern.compile(pattern, fixed, ignoreCase);
        return Params.normalised(PATTERN, pattern, FIXED, fixed, IGNORE_CASE, ignoreCase, INVERT, invert);
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
        String pattern = params.get(PATTERN);
        if (pattern == null) {
            throw new IllegalArgumentException("grep without a pattern");
        }
        GrepPattern compiled = GrepPattern.compile(pattern,
                Boolean.parseBoolean(Params.stored(params, FIXED, "false")),
                Boolean.parseBoolean(Params.stored(params, IGNORE_CASE, "false")));
        long lines = 0;
        if (resume != null) {
            if (!(resume instanceof Long n) || n < 0) {
                throw new IllegalArgumentException("not a grep checkpoint: " + resume);
            }
            lines = n;
        }
        return new GrepProcessor(compiled, Boolean.parseBoolean(Params.stored(params, INVERT, "false")), lines,
                piece.path(), piece.start(), pattern);
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        try (MergeOutput out = in.files().output(OUTPUT)) {
            MergeVisitor visitor = new MergeVisitor(out, in.pieces());
            in.forEachRecord(visitor);
            visitor.endFile();
        }
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return List.of(OUTPUT);
    }

    /**
     * Turns records into lines, adding to each piece's line numbers the line counts of the file's earlier
     * pieces. A file is complete when every one of its pieces has its summary; the lines of a file found
     * incomplete (the pipeline skipped a piece: an unreadable or changed file with
     * {@code skipUnreadable}) are taken back out, so that no file appears with wrong line numbers.
     */
    private static final class MergeVisitor implements MergeInput.RecordVisitor {
        private final MergeOutput out;
        /** By piece index: the previous piece of the same file, or -1 for a file's first piece. */
        private final Map<Integer, Integer> previousOfSameFile = new HashMap<>();
        /** By file index: its last piece. */
        private final Map<Integer, Integer> lastPieceOfFile = new HashMap<>();
        private int file = -1;
        private long fileStart;
        private boolean dropped;
        private int piece = -1;
        private byte[] path;
        private long base;
        private int summarizedPiece = -1;
        private long summarizedEnd;

        MergeVisitor(MergeOutput out, List<Piece> pieces) {
            this.out = out;
            Piece last = null;
            for (Piece p : pieces) {
                previousOfSameFile.put(p.index(), last != null && last.fileIndex() == p.fileIndex() ? last.index() : -1);
                lastPieceOfFile.put(p.fileIndex(), p.index());
                last = p;
            }
        }

        @Override
        public void record(Piece p, ByteBuffer bytes) throws IOException {
            if (p.index() != piece) {
                startPiece(p);
            }
            if (dropped) {
                return;
            }
            byte type = bytes.get();
            if (type == MATCHES) {
                while (bytes.hasRemaining()) {
                    long line = RecordBuffer.readVarLong(bytes);
                    int length = (int) RecordBuffer.readVarLong(bytes);
                    out.write(path);
                    out.write(':');
                    out.writeDecimal(base + line);
                    out.write(':');
                    out.write(bytes, length);
                    out.write('\n');
                }
            } else if (type == SUMMARY) {
                summarizedPiece = p.index();
                summarizedEnd = base + RecordBuffer.readVarLong(bytes);
            } else {
                throw new IOException("grep: unknown record type " + type + " from piece " + p.index());
            }
        }

        private void startPiece(Piece p) throws IOException {
            int previous = previousOfSameFile.getOrDefault(p.index(), -1);
            if (p.fileIndex() != file) {
                endFile();
                file = p.fileIndex();
                fileStart = out.position();
                // the file's first piece left no records: skipped
                dropped = previous != -1;
                base = 0;
            } else if (!dropped) {
                if (previous == summarizedPiece) {
                    base = summarizedEnd;
                } else {
                    drop();
                }
            }
            piece = p.index();
            path = FileNames.raw(p.path());
        }

        /** At the end of a file's records: its last piece must have been summarized. */
        void endFile() throws IOException {
            if (file >= 0 && !dropped && summarizedPiece != lastPieceOfFile.get(file)) {
                drop();
            }
        }

        private void drop() throws IOException {
            out.truncate(fileStart);
            dropped = true;
        }
    }

    /** Character reads the regex engine may make on one line: a few tenths of a second of work. */
    static final long MATCH_BUDGET = 100_000_000L;

    /** A line on which the pattern backtracks without end. */
    static final class PatternTooCostlyException extends RuntimeException {
        PatternTooCostlyException(String message) {
            super(message);
        }
    }

    private static final class GrepProcessor implements PieceProcessor {
        /** The whole pattern as a literal, or null. */
        private final GrepPattern.Literal literal;
        /** Text a matching line must contain (the literal itself, or a regex's required prefix), or null. */
        private final GrepPattern.Literal candidates;
        private final Matcher matcher;
        /** With a regex: the automaton that rules out most lines before the regex engine sees them, or null. */
        private final LineDfa dfa;
        private final LineDfa.Candidates found = new LineDfa.Candidates();
        private final Latin1Chars chars;
        private final boolean invert;
        private final ByteScan.Window window = new ByteScan.Window();
        private final RecordBuffer records = new RecordBuffer(1 << 12);
        /** Where the block being processed goes; asked before each line the regex engine tests. */
        private FragmentSink sink;
        private long lines;
        private final String path;
        private final long pieceStart;
        private final String patternText;

        GrepProcessor(GrepPattern pattern, boolean invert, long lines, String path, long pieceStart,
                      String patternText) {
            this.path = path;
            this.pieceStart = pieceStart;
            this.patternText = patternText;
            this.literal = pattern.literal;
            this.candidates = pattern.literal != null ? pattern.literal : pattern.required;
            this.chars = pattern.regex == null ? null : new Latin1Chars();
            this.matcher = pattern.regex == null ? null : pattern.regex.matcher("");
            this.dfa = pattern.regex == null ? null
                    : LineDfa.compile(pattern.regex.pattern(), (pattern.regex.flags() & Pattern.CASE_INSENSITIVE) != 0);
            this.invert = invert;
            this.lines = lines;
        }

        @Override
        public void process(ByteBuffer data, FragmentSink out) throws IOException {
            if (!data.hasRemaining()) {
                return;
            }
            ByteScan.Window w = window.load(data);
            sink = out;
            try {
                if (matcher != null) {
                    matcher.reset(chars.set(w.array, w.offset, w.length));
                }
                if (candidates != null && !invert) {
                    scanCandidates(w.array, w.offset, w.end(), out);
                } else if (dfa != null && !invert) {
                    scanAutomaton(w.array, w.offset, w.end(), out);
                } else {
                    scanLines(w.array, w.offset, w.offset, w.end(), out);
                }
                records.emit(out);
                data.position(data.limit());
            } finally {
                sink = null;
                w.release();
                if (chars != null) {
                    chars.release();
                    matcher.reset("");
                }
            }
        }

        private boolean matches(byte[] a, int from, int start, int end) {
            if (matcher != null) {
                if (dfa != null && !dfa.gaveUp) {
                    boolean may = dfa.mayMatch(a, start, end);
                    if (!dfa.gaveUp && (!may || dfa.exact)) {
                        return may;
                    }
                }
                return find(from, start, end);
            }
            return literal.find(a, start, end) >= 0;
        }

        /**
         * The regex engine over one line, with a budget of character reads: a pattern that backtracks
         * without end on a line (nested quantifiers such as {@code (a+)+$} over a long run of a's) fails the
         * job with a message instead of holding a worker forever. The automaton, which never backtracks,
         * decides most lines before the engine is asked.
         * <p>
         * Each such line may cost up to the budget (a few tenths of a second), so that a block of them could
         * take hours: before each, a stop of the job abandons the block ({@link FragmentSink.Stopped}); the
         * pipeline rolls the chunk back and a restart processes the block again from the last commit.
         */
        private boolean find(int from, int start, int end) {
            if (sink.stopRequested()) {
                throw new FragmentSink.Stopped();
            }
            chars.budget(MATCH_BUDGET);
            try {
                return matcher.region(start - from, end - from).find();
            } catch (Latin1Chars.BudgetExceeded e) {
                String where = pieceStart == 0 ? "line " + (lines) : "line " + lines + " counted from byte "
                        + pieceStart;
                throw new PatternTooCostlyException("grep: the pattern " + patternText + " needs more than "
                        + MATCH_BUDGET + " steps on one line of " + FileNames.display(path) + " (" + where + "); it backtracks without "
                        + "end there (nested quantifiers such as (a+)+ over a long line): simplify it");
            } finally {
                chars.budget(Long.MAX_VALUE);
            }
        }

        /** Every line from {@code p} on, tested on its own ({@code from}: where the block starts). */
        private void scanLines(byte[] a, int from, int p, int to, FragmentSink out) throws IOException {
            while (p < to) {
                int nl = ByteScan.indexOf(a, p, to, (byte) '\n');
                int end = nl < 0 ? to : nl;
                lines++;
                if (matches(a, from, p, end) != invert) {
                    emit(a, p, end, out);
                }
                p = nl < 0 ? to : nl + 1;
            }
        }

        /**
         * Runs the automaton over the block and gives the regex engine only the lines it finds may match
         * (none, when the automaton is exact); the lines in between are counted.
         */
        private void scanAutomaton(byte[] a, int from, int to, FragmentSink out) throws IOException {
            if (!dfa.candidates(a, from, to, found)) {
                scanLines(a, from, from, to, out);
                return;
            }
            int p = from;
            for (int k = 0; k < found.size(); k++) {
                int hit = found.get(k);
                int start = Math.max(p, ByteScan.lastIndexOf(a, p, hit, (byte) '\n') + 1);
                lines += ByteScan.count(a, p, start, (byte) '\n') + 1;
                int nl = ByteScan.indexOf(a, hit, to, (byte) '\n');
                int end = nl < 0 ? to : nl;
                if (dfa.exact || find(from, start, end)) {
                    emit(a, start, end, out);
                }
                p = nl < 0 ? to : nl + 1;
            }
            if (p < to) {
                lines += ByteScan.count(a, p, to, (byte) '\n');
                if (a[to - 1] != '\n') {
                    lines++;
                }
            }
        }

        /**
         * Searches the whole block for the text every matching line contains (it holds no newline), tests
         * only the lines where it occurs, and counts the lines in between.
         */
        private void scanCandidates(byte[] a, int from, int to, FragmentSink out) throws IOException {
            int p = from;
            while (p < to) {
                int hit = candidates.find(a, p, to);
                if (hit < 0) {
                    lines += ByteScan.count(a, p, to, (byte) '\n');
                    if (a[to - 1] != '\n') {
                        lines++;
                    }
                    return;
                }
                int start = ByteScan.lastIndexOf(a, p, hit, (byte) '\n') + 1;
                if (start <= p) {
                    start = p;
                } else {
                    lines += ByteScan.count(a, p, start, (byte) '\n');
                }
                lines++;
                int nl = ByteScan.indexOf(a, hit + candidates.length, to, (byte) '\n');
                int end = nl < 0 ? to : nl;
                if (matcher == null || matches(a, from, start, end)) {
                    emit(a, start, end, out);
                }
                p = nl < 0 ? to : nl + 1;
            }
        }

        private void emit(byte[] a, int start, int end, FragmentSink out) throws IOException {
            if (records.size() == 0) {
                records.put(MATCHES);
            }
            records.putVarLong(lines).putVarLong(end - start).put(a, start, end - start);
            if (records.size() >= RECORD_FLUSH) {
                records.emit(out);
            }
        }

        @Override
        public void finish(FragmentSink out) throws IOException {
            records.put(SUMMARY).putVarLong(lines);
            records.emit(out);
        }

        @Override
        public Serializable checkpoint() {
            return lines;
        }
    }
}
