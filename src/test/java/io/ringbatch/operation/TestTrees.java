package io.ringbatch.operation;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import io.ringbatch.io.FileNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Generated input trees with the awkward cases every operation must get right (docs/operations.md). */
final class TestTrees {
    static final int MIB = 1 << 20;

    /** Words the generated lines are made of: grep patterns in the tests look for some of them. */
    private static final String[] WORDS = {"alpha", "beta", "gamma", "delta", "needle", "Needle", "NEEDLE", "error",
            "ERROR", "Error:", "warn", "x", "42", "123", "2024-05-01", "foo_bar", "a.b", "axb", "tab\there", "ünï",
            "café", "日本", "--", "\"quoted\"", "back\\slash", "x", "caf", "gammas"};

    private TestTrees() {
    }

    /** The big file of {@link #standard}, cut into several pieces by splitting operations. */
    static final String BIG = "big/5MiB.log";
    static final String LONG_LINE = "long-line.txt";

    /**
     * The common tree; returns its paths as byte strings (see FileNames), in byte order. Sizes around a page and a MiB, an empty file, a line longer
     * than 1 MiB, CRLF, no final newline, bytes that are not UTF-8, NUL bytes, names with spaces,
     * non-ASCII letters and a backslash, nested folders, and a 5 MiB file.
     */
    static List<String> standard(Path root, long seed) throws IOException {
        Random r = new Random(seed);
        List<String> paths = new ArrayList<>();
        write(root, "empty.txt", new byte[0], paths);
        for (int size : new int[] {4095, 4096, 4097}) {
            write(root, "sizes/page-" + size + ".txt", exactly(r, size), paths);
        }
        for (int size : new int[] {MIB - 1, MIB, MIB + 1}) {
            write(root, "sizes/mib-" + size + ".log", exactly(r, size), paths);
        }
        ByteArrayOutputStream longLine = new ByteArrayOutputStream();
        longLine.writeBytes(lines(r, 3));
        while (longLine.size() < 3 * MIB / 2) {
            longLine.writeBytes(ascii(WORDS[r.nextInt(WORDS.length)] + " "));
        }
        longLine.writeBytes(ascii("needle at the end of the long line\n"));
        longLine.writeBytes(lines(r, 3));
        write(root, LONG_LINE, longLine.toByteArray(), paths);

        ByteArrayOutputStream crlf = new ByteArrayOutputStream();
        for (int i = 0; i < 200; i++) {
            crlf.writeBytes(line(r));
            crlf.writeBytes(new byte[] {'\r', '\n'});
        }
        crlf.writeBytes(ascii("ends with x\r\nlast x\r\n\r\n"));
        write(root, "crlf.txt", crlf.toByteArray(), paths);

        ByteArrayOutputStream noFinal = new ByteArrayOutputStream();
        noFinal.writeBytes(lines(r, 50));
        noFinal.writeBytes(ascii("needle ERROR 123 gamma x"));
        write(root, "no-final-newline.txt", noFinal.toByteArray(), paths);

        ByteArrayOutputStream latin = new ByteArrayOutputStream();
        for (int i = 0; i < 300; i++) {
            latin.writeBytes(line(r));
            latin.writeBytes(new byte[] {' ', 'c', 'a', 'f', (byte) 0xe9, ' ', (byte) 0xff, (byte) 0xfe, ' ',
                    'e', (byte) 0x80, 'r', ' ', (byte) 0xc3, ' ', 'X', (byte) 0xa0, 'Y', '\n'});
        }
        write(root, "latin1.txt", latin.toByteArray(), paths);

        byte[] binary = new byte[64 * 1024];
        r.nextBytes(binary);
        for (int i = 0; i < binary.length; i += 1 + r.nextInt(200)) {
            binary[i] = (byte) (r.nextInt(4) == 0 ? 0 : '\n');
        }
        write(root, "binary.dat", binary, paths);
        write(root, "controls.txt", ascii("a\u0001b \u0001 c\u000bd\fe\rf\tg\u007fh \u0000 i\u0000j\n\n\n x"), paths);

        write(root, "dir with space/ünïcödé näme.txt", lines(r, 40), paths);
        write(root, "日本語/ファイル.txt", lines(r, 40), paths);
        write(root, "a/b/c/d/deep.txt", lines(r, 10), paths);
        write(root, "a/b/sibling.txt", lines(r, 10), paths);
        write(root, "back\\slash name.txt", lines(r, 10), paths);
        write(root, "single-x.txt", ascii("x"), paths);
        write(root, "only-newlines.txt", ascii("\n\n\n"), paths);
        write(root, BIG, exactly(r, 5 * MIB + 12345), paths);
        return OperationHarness.sortByBytes(paths);
    }

    /** Writes the file named by {@code path} (text: its UTF-8 bytes) and adds its byte string to {@code paths}. */
    /** A name in Latin-1 (the one byte 0xe9 for the e acute), as an old file share has them. */
    static final String LATIN1 = "caf\u00e9.log";
    /** The longest name Linux allows (255 bytes): its {@code .gz} or {@code .jsonl} would not be a name. */
    static final String LONGEST = "L".repeat(251) + ".log";
    /** 252 bytes: with {@code .gz} exactly 255, with {@code .jsonl} too long. */
    static final String GZ_FITS = "g".repeat(248) + ".log";
    /** 253 bytes ending in {@code .csv}: its {@code .jsonl} has exactly 255, its {@code .gz} 256. */
    static final String JSONL_FITS = "c".repeat(249) + ".csv";
    /** 255 bytes ending in {@code .csv}: no output name for either. */
    static final String LONGEST_CSV = "C".repeat(251) + ".csv";

    /**
     * Names the kernel accepts and a user may well have: Latin-1, invalid UTF-8, UTF-8 (which a service
     * under {@code LANG=C} must not lose either), a newline, a backslash, a tab, a leading dash, a
     * directory in Latin-1, and names at 252-255 bytes. Small CSV-like text files (every operation takes
     * them; grep finds "needle" in each). Returns byte strings (see FileNames) in byte order.
     */
    static List<String> names(Path root) throws IOException {
        List<String> names = List.of(LATIN1, "bad\u00c3(\u0080\u00ff.log", FileNames.ofText("na\u00efve caf\u00e9.log"),
                "new\nline.log", "back\\slash.log", "tab\there.log", "-dash.log", "d\u00e9j\u00e0/inner.csv",
                LONGEST, GZ_FITS, JSONL_FITS, LONGEST_CSV);
        List<String> paths = new ArrayList<>();
        for (int i = 0; i < names.size(); i++) {
            writeBytes(root, names.get(i), ascii("word,n\nneedle," + i + "\nhay,stack\n  needle\tx " + i + "\n"),
                    paths);
        }
        return OperationHarness.sortByBytes(paths);
    }

    /** Writes the file named by {@code path} (text: its UTF-8 bytes) and adds its byte string to {@code paths}. */
    static void write(Path root, String path, byte[] bytes, List<String> paths) throws IOException {
        writeBytes(root, FileNames.ofText(path), bytes, paths);
    }

    /** Writes the file named by the byte string {@code path} and adds it to {@code paths}. */
    static void writeBytes(Path root, String path, byte[] bytes, List<String> paths) throws IOException {
        ByteFiles.write(root, path, bytes);
        paths.add(path);
    }

    static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    /** Random lines of words, exactly {@code size} bytes, ending with a newline. */
    static byte[] exactly(Random r, int size) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(size + 200);
        while (out.size() < size) {
            out.writeBytes(line(r));
            out.write(r.nextInt(30) == 0 ? '\r' : ' ');
            out.write('\n');
        }
        byte[] bytes = java.util.Arrays.copyOf(out.toByteArray(), size);
        if (size > 0) {
            bytes[size - 1] = '\n';
        }
        return bytes;
    }

    static byte[] lines(Random r, int n) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < n; i++) {
            out.writeBytes(line(r));
            out.write('\n');
        }
        return out.toByteArray();
    }

    static byte[] line(Random r) {
        StringBuilder sb = new StringBuilder();
        int words = r.nextInt(8) == 0 ? 0 : r.nextInt(25);
        for (int i = 0; i < words; i++) {
            if (i > 0) {
                sb.append(r.nextInt(6) == 0 ? "  " : " ");
            }
            sb.append(WORDS[r.nextInt(WORDS.length)]);
        }
        return ascii(sb.toString());
    }
}
