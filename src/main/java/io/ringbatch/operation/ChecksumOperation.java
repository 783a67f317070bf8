package io.ringbatch.operation;

import io.ringbatch.io.FileNames;
import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.CRC32C;
import org.springframework.stereotype.Component;

/**
 * {@code checksum}: one digest per file, written as {@code checksums.<algorithm>} in the format of GNU
 * {@code sha256sum} (and {@code sha1sum}, {@code md5sum}, {@code sha512sum}), so that
 * {@code sha256sum -c checksums.sha256}, run from the input root, checks every file:
 * <pre>{@code <lowercase hex>  <path>\n}</pre>
 * one line per file in path-byte order, the path as its raw bytes (whatever they are: Latin-1, not UTF-8
 * at all). Like coreutils (9.1), a path that contains a backslash, a newline or a carriage return is
 * written escaped ({@code \\}, {@code \n}, {@code \r}) and its line starts with a backslash.
 * <p>
 * {@code crc32c} (Castagnoli, as {@link CRC32C}) is written the same way with the 32-bit value as eight
 * lowercase hex digits, most significant first ({@code %08x}); no GNU tool checks that file.
 * <p>
 * Records: one per piece (a piece is always a whole file), the hex digest in ASCII.
 */
@Component
public class ChecksumOperation implements Operation {
    static final String ALGORITHM = "algorithm";
    static final List<String> ALGORITHMS = List.of("sha256", "sha1", "md5", "sha512", "crc32c");

    private static final List<ParameterSpec> PARAMETERS = List.of(new ParameterSpec(ALGORITHM, "enum", false,
            "sha256", ALGORITHMS, "the digest: sha256, sha1, md5, sha512 or crc32c"));

    @Override
    public String name() {
        return "checksum";
    }

    @Override
    public String description() {
        return "A digest of every file, as checksums.<algorithm> in the format sha256sum -c (md5sum, sha1sum, "
                + "sha512sum) checks";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return PARAMETERS;
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        String algorithm = Params.of(params, PARAMETERS).string(ALGORITHM, "sha256", false)
                .trim().toLowerCase(Locale.ROOT);
        if (!ALGORITHMS.contains(algorithm)) {
            throw new InvalidParameterException(ALGORITHM, "must be one of " + String.join(", ", ALGORITHMS));
        }
        return Params.normalised(ALGORITHM, algorithm);
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
        String algorithm = Params.stored(params, ALGORITHM, "sha256");
        if (algorithm.equals("crc32c")) {
            return new Crc32cProcessor();
        }
        return new DigestProcessor(digest(algorithm));
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        String algorithm = Params.stored(params, ALGORITHM, "sha256");
        try (OutputStream out = new BufferedOutputStream(in.files().stream(fileName(algorithm)),
                1 << 16)) {
            in.forEachRecord((piece, bytes) -> {
                byte[] path = FileNames.raw(piece.path());
                boolean escape = needsEscape(path);
                if (escape) {
                    out.write('\\');
                }
                byte[] hex = new byte[bytes.remaining()];
                bytes.get(hex);
                out.write(hex);
                out.write(' ');
                out.write(' ');
                if (escape) {
                    writeEscaped(out, path);
                } else {
                    out.write(path);
                }
                out.write('\n');
            });
        }
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return List.of(fileName(Params.stored(params, ALGORITHM, "sha256")));
    }

    static String fileName(String algorithm) {
        return "checksums." + algorithm;
    }

    private static MessageDigest digest(String algorithm) {
        String jdkName = switch (algorithm) {
            case "sha256" -> "SHA-256";
            case "sha1" -> "SHA-1";
            case "md5" -> "MD5";
            case "sha512" -> "SHA-512";
            default -> throw new IllegalArgumentException("unknown algorithm " + algorithm);
        };
        // a clone of this thread's prototype: a provider look-up per file costs more than the digest of a
        // small file's few blocks
        MessageDigest prototype = PROTOTYPES.get().computeIfAbsent(jdkName, n -> {
            try {
                return MessageDigest.getInstance(n);
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(n + " is missing from this JDK", e);
            }
        });
        try {
            return (MessageDigest) prototype.clone();
        } catch (CloneNotSupportedException e) {
            try {
                return MessageDigest.getInstance(jdkName);
            } catch (NoSuchAlgorithmException again) {
                throw new IllegalStateException(jdkName + " is missing from this JDK", again);
            }
        }
    }

    /** Fresh digests of each algorithm on this thread, cloned for each piece. */
    private static final ThreadLocal<Map<String, MessageDigest>> PROTOTYPES =
            ThreadLocal.withInitial(java.util.HashMap::new);

    private static boolean needsEscape(byte[] path) {
        for (byte b : path) {
            if (b == '\\' || b == '\n' || b == '\r') {
                return true;
            }
        }
        return false;
    }

    private static void writeEscaped(OutputStream out, byte[] path) throws IOException {
        for (byte b : path) {
            switch (b) {
                case '\\' -> {
                    out.write('\\');
                    out.write('\\');
                }
                case '\n' -> {
                    out.write('\\');
                    out.write('n');
                }
                case '\r' -> {
                    out.write('\\');
                    out.write('r');
                }
                default -> out.write(b);
            }
        }
    }

    private static final class DigestProcessor implements PieceProcessor {
        private final MessageDigest digest;

        DigestProcessor(MessageDigest digest) {
            this.digest = digest;
        }

        @Override
        public void process(ByteBuffer data, FragmentSink out) {
            digest.update(data);
        }

        @Override
        public void finish(FragmentSink out) throws IOException {
            out.record(ByteBuffer.wrap(HexFormat.of().formatHex(digest.digest()).getBytes(StandardCharsets.US_ASCII)));
        }
    }

    private static final class Crc32cProcessor implements PieceProcessor {
        private final CRC32C crc = new CRC32C();

        @Override
        public void process(ByteBuffer data, FragmentSink out) {
            crc.update(data);
        }

        @Override
        public void finish(FragmentSink out) throws IOException {
            // %08x without a Formatter (a file each over many small files)
            byte[] hex = new byte[8];
            long v = crc.getValue();
            for (int i = 7; i >= 0; i--) {
                hex[i] = (byte) Character.forDigit((int) (v & 0xf), 16);
                v >>>= 4;
            }
            out.record(ByteBuffer.wrap(hex));
        }
    }
}
