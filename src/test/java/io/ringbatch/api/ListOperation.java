package io.ringbatch.api;

import io.ringbatch.operation.FragmentSink;
import io.ringbatch.operation.InvalidParameterException;
import io.ringbatch.operation.MergeInput;
import io.ringbatch.operation.Operation;
import io.ringbatch.operation.ParameterSpec;
import io.ringbatch.operation.PieceProcessor;
import java.io.IOException;
import java.io.Serializable;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.regex.PatternSyntaxException;

/**
 * A test operation that lists the files it read: {@code files.txt} holds {@code <path>\t<bytes>} per file
 * in plan order, and {@code nested/dir/count.txt} the number of files (so that outputs have a nested
 * path). {@code delayMillis} makes each block take that long (slow jobs to stop, queue and watch);
 * {@code pattern} must be a valid regex (to test parameter errors); {@code mode} is an enum. {@code failWhile}
 * names a file: each piece fails while it exists (a job that fails, and runs once it is gone, whenever its
 * files were opened: the engine may open them ahead of the reader).
 */
public class ListOperation implements Operation {
    public static final String NAME = "test-list";

    @Override
    public String name() {
        return NAME;
    }

    @Override
    public String description() {
        return "lists the files it read (test)";
    }

    @Override
    public List<ParameterSpec> parameters() {
        return List.of(
                new ParameterSpec("delayMillis", "integer", false, "0", List.of("0", "60000"), "sleep per block"),
                new ParameterSpec("pattern", "string", false, null, List.of(), "a regular expression"),
                new ParameterSpec("mode", "enum", false, "names", List.of("names", "sizes"), "what to list"),
                new ParameterSpec("failWhile", "string", false, null, List.of(), "fail each piece while this file exists"));
    }

    @Override
    public Map<String, String> validate(Map<String, Object> params) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("delayMillis", "0");
        out.put("mode", "names");
        for (Map.Entry<String, Object> e : params.entrySet()) {
            Object v = e.getValue();
            switch (e.getKey()) {
                case "delayMillis" -> {
                    if (!(v instanceof Integer i) || i < 0 || i > 60000) {
                        throw new InvalidParameterException("delayMillis", "must be an integer from 0 to 60000");
                    }
                    out.put("delayMillis", v.toString());
                }
                case "pattern" -> {
                    if (!(v instanceof String s)) {
                        throw new InvalidParameterException("pattern", "must be a string");
                    }
                    try {
                        Pattern.compile(s);
                    } catch (PatternSyntaxException x) {
                        throw new InvalidParameterException("pattern", "is not a valid regular expression: "
                                + x.getDescription() + " near index " + x.getIndex());
                    }
                    out.put("pattern", s);
                }
                case "mode" -> {
                    if (!"names".equals(v) && !"sizes".equals(v)) {
                        throw new InvalidParameterException("mode", "must be names or sizes");
                    }
                    out.put("mode", (String) v);
                }
                case "failWhile" -> {
                    if (!(v instanceof String s) || s.isEmpty()) {
                        throw new InvalidParameterException("failWhile", "must be a path");
                    }
                    out.put("failWhile", s);
                }
                case "explode" -> throw new IllegalStateException("java.lang.IllegalStateException: a bug in the op");
                default -> throw new InvalidParameterException(e.getKey(), "unknown parameter");
            }
        }
        return out;
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
        long delay = Long.parseLong(params.getOrDefault("delayMillis", "0"));
        String failWhile = params.get("failWhile");
        return new PieceProcessor() {
            long bytes;

            @Override
            public void process(ByteBuffer data, FragmentSink out) {
                if (delay > 0) {
                    try {
                        Thread.sleep(delay);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                bytes += data.remaining();
                data.position(data.limit());
            }

            @Override
            public void finish(FragmentSink out) throws IOException {
                if (delay > 0 && bytes == 0) {
                    try {
                        Thread.sleep(delay);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                if (failWhile != null && java.nio.file.Files.exists(java.nio.file.Path.of(failWhile))) {
                    throw new IOException(piece.path() + ": failing while " + failWhile + " exists");
                }
                out.record(ByteBuffer.wrap(io.ringbatch.io.FileNames.raw(piece.path() + "\t" + bytes + "\n")));
            }
        };
    }

    @Override
    public void merge(Map<String, String> params, MergeInput in) throws IOException {
        Path list = in.staging().resolve("files.txt");
        int[] count = {0};
        try (var out = Files.newOutputStream(list)) {
            in.forEachRecord((piece, bytes) -> {
                byte[] b = new byte[bytes.remaining()];
                bytes.get(b);
                out.write(b);
                count[0]++;
            });
        }
        Path nested = Files.createDirectories(in.staging().resolve("nested/dir"));
        Files.writeString(nested.resolve("count.txt"), count[0] + "\n");
    }

    @Override
    public List<String> outputNames(Map<String, String> params, List<String> inputPaths) {
        return List.of("files.txt", "nested/dir/count.txt");
    }

    /**
     * Puts the operation into a test's application: {@code @Import(ListOperation.Config.class)}, or a source
     * of a {@code SpringApplicationBuilder}. Not annotated, so that component scanning never finds it.
     */
    public static class Config {
        @org.springframework.context.annotation.Bean
        Operation listOperation() {
            return new ListOperation();
        }
    }
}
