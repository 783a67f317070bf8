package io.ringbatch.operation;

import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
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
        boolean fixed = Boolean.parseBoolean(Params.stored(params, FIXED, "false"));
        boolean ignoreCase = Boolean.parseBoolean(Params.stored(params, IGNORE_CASE, "false"));
        Compiled compiled = COMPILED.get().computeIfAbsent(List.of(pattern, fixed, ignoreCase),
                k -> Compiled.of(GrepPattern.compile(pattern, fixed, ignoreCase)));
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

    /**
     * The patterns this thread compiled, by (pattern, fixed, ignoreCase), the last few used: a job's pieces
     * on one thread share one compiled pattern and one automaton, whose table the earlier pieces built.
     */
    private static final ThreadLocal<Map<List<Object>, Compiled>> COMPILED = ThreadLocal.withInitial(
            () -> new java.util.LinkedHashMap<>(8, 0.75f, true) {
                @Override
                protected boolean removeEldestEntry(Map.Entry<List<Object>, Compiled> eldest) {
                    return size() > 4;
                }
            });

    /**
     * A pattern with the automaton and the prefilter of one thread (both keep state), and the thread's
     * arrays a processor copies a block into (used only during one {@code process} call: the processors of
     * one thread never run at once).
     */
    private record Compiled(GrepPattern pattern, LineDfa dfa, LiteralFilter filter, ByteScan.Window copy,
                            byte[] countScratch) {
        static Compiled of(GrepPattern p) {
            return new Compiled(p, p.nfa == null ? null : LineDfa.of(p.nfa),
                    LiteralFilter.of(p.literals.strings(), p.ignoreCase), new ByteScan.Window(),
                    new byte[BufferScan.COUNT_STRETCH]);
        }
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
        private static final byte NL = '\n';
        /** Tested lines before the density check; a denser block goes to the automaton. */
        private static final int DENSE_LINES = 64;
        /** Candidate lines closer than this (bytes per line, on average) are dense. */
        private static final int DENSE_LINE_GAP = 256;
        /** Prefilter comparisons closer than this (bytes per comparison, on average) are dense. */
        private static final int DENSE_PROBE_GAP = 32;
        /**
         * Tested lines that hold more than one byte in this many of the block so far are dense: each costs a
         * copy and a run of the automaton of its own, and the automaton over the whole rest is cheaper. (The
         * large-file benchmark's {@code [0-9]{3}x[a-c]} over random bytes, whose literal {@code x} is in most
         * lines but neither hits nor probes come dense by the gaps above: 592 MiB/s per core without this
         * rule, 1337-1548 with it at 2-6; the log benchmark's classes the same within the noise.)
         */
        private static final int DENSE_SHARE = 4;

        private final GrepPattern pattern;
        private final Matcher matcher;
        /** The automaton of this job on this thread, or null: rules out most lines before the regex engine. */
        private final LineDfa dfa;
        /** The prefilter on the literals every matching line contains, or null. */
        private final LiteralFilter filter;
        private final LineDfa.Candidates found = new LineDfa.Candidates();
        private final Latin1Chars chars;
        private final boolean invert;
        /** Whether the lines between the tested ones are selected: with -v, or when every line matches. */
        private final boolean gapsSelected;
        private final ByteScan.Window window = new ByteScan.Window();
        /** This thread's copy of a direct block (its array is kept from block to block and job to job). */
        private final ByteScan.Window copy;
        /** A heap buffer over {@link #copy}'s array, made again only when the array grows. */
        private ByteBuffer copyView;
        private final RecordBuffer records = new RecordBuffer(1 << 12);
        /** Where {@link BufferScan#count} copies a direct buffer's stretches to count their lines. */
        private final byte[] countScratch;
        /** The line being tested or written, copied out of the block. */
        private byte[] line = new byte[256];
        /** Where the block being processed goes; asked before each line the regex engine tests. */
        private FragmentSink sink;
        private ByteBuffer buf;
        /** Where the lines not yet counted start. */
        private int done;
        private long lines;
        private final String path;
        private final long pieceStart;
        private final String patternText;

        GrepProcessor(Compiled compiled, boolean invert, long lines, String path, long pieceStart,
                      String patternText) {
            this.path = path;
            this.pieceStart = pieceStart;
            this.patternText = patternText;
            this.pattern = compiled.pattern();
            this.dfa = compiled.dfa();
            this.filter = compiled.filter();
            this.copy = compiled.copy();
            this.countScratch = compiled.countScratch();
            this.chars = new Latin1Chars();
            this.matcher = pattern.regex.matcher("");
            this.invert = invert;
            this.gapsSelected = invert != pattern.everyLine;
            this.lines = lines;
        }

        /**
         * Finds the lines that match in the block: with literals, the prefilter's hits (switching to the
         * automaton over the rest of the block where they come dense); else the automaton's candidates; else
         * every line. Only the lines so found are tested further; the lines between them are counted in bulk,
         * or written with -v.
         * <p>
         * A direct buffer (the reader's) is copied once into this thread's array and searched there: every
         * search then reads a {@code byte[]}, which on the JDK 17 of the bench is faster than reading the
         * direct buffer in place, copy included (the log benchmark's 256 MiB file in 1 MiB direct blocks, one
         * core, grep alone, best of 5: the fixed literal 1875 MiB/s searched in place, 2428 copied; -i 1521
         * and 2130; the regex with a required literal 1115 and 1288; the others within the noise).
         */
        @Override
        public void process(ByteBuffer data, FragmentSink out) throws IOException {
            int position = data.position();
            int limit = data.limit();
            if (position == limit) {
                return;
            }
            sink = out;
            int from;
            int to;
            if (data.hasArray()) {
                buf = data;
                from = position;
                to = limit;
            } else {
                ByteScan.Window w = copy.load(data);
                if (copyView == null || copyView.array() != w.array) {
                    copyView = ByteBuffer.wrap(w.array);
                }
                buf = copyView.clear().limit(w.length);
                from = 0;
                to = w.length;
            }
            done = from;
            try {
                if (pattern.everyLine) {
                    // nothing to test: the block is one gap
                } else if (filter != null) {
                    scanLiterals(from, to);
                } else if (dfa != null && !dfa.gaveUp) {
                    scanAutomaton(from, to);
                } else {
                    scanLines(from, to);
                }
                gap(done, to);
                records.emit(out);
                data.position(limit);
            } finally {
                sink = null;
                buf = null;
                window.release();
                copy.release();
                chars.release();
                matcher.reset("");
            }
        }

        /**
         * Whether the line {@code [start, end)} matches: the automaton first (unless it already let the line
         * through), then the regex engine where the automaton is not exact.
         */
        private boolean test(int start, int end, boolean automatonPassed) {
            int n = end - start;
            if (line.length < n) {
                line = new byte[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 16, line.length * 2L))];
            }
            buf.get(start, line, 0, n);
            if (!automatonPassed && dfa != null && !dfa.gaveUp) {
                boolean may = dfa.mayMatch(line, 0, n);
                if (!dfa.gaveUp && (!may || dfa.exact)) {
                    return may;
                }
            }
            matcher.reset(chars.set(line, 0, n));
            return find(0, 0, n);
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
                        + MATCH_BUDGET + " steps on one line of " + FileNames.inMessage(path) + " (" + where + "); it backtracks without "
                        + "end there (nested quantifiers such as (a+)+ over a long line): simplify it");
            } finally {
                chars.budget(Long.MAX_VALUE);
            }
        }

        /** Every line of {@code [from, to)}, tested on its own. */
        private void scanLines(int from, int to) throws IOException {
            int p = from;
            while (p < to) {
                int nl = BufferScan.indexOf(buf, p, to, NL);
                int end = nl < 0 ? to : nl;
                enter(p);
                leave(p, end, to, test(p, end, false));
                p = nl < 0 ? to : nl + 1;
            }
        }

        /**
         * Runs the automaton over {@code [from, to)} ({@code from} a line start) and tests only the lines it
         * finds may match (none further, when it is exact). It runs four stretches side by side over an
         * array: a direct buffer's bytes are copied once for it.
         */
        private void scanAutomaton(int from, int to) throws IOException {
            int position = buf.position();
            ByteScan.Window w = window.load(buf.position(from));
            buf.position(position);
            int shift = w.offset - from;
            if (!dfa.candidates(w.array, w.offset, w.end(), found)) {
                scanLines(from, to);
                return;
            }
            int p = from;
            for (int k = 0; k < found.size(); k++) {
                int hit = found.get(k) - shift;
                int start = Math.max(p, BufferScan.lastIndexOf(buf, p, hit, NL) + 1);
                int nl = BufferScan.indexOf(buf, hit, to, NL);
                int end = nl < 0 ? to : nl;
                enter(start);
                leave(start, end, to, dfa.exact || test(start, end, true));
                p = nl < 0 ? to : nl + 1;
            }
        }

        /**
         * Searches the block in place for the literals every matching line contains and tests only the lines
         * where one occurs (none further, when the literals are the whole pattern). Where the hits, or the
         * prefilter's comparisons, come dense, the automaton takes the rest of the block: it costs the same
         * per byte whatever the text, and a line-by-line test per hit does not.
         */
        private void scanLiterals(int from, int to) throws IOException {
            boolean exact = pattern.literals.exact();
            boolean mayDensify = !exact && dfa != null && !dfa.gaveUp;
            filter.tune(buf, from, to);
            filter.probes = 0;
            int tested = 0;
            long testedBytes = 0;
            int p = from;
            while (p < to) {
                int hit = filter.find(buf, p, to);
                if (hit < 0) {
                    return;
                }
                int start = Math.max(p, BufferScan.lastIndexOf(buf, p, hit, NL) + 1);
                int nl = BufferScan.indexOf(buf, hit, to, NL);
                int end = nl < 0 ? to : nl;
                enter(start);
                leave(start, end, to, exact || test(start, end, false));
                p = nl < 0 ? to : nl + 1;
                tested++;
                testedBytes += p - start;
                if (mayDensify && p < to && (tested >= DENSE_LINES || filter.probes >= DENSE_LINES * 4)
                        && ((long) p - from < (long) tested * DENSE_LINE_GAP
                        || (long) p - from < filter.probes * DENSE_PROBE_GAP
                        || (long) p - from < testedBytes * DENSE_SHARE)) {
                    scanAutomaton(p, to);
                    return;
                }
            }
        }

        /** Accounts for the lines before {@code start}, then counts the line at {@code start}. */
        private void enter(int start) throws IOException {
            gap(done, start);
            done = start;
            lines++;
        }

        /** The line {@code [start, end)}, counted by {@link #enter}, matches or not. */
        private void leave(int start, int end, int to, boolean matches) throws IOException {
            if (matches != invert) {
                emit(start, end);
            }
            done = end < to ? end + 1 : to;
        }

        /**
         * The whole lines of {@code [from, upTo)}, which were not tested: counted in bulk, eight bytes at a
         * time, or, when they are selected, written one by one.
         */
        private void gap(int from, int upTo) throws IOException {
            if (from >= upTo) {
                return;
            }
            if (!gapsSelected) {
                lines += BufferScan.count(buf, from, upTo, NL, countScratch);
                if (buf.get(upTo - 1) != NL) {
                    lines++;
                }
                return;
            }
            int p = from;
            while (p < upTo) {
                int nl = BufferScan.indexOf(buf, p, upTo, NL);
                int end = nl < 0 ? upTo : nl;
                lines++;
                emit(p, end);
                p = nl < 0 ? upTo : nl + 1;
            }
        }

        private void emit(int start, int end) throws IOException {
            int n = end - start;
            if (records.size() == 0) {
                records.put(MATCHES);
            }
            records.putVarLong(lines).putVarLong(n);
            if (line.length < n) {
                line = new byte[(int) Math.max(n, Math.min(Integer.MAX_VALUE - 16, line.length * 2L))];
            }
            buf.get(start, line, 0, n);
            records.put(line, 0, n);
            if (records.size() >= RECORD_FLUSH) {
                records.emit(sink);
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
