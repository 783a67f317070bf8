package io.ringbatch.operation;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.AbstractMap.SimpleEntry;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

class CsvToJsonlOperationTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @TempDir
    static Path root;
    static List<String> paths;

    @TempDir
    Path work;

    @BeforeAll
    static void tree() throws IOException {
        List<String> p = new ArrayList<>();
        TestTrees.write(root, "simple.csv", ascii("name,age,city\nAda,36,London\nAlan,41,Wilmslow\n"), p);
        TestTrees.write(root, "quoted.csv", ascii("a,b,c\n\"x,y\",\"say \"\"hi\"\"\",\"two\nlines\"\n"
                + "\"\",\"crlf\r\ninside\",\"\"\"\"\n\"a;b\",\"tab\there\",plain\n"), p);
        TestTrees.write(root, "crlf.csv", ascii("k,v\r\n1,one\r\n2,two\r\n"), p);
        TestTrees.write(root, "no-final-newline.csv", ascii("k,v\n1,one\n2,\"two\""), p);
        TestTrees.write(root, "ragged.csv", ascii("a,b,c\n1\n1,2\n1,2,3\n1,2,3,4,5\n,\n"), p);
        TestTrees.write(root, "dup-header.csv", ascii("a,a,a_2,,b,4\n1,2,3,4,5,6,7\n"), p);
        TestTrees.write(root, "bom.csv", concat(new byte[] {(byte) 0xef, (byte) 0xbb, (byte) 0xbf},
                ascii("\"id\",name\n1,x\n")), p);
        TestTrees.write(root, "not-a-bom.csv", concat(new byte[] {(byte) 0xef, (byte) 0xbb, 'x'}, ascii(",y\n1,2\n")), p);
        TestTrees.write(root, "latin1.csv", concat(ascii("h1,h2\n"),
                new byte[] {'c', 'a', 'f', (byte) 0xe9, ',', (byte) 0xc3, '\n', (byte) 0xe2, (byte) 0x82, ',', '"',
                        (byte) 0xff, '"', '\n'}), p);
        TestTrees.write(root, "blank-lines.csv", ascii("\nh\n\n1\n\r\n2\r\r\n\n"), p);
        TestTrees.write(root, "lenient.csv", ascii("h1,h2\n\"ab\"c,a\"b\n\"unterminated,x\ny"), p);
        TestTrees.write(root, "cr-only.csv", ascii("a,b\r1,2\r3,4"), p);
        TestTrees.write(root, "empty.csv", new byte[0], p);
        TestTrees.write(root, "header-only.csv", ascii("a,b,c\n"), p);
        TestTrees.write(root, "data", ascii("no,extension\n1,2\n"), p);
        TestTrees.write(root, "data.csv", ascii("with,extension\n3,4\n"), p);
        TestTrees.write(root, "nested/dir with space/ünï.csv", ascii("ключ,値\nзначение,データ\n"), p);
        TestTrees.write(root, "big.csv", randomCsv(new Random(9), 2 << 20), p);
        p.addAll(TestTrees.names(root));
        paths = OperationHarness.sortByBytes(p);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static byte[] concat(byte[] a, byte[] b) {
        byte[] c = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    /** Random records, quoted where needed, with quotes, delimiters, line ends, non-UTF-8 bytes and a long field. */
    static byte[] randomCsv(Random r, int size) {
        String[] pieces = {"a", "b", "word", " ", ",", ";", "\t", "\"", "\n", "\r\n", "\r", "é", "日本", "x", "123",
                "\u0000", "\\", "{}", "[\"json\"]"};
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(ascii("first,second,third\n"));
        boolean longFieldWritten = false;
        while (out.size() < size) {
            int fields = 1 + r.nextInt(5);
            for (int f = 0; f < fields; f++) {
                if (f > 0) {
                    out.write(',');
                }
                ByteArrayOutputStream field = new ByteArrayOutputStream();
                int n = r.nextInt(6);
                if (!longFieldWritten && out.size() > size / 2) {
                    n = 30_000;
                    longFieldWritten = true;
                }
                for (int k = 0; k < n; k++) {
                    if (r.nextInt(40) == 0) {
                        field.write(0x80 + r.nextInt(128));
                    } else {
                        field.writeBytes(ascii(pieces[r.nextInt(pieces.length)]));
                    }
                }
                byte[] bytes = field.toByteArray();
                String s = new String(bytes, StandardCharsets.ISO_8859_1);
                if (s.matches("(?s).*[,;\t\"\r\n].*") || r.nextInt(5) == 0) {
                    out.write('"');
                    out.writeBytes(s.replace("\"", "\"\"").getBytes(StandardCharsets.ISO_8859_1));
                    out.write('"');
                } else {
                    out.writeBytes(bytes);
                }
            }
            out.writeBytes(ascii(r.nextInt(3) == 0 ? "\r\n" : "\n"));
        }
        return out.toByteArray();
    }

    @ParameterizedTest
    @CsvSource(delimiterString = "|", value = {",|true", ",|false", ";|true", "TAB|true"})
    void recordsAsTheReferenceParserReadsThem(String delimiter, boolean header) throws IOException {
        String d = delimiter.equals("TAB") ? "\t" : delimiter;
        OperationHarness harness = new OperationHarness(new CsvToJsonlOperation(), d.hashCode() + (header ? 1 : 0));
        Path staging = harness.run(Map.of("delimiter", d, "header", header), root, paths, work);

        // a .csv name of 254-255 bytes, another of 250 and more: the .jsonl name would pass 255 bytes
        List<String> tooLong = List.of(TestTrees.GZ_FITS, TestTrees.LONGEST_CSV, TestTrees.LONGEST);
        assertThat(harness.refused).containsExactlyInAnyOrderElementsOf(tooLong);
        Map<String, String> names = CsvToJsonlOperation.outputNames(paths);
        names.keySet().removeAll(tooLong);
        assertThat(names).containsEntry(TestTrees.JSONL_FITS, "c".repeat(249) + ".jsonl")
                .containsEntry(TestTrees.LATIN1, TestTrees.LATIN1 + ".jsonl")
                .containsEntry("d\u00e9j\u00e0/inner.csv", "d\u00e9j\u00e0/inner.jsonl");
        Map<String, byte[]> outputs = OperationHarness.snapshot(staging);
        assertThat(outputs.keySet()).containsExactlyInAnyOrderElementsOf(names.values());
        assertThat(new CsvToJsonlOperation().outputNames(Map.of(), paths)).containsExactlyInAnyOrderElementsOf(names.values());
        for (String path : names.keySet()) {
            byte[] csv = ByteFiles.read(root, path);
            List<List<Map.Entry<String, String>>> expected = objects(ReferenceCsv.parse(csv, (byte) d.charAt(0)), header);
            List<List<Map.Entry<String, String>>> actual = read(outputs.get(names.get(path)), names.get(path));
            assertThat(actual).as(path).isEqualTo(expected);
        }
    }

    @Test
    void outputIsCompactJsonOneObjectPerLine() throws IOException {
        Path staging = new OperationHarness(new CsvToJsonlOperation(), 1).run(Map.of(), root,
                List.of("quoted.csv", "ragged.csv", "dup-header.csv", "empty.csv", "header-only.csv"), work);
        assertThat(Files.readString(staging.resolve("quoted.jsonl"))).isEqualTo(
                "{\"a\":\"x,y\",\"b\":\"say \\\"hi\\\"\",\"c\":\"two\\nlines\"}\n"
                        + "{\"a\":\"\",\"b\":\"crlf\\r\\ninside\",\"c\":\"\\\"\"}\n"
                        + "{\"a\":\"a;b\",\"b\":\"tab\\there\",\"c\":\"plain\"}\n");
        assertThat(Files.readString(staging.resolve("ragged.jsonl"))).isEqualTo(
                "{\"a\":\"1\",\"b\":null,\"c\":null}\n{\"a\":\"1\",\"b\":\"2\",\"c\":null}\n"
                        + "{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\"}\n{\"a\":\"1\",\"b\":\"2\",\"c\":\"3\",\"4\":\"4\",\"5\":\"5\"}\n"
                        + "{\"a\":\"\",\"b\":\"\",\"c\":null}\n");
        assertThat(Files.readString(staging.resolve("dup-header.jsonl"))).isEqualTo(
                "{\"a\":\"1\",\"a_3\":\"2\",\"a_2\":\"3\",\"\":\"4\",\"b\":\"5\",\"4\":\"6\",\"7\":\"7\"}\n");
        assertThat(Files.size(staging.resolve("empty.jsonl"))).isZero();
        assertThat(Files.size(staging.resolve("header-only.jsonl"))).isZero();
    }

    @Test
    void oneByteAtATimeGivesWhatOneCallGives() throws IOException {
        CsvToJsonlOperation csv = new CsvToJsonlOperation();
        Map<String, String> params = csv.validate(Map.of());
        for (String path : paths) {
            byte[] bytes = ByteFiles.read(root, path);
            if (bytes.length > 10_000) {
                continue;
            }
            Operation.Piece piece = new Operation.Piece(0, 0, path, null, 0, bytes.length, bytes.length);
            ByteArrayOutputStream whole = new ByteArrayOutputStream();
            PieceProcessor once = csv.open(params, piece, null);
            once.process(java.nio.ByteBuffer.wrap(bytes), outputInto(whole));
            once.finish(outputInto(whole));
            ByteArrayOutputStream bytewise = new ByteArrayOutputStream();
            PieceProcessor slow = csv.open(params, piece, null);
            for (byte b : bytes) {
                slow.process(java.nio.ByteBuffer.allocateDirect(1).put(b).flip(), outputInto(bytewise));
            }
            slow.finish(outputInto(bytewise));
            assertThat(bytewise.toString(StandardCharsets.UTF_8)).as(path).isEqualTo(whole.toString(StandardCharsets.UTF_8));
        }
        assertThat(new String(outputOf(csv, params, "bom.csv"), StandardCharsets.UTF_8)).isEqualTo("{\"id\":\"1\",\"name\":\"x\"}\n");
        assertThat(new String(outputOf(csv, params, "not-a-bom.csv"), StandardCharsets.UTF_8))
                .isEqualTo("{\"\uFFFDx\":\"1\",\"y\":\"2\"}\n");
    }

    private static byte[] outputOf(CsvToJsonlOperation csv, Map<String, String> params, String path) throws IOException {
        byte[] bytes = ByteFiles.read(root, path);
        Operation.Piece piece = new Operation.Piece(0, 0, path, null, 0, bytes.length, bytes.length);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        PieceProcessor p = csv.open(params, piece, null);
        for (byte b : bytes) {
            p.process(java.nio.ByteBuffer.wrap(new byte[] {b}), outputInto(out));
        }
        p.finish(outputInto(out));
        return out.toByteArray();
    }

    static FragmentSink outputInto(ByteArrayOutputStream out) {
        return new FragmentSink() {
            @Override
            public void record(java.nio.ByteBuffer bytes) {
                bytes.position(bytes.limit());
            }

            @Override
            public void output(java.nio.ByteBuffer bytes) {
                while (bytes.hasRemaining()) {
                    out.write(bytes.get());
                }
            }
        };
    }

    @Test
    void namesDropCsvAndStayUnique() {
        assertThat(CsvToJsonlOperation.outputNames(List.of("a.csv", "b.txt", "c", "d/e.csv", "f.CSV")))
                .containsExactly(Map.entry("a.csv", "a.jsonl"), Map.entry("b.txt", "b.txt.jsonl"),
                        Map.entry("c", "c.jsonl"), Map.entry("d/e.csv", "d/e.jsonl"), Map.entry("f.CSV", "f.CSV.jsonl"));
        assertThat(CsvToJsonlOperation.outputNames(List.of("x", "x.csv", "x.csv.csv")))
                .containsEntry("x", "x.jsonl").containsEntry("x.csv", "x.csv.2.jsonl")
                .containsEntry("x.csv.csv", "x.csv.jsonl");
        assertThat(new CsvToJsonlOperation().outputNames(Map.of(), List.of("data", "data.csv")))
                .containsExactly("data.jsonl", "data.csv.jsonl");
    }

    /** Each line parsed as JSON, as (key, value) pairs in order; the file must end each line with \n. */
    static List<List<Map.Entry<String, String>>> read(Path jsonl) throws IOException {
        return read(Files.readAllBytes(jsonl), jsonl.toString());
    }

    static List<List<Map.Entry<String, String>>> read(byte[] jsonl, String name) {
        String text = new String(jsonl, StandardCharsets.UTF_8);
        assertThat(text.isEmpty() || text.endsWith("\n")).as(name + " ends with a newline").isTrue();
        List<List<Map.Entry<String, String>>> objects = new ArrayList<>();
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) {
                continue;
            }
            JsonNode node = JSON.readTree(line);
            assertThat(node.isObject()).isTrue();
            List<Map.Entry<String, String>> entries = new ArrayList<>();
            for (Map.Entry<String, JsonNode> e : node.properties()) {
                entries.add(new SimpleEntry<>(e.getKey(), e.getValue().isNull() ? null : e.getValue().stringValue()));
            }
            objects.add(entries);
        }
        return objects;
    }

    /** The documented keying, written independently of the operation. */
    static List<List<Map.Entry<String, String>>> objects(List<List<String>> records, boolean header) {
        List<List<Map.Entry<String, String>>> objects = new ArrayList<>();
        List<String> keys = new ArrayList<>();
        int first = 0;
        if (header && !records.isEmpty()) {
            Set<String> all = new HashSet<>(records.get(0));
            Set<String> taken = new HashSet<>();
            for (String name : records.get(0)) {
                String key = name;
                for (int n = 2; taken.contains(key); n++) {
                    key = name + "_" + n;
                    if (all.contains(key)) {
                        key = name; // try the next number
                    }
                }
                taken.add(key);
                keys.add(key);
            }
            first = 1;
        }
        Map<Integer, String> columnKeys = new HashMap<>();
        for (int r = first; r < records.size(); r++) {
            List<String> fields = records.get(r);
            List<Map.Entry<String, String>> entries = new ArrayList<>();
            for (int i = 0; i < Math.max(fields.size(), keys.size()); i++) {
                String key;
                if (i < keys.size()) {
                    key = keys.get(i);
                } else {
                    int column = i + 1;
                    key = columnKeys.computeIfAbsent(column, c -> {
                        String k = String.valueOf(c);
                        while (keys.contains(k)) {
                            k = "_" + k;
                        }
                        return k;
                    });
                }
                entries.add(new SimpleEntry<>(key, i < fields.size() ? fields.get(i) : null));
            }
            objects.add(entries);
        }
        return objects;
    }

    /**
     * The oracle: Apache Commons CSV's RFC 4180 reader over a whole file (quoted fields with CR and LF in
     * them, doubled quotes; CR, LF and CRLF all end a record), set to the leniencies the operation
     * documents: blank lines are skipped, text after a closing quote belongs to the field, a quote left
     * open runs to the end of the file, a UTF-8 byte order mark is dropped, and bytes that are not UTF-8
     * read as U+FFFD.
     */
    static final class ReferenceCsv {
        static List<List<String>> parse(byte[] in, byte delimiter) throws IOException {
            String text = new String(in, StandardCharsets.UTF_8);
            if (text.startsWith("\uFEFF")) {
                text = text.substring(1);
            }
            CSVFormat format = CSVFormat.RFC4180.builder().setDelimiter((char) delimiter).setIgnoreEmptyLines(true)
                    .setTrailingData(true).setLenientEof(true).get();
            List<List<String>> records = new ArrayList<>();
            try (CSVParser parser = CSVParser.parse(text, format)) {
                for (CSVRecord record : parser) {
                    records.add(record.toList());
                }
            }
            return records;
        }
    }
}
