package io.ringbatch.io;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.Charset;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Base64;
import java.util.Comparator;

/**
 * File names as Linux has them: bytes, any but NUL (and '/' inside one component), in no particular
 * encoding. Inside ringbatch a name or a relative path travels as a <em>byte string</em>: a Java
 * {@code String} whose every char is one byte (0-255), which is what ISO-8859-1 maps both ways without
 * loss. That keeps the plan, the execution contexts and the maps keyed by path as they are, sorts as
 * {@code LC_ALL=C sort} does (chars compare as unsigned bytes), and never depends on the JVM's
 * {@code sun.jnu.encoding} or the locale, which under {@code LANG=C} cannot even represent an UTF-8 name.
 * <p>
 * Byte strings are turned into bytes only where a name leaves the process: the system calls (as
 * NUL-terminated bytes), the outputs (the raw bytes, as the reference tools print them), and the API,
 * which shows {@link #display} (readable, lossy) beside {@link #base64} (exact).
 */
public final class FileNames {
    /** Byte-string order: unsigned bytes, as {@code LC_ALL=C sort}. */
    public static final Comparator<String> ORDER = Comparator.naturalOrder();

    private FileNames() {
    }

    /** The byte string of raw name bytes. */
    public static String of(byte[] raw) {
        return new String(raw, StandardCharsets.ISO_8859_1);
    }

    /** The byte string of a name given as text (from the API or configuration): its UTF-8 bytes. */
    public static String ofText(String text) {
        return of(text.getBytes(StandardCharsets.UTF_8));
    }

    /** The raw bytes of a byte string. */
    public static byte[] raw(String bytes) {
        for (int i = 0; i < bytes.length(); i++) {
            if (bytes.charAt(i) > 0xff) {
                throw new IllegalArgumentException("not a byte string (char " + (int) bytes.charAt(i) + " at " + i
                        + "); names inside ringbatch are byte strings, see FileNames");
            }
        }
        return bytes.getBytes(StandardCharsets.ISO_8859_1);
    }

    /** The raw bytes followed by a NUL, for a system call. */
    public static byte[] cString(String bytes) {
        byte[] raw = raw(bytes);
        return Arrays.copyOf(raw, raw.length + 1);
    }

    /** Whether the name's bytes are valid UTF-8 (then {@link #display} is exactly the name). */
    public static boolean isUtf8(String bytes) {
        try {
            StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(raw(bytes)));
            return true;
        } catch (CharacterCodingException e) {
            return false;
        }
    }

    /**
     * The name for people: its bytes decoded as UTF-8, each byte that is not part of valid UTF-8 shown
     * as {@code \xHH} (and a backslash that could be read as such an escape stays a plain backslash: the
     * exact bytes are in {@link #base64}). Control characters are kept; the API's JSON escapes them. For
     * a name inside a message or a log line, {@link #inMessage}.
     */
    public static String display(String bytes) {
        return render(bytes, false);
    }

    /**
     * The name inside a message: an exception's message (a job's error, a report's reason, a problem
     * detail of the API) or a log line. {@link #display}, and the bytes of every control character too
     * as {@code \xHH} (C0 and DEL, C1, U+2028 and U+2029), so that a name with a newline keeps the
     * message on one line: {@code caf\xE9.log}, {@code new\x0Aline.log}. Lossy like display.
     */
    public static String inMessage(String bytes) {
        return render(bytes, true);
    }

    /**
     * A path the JVM holds (a configured root, a path from the API), inside a message: its bytes as the
     * JVM hands them to the kernel ({@link #ofPath}) in the form of {@link #inMessage}.
     */
    public static String inMessage(Path path) {
        return path == null ? "null" : inMessage(ofPath(path));
    }

    /** The byte string of a path as the JVM hands it to the kernel (encoded with {@code sun.jnu.encoding}). */
    public static String ofPath(Path path) {
        String encoding = System.getProperty("sun.jnu.encoding", "UTF-8");
        return of(path.toString().getBytes(Charset.forName(encoding)));
    }

    /** The one escaping of names: bytes that are not UTF-8 as \xHH, and, when asked, control characters. */
    private static String render(String bytes, boolean controls) {
        byte[] raw = raw(bytes);
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(raw);
        CharBuffer out = CharBuffer.allocate(raw.length * 4 + 16);
        while (true) {
            CoderResult r = decoder.decode(in, out, true);
            if (r.isUnderflow()) {
                decoder.flush(out);
                break;
            }
            if (r.isError()) {
                for (int i = 0; i < r.length(); i++) {
                    hex(out, raw[in.position()]);
                    in.position(in.position() + 1);
                }
            } else {
                throw new IllegalStateException("output buffer sized for the worst case overflowed");
            }
        }
        out.flip();
        if (!controls) {
            return out.toString();
        }
        // a control character is one char (all are in the BMP), decoded from valid UTF-8: its bytes again
        CharBuffer escaped = CharBuffer.allocate(out.remaining() * 12 + 16);
        while (out.hasRemaining()) {
            char c = out.get();
            if (isControl(c)) {
                for (byte b : String.valueOf(c).getBytes(StandardCharsets.UTF_8)) {
                    hex(escaped, b);
                }
            } else {
                escaped.put(c);
            }
        }
        escaped.flip();
        return escaped.toString();
    }

    /** What would break a line or be invisible in one: C0 and DEL, C1, and the Unicode line and paragraph separators. */
    private static boolean isControl(char c) {
        return c < 0x20 || (c >= 0x7f && c <= 0x9f) || c == '\u2028' || c == '\u2029';
    }

    private static void hex(CharBuffer out, byte b) {
        out.put(String.format("\\x%02X", b & 0xff));
    }

    /** The exact bytes as URL-safe base64 without padding (RFC 4648 section 5), as the API gives them. */
    public static String base64(String bytes) {
        return Base64.getUrlEncoder().withoutPadding().encodeToString(raw(bytes));
    }

    /**
     * The byte string of URL-safe base64 (padding optional; standard alphabet accepted too).
     *
     * @throws IllegalArgumentException if the text is not base64
     */
    public static String fromBase64(String base64) {
        String url = base64.trim().replace('+', '-').replace('/', '_');
        while (url.endsWith("=")) {
            url = url.substring(0, url.length() - 1);
        }
        return of(Base64.getUrlDecoder().decode(url));
    }
}
