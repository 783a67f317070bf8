package io.ringbatch.operation;

import io.ringbatch.io.FileNames;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.springframework.stereotype.Component;
import tools.jackson.core.JsonGenerator;
import tools.jackson.core.ObjectWriteContext;
import tools.jackson.core.SerializableString;
import tools.jackson.core.exc.JacksonIOException;
import tools.jackson.core.io.SerializedString;
import tools.jackson.core.json.JsonFactory;

/**
 * {@code csv-to-jsonl}: every CSV file converted to JSON Lines, {@code <path minus .csv>.jsonl} (a name
 * that does not end in {@code .csv} gets {@code .jsonl} appended; the name's bytes as they are), one
 * JSON object per record and a {@code \n} after each. A file whose output name would pass the 255 bytes
 * a name may have is not processed ({@link #refusal}).
 * <p>
 * Parsing (RFC 4180, leniently):
 * <ul>
 * <li>Fields are separated by {@code delimiter} (one ASCII character other than {@code "}, CR and LF;
 * default {@code ,}); records end with LF, CRLF or a lone CR outside quotes, or at the end of the file
 * (the last record needs no line end).</li>
 * <li>A field that starts with {@code "} is quoted: it may hold the delimiter, CR and LF (kept as they
 * are), and {@code ""} stands for one {@code "}. Leniency: a quote inside an unquoted field is an
 * ordinary character; text after a closing quote is appended to the field ({@code "ab"c} is
 * {@code abc}); a quoted field still open at the end of the file ends there.</li>
 * <li>An empty line (no bytes between two line ends) is no record; {@code ""} alone is a record of one
 * empty field. A UTF-8 byte order mark at the start of the file is dropped.</li>
 * <li>Field bytes are decoded as UTF-8, each malformed sequence becoming U+FFFD; every value is a JSON
 * string.</li>
 * </ul>
 * Keys: with {@code header=true} (default) the first record gives the keys. A record with fewer fields
 * has {@code null} for the missing keys; a record with more has the extra fields keyed by their 1-based
 * column number ({@code "4"}, {@code "5"}, ...). A header name that repeats gets {@code _2}, {@code _3},
 * ... appended, and a column-number key that collides with a header name gets {@code _} prefixed, so
 * that keys are unique. A file with only a header gives an empty {@code .jsonl}. With
 * {@code header=false} every record is an object keyed by column number, {@code {"1": ..., "2": ...}}.
 * <p>
 * Whole files only (a quoted newline may be anywhere). The JSON goes to the piece's output file through
 * a Jackson {@link JsonGenerator}; the piece's one record ({@code 'J'} and the number of records
 * written) marks it done, so that the merge can tell an empty result from a skipped file.
 */
@Component
public class CsvToJsonlOperation implements Operation {
    static final String DELIMITER = "delimiter";
    static final String HEADER = "header";
    private static final byte DONE = 'J';

    static final JsonFactory JSON = JsonFactory.builder().rootValueSeparator((String) null).build();

    private static final List<ParameterSpec> PARAMETERS = List.of(
            new ParameterSpec(DELIMITER, "string", false, ",", List.of(),
                    "the field separator: one ASCII character, not a quote or a line end (\"\\t\" for tab)"),
            new ParameterSpec(HEADER, "boolean", false, "true", List.of(),
                    "the first record names the fields; otherwise keys are column numbers \"1\", \"2\", ..."));

    @Override
    public String name() {
        return "csv-to-jsonl";
    }

    @Override
    public String description() {
        return "Every CSV file (RFC 4180) converted to JSON Lines, one object per record, as <name>.jsonl";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        Params p = Params.of(params, PARAMETERS);
        String delimiter = p.string(DELIMITER, ",", false);
        if (delimiter.length() != 1) {
            throw new InvalidParameterException(DELIMITER,
                    "must be a single character, not " + delimiter.length() + " characters");
        }
        char d = delimiter.charAt(0);
        if (d == '"' || d == '\r' || d == '\n' || d == 0 || d > 0x7f) {
            throw new InvalidParameterException(DELIMITER,
                    "must be an ASCII character other than a quote, CR, LF and NUL");
        }
        return Params.normalised(DELIMITER, delimiter, HEADER, p.bool(HEADER, true));
    }

    @Override
    public Split split() {
        return Split.WHOLE;
    }

    @Override
    public boolean resumableMidPiece() {
        return false;
    }

    @Override
    public PieceProcessor open(Map<String, String> params, Piece piece, Serializable resume) {
        String delimiter = Params.stored(params, DELIMITER, ",");
        if (delimiter.length() != 1 || delimiter.charAt(0) > 0x7f) {
            throw new IllegalArgumentException("csv delimiter " + delimiter);
        }
        return new CsvProcessor((byte) delimiter.charAt(0), Boolean.parseBoolean(Params.stored(params, HEADER, "true")));
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        BitSet done = new BitSet();
        in.forEachRecord((piece, bytes) -> {
            if (bytes.get() != DONE) {
                throw new IOException("csv-to-jsonl: unknown record from piece " + piece.index());
            }
            done.set(piece.index());
        });
        List<Piece> pieces = in.pieces();
        Map<String, String> names = outputNames(pieces.stream().map(Piece::path).distinct().toList());
        for (Piece piece : pieces) {
            if (!piece.wholeFile()) {
                throw new IOException("csv-to-jsonl takes whole files, got a range of "
                        + FileNames.inMessage(piece.path()));
            }
            if (!done.get(piece.index())) {
                continue;
            }
            String name = names.get(piece.path());
            if (OutputNames.refusal(piece.path(), name) != null) {
                // a refused file has no records and never gets here; this is a name that only the numbered
                // form of a collision made too long, which refusal() does not foresee: fail, never drop quietly
                throw new IOException("csv-to-jsonl: " + OutputNames.refusal(piece.path(), name) + " ("
                        + FileNames.inMessage(piece.path()) + ")");
            }
            // a piece with no output (no rows) gives an empty file
            in.files().place(piece.index(), name);
        }
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        Map<String, String> names = outputNames(inputPaths);
        return inputPaths.stream().map(names::get).filter(n -> OutputNames.lastComponentLength(n) <= OutputNames.NAME_MAX).toList();
    }

    /**
     * An input whose output name (see {@link #outputNames(List)}) would pass the 255 bytes of a name: a
     * {@code .csv} name of 254 or 255 bytes, another name of more than 249. Only the inputs that can
     * claim the same names are looked up ({@code allPaths} is in byte order, as the plan has them), so
     * each file costs a few binary searches, not a pass over the whole plan.
     */
    @Override
    public String refusal(Map<String, String> params, String path, List<String> allPaths) {
        List<String> related = new ArrayList<>(List.of(path));
        if (path.endsWith(".csv")) {
            related.add(path.substring(0, path.length() - 4));
        }
        related.add(path + ".csv");
        List<String> present = related.stream()
                .filter(p -> p.equals(path) || Collections.binarySearch(allPaths, p, FileNames.ORDER) >= 0).toList();
        return OutputNames.refusal(path, outputNames(present).get(path));
    }

    /**
     * Output name for each input path: {@code a.csv -> a.jsonl}, {@code a -> a.jsonl}. When two inputs
     * would get the same name ({@code a} and {@code a.csv}), the one without {@code .csv} keeps it and
     * the other gets {@code .jsonl} appended to its whole name ({@code a.csv.jsonl}), then a number if
     * even that is taken. Depends only on the set of paths, so the API and the merge agree.
     */
    static Map<String, String> outputNames(List<String> inputPaths) {
        List<String> paths = inputPaths.stream().distinct().sorted().toList();
        Map<String, Integer> claims = new HashMap<>();
        for (String p : paths) {
            claims.merge(primaryName(p), 1, Integer::sum);
        }
        Map<String, String> names = new LinkedHashMap<>();
        Set<String> used = new HashSet<>();
        for (String p : paths) {
            String primary = primaryName(p);
            if (claims.get(primary) == 1 || !p.endsWith(".csv")) {
                names.put(p, primary);
                used.add(primary);
            }
        }
        for (String p : paths) {
            if (!names.containsKey(p)) {
                String candidate = p + ".jsonl";
                for (int n = 2; used.contains(candidate) || claims.containsKey(candidate); n++) {
                    candidate = p + "." + n + ".jsonl";
                }
                names.put(p, candidate);
                used.add(candidate);
            }
        }
        return names;
    }

    private static String primaryName(String path) {
        return (path.endsWith(".csv") ? path.substring(0, path.length() - 4) : path) + ".jsonl";
    }

    /**
     * Collects what the generator writes and hands it to the sink of the current call in blocks of up to
     * 64 KiB; {@link #drain} at the end of every call, so nothing is held between calls.
     */
    private static final class SinkStream extends OutputStream {
        private final ByteBuffer buffer = ByteBuffer.allocate(1 << 16);
        FragmentSink sink;

        @Override
        public void write(int b) throws IOException {
            if (!buffer.hasRemaining()) {
                drain();
            }
            buffer.put((byte) b);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                if (!buffer.hasRemaining()) {
                    drain();
                }
                int n = Math.min(len, buffer.remaining());
                buffer.put(b, off, n);
                off += n;
                len -= n;
            }
        }

        void drain() throws IOException {
            buffer.flip();
            if (buffer.hasRemaining()) {
                sink.output(buffer);
            }
            buffer.clear();
        }
    }

    static final class CsvProcessor implements PieceProcessor {
        private static final int FIELD_START = 0;
        private static final int UNQUOTED = 1;
        private static final int QUOTED = 2;
        private static final int QUOTE_IN_QUOTED = 3;
        private static final int AFTER_CR = 4;
        private static final byte[] BOM = {(byte) 0xef, (byte) 0xbb, (byte) 0xbf};

        private final byte delimiter;
        private final boolean header;
        private final SinkStream stream = new SinkStream();
        private final JsonGenerator json;
        private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPLACE).onUnmappableCharacter(CodingErrorAction.REPLACE);
        private final ByteScan.Window window = new ByteScan.Window();

        private int state = FIELD_START;
        /** Bytes of the file seen so far that may still be a byte order mark (0-3), or -1 once decided. */
        private int bomSeen;
        private byte[] field = new byte[256];
        private int fieldLength;
        private ByteBuffer fieldView = ByteBuffer.wrap(field);
        private CharBuffer chars = CharBuffer.allocate(256);
        /** The current record has bytes (so it is not an empty line). */
        private boolean recordStarted;
        private int fieldIndex;
        private boolean objectOpen;
        private long records;

        /** Keys by column, from the header (null until it is read, and for header=false). */
        private SerializableString[] headerKeys;
        private final Set<String> headerNames = new HashSet<>();
        private final List<String> headerRecord = new ArrayList<>();
        private final List<SerializableString> columnKeys = new ArrayList<>();

        CsvProcessor(byte delimiter, boolean header) {
            this.delimiter = delimiter;
            this.header = header;
            this.json = JSON.createGenerator(ObjectWriteContext.empty(), stream);
        }

        @Override
        public void process(ByteBuffer data, FragmentSink out) throws IOException {
            if (!data.hasRemaining()) {
                return;
            }
            stream.sink = out;
            ByteScan.Window w = window.load(data);
            try {
                int from = w.offset;
                if (bomSeen >= 0) {
                    from = skipBom(w.array, from, w.end());
                }
                parse(w.array, from, w.end());
                json.flush();
                stream.drain();
                data.position(data.limit());
            } catch (JacksonIOException e) {
                throw e.getCause() != null ? e.getCause() : new IOException(e.getMessage(), e);
            } finally {
                w.release();
                stream.sink = null;
            }
        }

        /**
         * Drops a leading UTF-8 BOM, even when it is cut across calls; returns where parsing starts. Bytes
         * that turn out not to be a BOM are parsed: those of earlier calls first, then this call's.
         */
        private int skipBom(byte[] a, int from, int to) {
            int matchedBefore = bomSeen;
            int i = from;
            while (i < to && bomSeen < 3) {
                if (a[i] != BOM[bomSeen]) {
                    bomSeen = -1;
                    parse(BOM, 0, matchedBefore);
                    return from;
                }
                bomSeen++;
                i++;
            }
            if (bomSeen == 3) {
                bomSeen = -1;
            }
            return i;
        }

        private void parse(byte[] a, int from, int to) {
            int i = from;
            while (i < to) {
                switch (state) {
                    case FIELD_START -> {
                        byte b = a[i++];
                        if (b == '"') {
                            state = QUOTED;
                            recordStarted = true;
                        } else if (b == delimiter) {
                            recordStarted = true;
                            endField();
                        } else if (b == '\n') {
                            endRecordAtFieldStart();
                        } else if (b == '\r') {
                            endRecordAtFieldStart();
                            state = AFTER_CR;
                        } else {
                            recordStarted = true;
                            append(b);
                            state = UNQUOTED;
                        }
                    }
                    case UNQUOTED -> {
                        int start = i;
                        while (i < to) {
                            byte b = a[i];
                            if (b == delimiter || b == '\n' || b == '\r') {
                                break;
                            }
                            i++;
                        }
                        append(a, start, i - start);
                        if (i < to) {
                            byte b = a[i++];
                            endField();
                            if (b == delimiter) {
                                state = FIELD_START;
                            } else {
                                endRecord();
                                state = b == '\r' ? AFTER_CR : FIELD_START;
                            }
                        }
                    }
                    case QUOTED -> {
                        int q = ByteScan.indexOf(a, i, to, (byte) '"');
                        int stop = q < 0 ? to : q;
                        append(a, i, stop - i);
                        i = stop;
                        if (q >= 0) {
                            i++;
                            state = QUOTE_IN_QUOTED;
                        }
                    }
                    case QUOTE_IN_QUOTED -> {
                        byte b = a[i++];
                        if (b == '"') {
                            append(b);
                            state = QUOTED;
                        } else if (b == delimiter) {
                            endField();
                            state = FIELD_START;
                        } else if (b == '\n' || b == '\r') {
                            endField();
                            endRecord();
                            state = b == '\r' ? AFTER_CR : FIELD_START;
                        } else {
                            append(b);
                            state = UNQUOTED;
                        }
                    }
                    case AFTER_CR -> {
                        state = FIELD_START;
                        if (a[i] == '\n') {
                            i++;
                        }
                    }
                    default -> throw new IllegalStateException("state " + state);
                }
            }
        }

        @Override
        public void finish(FragmentSink out) throws IOException {
            stream.sink = out;
            try {
                if (bomSeen > 0) {
                    int matched = bomSeen;
                    bomSeen = -1;
                    parse(BOM, 0, matched);
                }
                switch (state) {
                    case FIELD_START -> endRecordAtFieldStart();
                    case UNQUOTED, QUOTED, QUOTE_IN_QUOTED -> {
                        endField();
                        endRecord();
                    }
                    default -> {
                    }
                }
                json.close();
                stream.drain();
            } catch (JacksonIOException e) {
                throw e.getCause() != null ? e.getCause() : new IOException(e.getMessage(), e);
            } finally {
                stream.sink = null;
            }
            ByteBuffer record = ByteBuffer.allocate(11);
            record.put(DONE);
            while ((records & ~0x7fL) != 0) {
                record.put((byte) ((records & 0x7f) | 0x80));
                records >>>= 7;
            }
            record.put((byte) records).flip();
            out.record(record);
        }

        private void append(byte b) {
            if (fieldLength == field.length) {
                grow(1);
            }
            field[fieldLength++] = b;
        }

        private void append(byte[] a, int from, int length) {
            if (fieldLength + length > field.length) {
                grow(length);
            }
            System.arraycopy(a, from, field, fieldLength, length);
            fieldLength += length;
        }

        private void grow(int more) {
            long want = Math.max((long) fieldLength + more, field.length * 2L);
            if (want > Integer.MAX_VALUE - 16) {
                throw new IllegalStateException("a CSV field longer than 2 GiB");
            }
            field = java.util.Arrays.copyOf(field, (int) want);
            fieldView = ByteBuffer.wrap(field);
        }

        /** At a line end with no field begun: the record's last (empty) field, or an empty line. */
        private void endRecordAtFieldStart() {
            if (recordStarted) {
                endField();
                endRecord();
            }
        }

        private void endField() {
            fieldView.limit(fieldLength).position(0);
            if (chars.capacity() < fieldLength) {
                chars = CharBuffer.allocate(Math.max(fieldLength, chars.capacity() * 2));
            }
            chars.clear();
            char[] c = chars.array();
            int n = 0;
            while (n < fieldLength && field[n] >= 0) {
                c[n] = (char) field[n];
                n++;
            }
            if (n == fieldLength) {
                chars.limit(n);
            } else {
                utf8.reset();
                utf8.decode(fieldView, chars, true);
                utf8.flush(chars);
                chars.flip();
            }
            fieldLength = 0;
            if (header && headerKeys == null) {
                headerRecord.add(chars.toString());
                fieldIndex++;
                return;
            }
            if (!objectOpen) {
                json.writeStartObject();
                objectOpen = true;
            }
            json.writeName(key(fieldIndex));
            json.writeString(chars.array(), chars.arrayOffset() + chars.position(), chars.remaining());
            fieldIndex++;
        }

        private void endRecord() {
            if (header && headerKeys == null) {
                readHeader();
            } else {
                if (!objectOpen) {
                    json.writeStartObject();
                }
                if (headerKeys != null) {
                    for (int i = fieldIndex; i < headerKeys.length; i++) {
                        json.writeName(headerKeys[i]);
                        json.writeNull();
                    }
                }
                json.writeEndObject();
                json.writeRaw('\n');
                records++;
            }
            objectOpen = false;
            fieldIndex = 0;
            recordStarted = false;
        }

        private void readHeader() {
            headerKeys = new SerializableString[headerRecord.size()];
            Set<String> allNames = new HashSet<>(headerRecord);
            for (int i = 0; i < headerKeys.length; i++) {
                String name = headerRecord.get(i);
                String key = name;
                if (headerNames.contains(key)) {
                    int n = 2;
                    do {
                        key = name + "_" + n++;
                    } while (headerNames.contains(key) || allNames.contains(key));
                }
                headerNames.add(key);
                headerKeys[i] = new SerializedString(key);
            }
        }

        /** The key of the field at {@code index} (0-based) of a data record. */
        private SerializableString key(int index) {
            if (headerKeys != null && index < headerKeys.length) {
                return headerKeys[index];
            }
            while (columnKeys.size() <= index) {
                String key = String.valueOf(columnKeys.size() + 1);
                while (headerNames.contains(key)) {
                    key = "_" + key;
                }
                columnKeys.add(new SerializedString(key));
            }
            return columnKeys.get(index);
        }
    }

}
